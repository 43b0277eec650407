"""The ModelBackend protocol, made for batch engines, and BaseBackend with its defaults.

The pipeline hands a backend every missing (prompt, sample index) of a run in one
`generate` call. The backend may order and batch them as it likes, and calls
`on_completion` as soon as each sample is done, so the pipeline can persist it at once
and a killed run loses at most the samples still in flight.

Constructing a backend must be cheap (no model is loaded until something is generated), so
a finished stage costs nothing: the pipeline asks a backend how many samples each problem
has before it knows whether any is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

from codeharness.core.records import (
    Completion,
    GenerationRequest,
    Problem,
    SamplingConfig,
)


class ModelBackend(Protocol):
    name: str
    # The keyword options its constructor takes: those that change what the model answers
    # are part of a run's identity; runtime options only say how the model is reached
    # (batch size, server address, ...) and may change when a run resumes.
    identity_options: tuple[str, ...]
    runtime_options: tuple[str, ...]
    replays_samples: bool  # it returns texts recorded elsewhere instead of sampling a model

    def describe(self) -> dict:
        """Model id or path, revision and backend settings, for the manifest."""

    @property
    def supports_chat(self) -> bool:
        """True when the model has a chat template (instruct models)."""

    @property
    def prompt_style(self) -> str | None:
        """A prompt style the backend's texts require (replayed samples are continuations
        or whole programs); None lets the task and the model decide."""

    def sample_counts(self, problems: list[Problem], n: int) -> dict[str, int]:
        """How many samples each problem has in this run: n, unless the backend says
        otherwise (a replayed file has what it has)."""

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        """Produce every requested sample, reporting each through on_completion."""

    def close(self) -> None: ...


class BaseBackend:
    name: ClassVar[str] = "base"
    identity_options: ClassVar[tuple[str, ...]] = ("model",)
    runtime_options: ClassVar[tuple[str, ...]] = ()
    replays_samples: ClassVar[bool] = False

    @property
    def supports_chat(self) -> bool:
        return False

    @property
    def prompt_style(self) -> str | None:
        return None

    def sample_counts(self, problems: list[Problem], n: int) -> dict[str, int]:
        return {problem.id: n for problem in problems}

    def close(self) -> None:
        pass
