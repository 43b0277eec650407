"""The ModelBackend protocol, made for batch engines.

The pipeline hands a backend every missing (prompt, sample index) of a run in one
`generate` call. The backend may order and batch them as it likes, and calls
`on_completion` as soon as each sample is done, so the pipeline can persist it at once
and a killed run loses at most the samples still in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from harness.records import Prompt


@dataclass
class SamplingConfig:
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass
class GenerationRequest:
    problem_id: str
    prompt: Prompt
    sample_indices: list[int]  # only the samples still missing from the run


@dataclass
class Completion:
    problem_id: str
    sample_index: int
    text: str
    finish_reason: str  # "stop", "length" (cut at max_tokens), or a backend's own word
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    rendered_prompt: str | None = None  # the exact text the model saw, after any chat template


class ModelBackend(Protocol):
    name: str

    def describe(self) -> dict:
        """Model id or path, revision and backend settings, for the manifest."""

    @property
    def supports_chat(self) -> bool:
        """True when the model has a chat template (instruct models)."""

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        """Produce every requested sample, reporting each through on_completion."""

    def close(self) -> None: ...
