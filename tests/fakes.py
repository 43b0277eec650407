"""A scripted model backend for fast unit tests (real backends have their own tests)."""

from __future__ import annotations

from collections.abc import Callable

from codeharness.backends.base import BaseBackend
from codeharness.core.records import Completion, GenerationRequest, SamplingConfig


class ScriptedBackend(BaseBackend):
    """Answers each request with answer(problem_id, sample_index, prompt)."""

    name = "scripted"

    def __init__(self, answer: Callable[[str, int, object], str], supports_chat: bool = False,
                 fail_after: int | None = None, model: str = "scripted"):
        self.answer = answer
        self.model = model
        self.chat = supports_chat
        self.fail_after = fail_after
        self.requested: list[tuple[str, int]] = []

    @property
    def supports_chat(self) -> bool:
        return self.chat

    def describe(self) -> dict:
        return {"model": self.model, "backend": self.name}

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion) -> None:
        for request in requests:
            for index in request.sample_indices:
                if self.fail_after is not None and len(self.requested) >= self.fail_after:
                    raise KeyboardInterrupt("simulated kill")
                self.requested.append((request.problem_id, index))
                text = self.answer(request.problem_id, index, request.prompt)
                on_completion(Completion(request.problem_id, index, text, "stop", 10, 5, 0.01))
