"""Hugging Face transformers backend: batched `generate` on any causal-LM checkpoint.

The checkpoint is loaded when the backend first generates (`_hf_engine`), so asking a
finished run how many samples it has costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from codeharness.backends.base import BaseBackend
from codeharness.core import registry
from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra
from codeharness.core.records import Completion, GenerationRequest, SamplingConfig


@registry.backends.register
class HFBackend(BaseBackend):
    name = "hf"
    identity_options = ("model", "device", "dtype")
    runtime_options = ("batch_size",)

    def __init__(self, model: str | None = None, batch_size: int = 8, device: str = "auto",
                 dtype: str = "auto"):
        if batch_size < 1:
            raise HarnessError(f"--batch-size must be at least 1, got {batch_size}")
        self.options = {"model": model, "batch_size": batch_size, "device": device, "dtype": dtype}

    @cached_property
    def engine(self):
        require_extra("the hf backend", "hf", "torch", "transformers", "accelerate")
        from codeharness.backends._hf_engine import HFEngine

        return HFEngine(**self.options)

    @property
    def supports_chat(self) -> bool:
        return self.engine.supports_chat

    def describe(self) -> dict:
        return self.engine.describe()

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        self.engine.generate(requests, sampling, on_completion)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.close()
