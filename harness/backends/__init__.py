"""Model backends. Each generates many prompts x n samples in one call."""

from __future__ import annotations

from harness.backends.base import Completion, GenerationRequest, ModelBackend, SamplingConfig

__all__ = ["BACKENDS", "Completion", "GenerationRequest", "ModelBackend", "SamplingConfig",
           "open_backend"]

BACKENDS = {
    "hf": "harness.backends.hf:HFBackend",
    "vllm": "harness.backends.vllm:VLLMBackend",
    "openai": "harness.backends.openai:OpenAIBackend",
    "replay": "harness.backends.replay:ReplayBackend",
}


def open_backend(name: str, **options) -> ModelBackend:
    from harness.errors import HarnessError
    from harness.registry import load_object

    if name not in BACKENDS:
        raise HarnessError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return load_object(BACKENDS[name])(**options)
