"""The Ray actor behind Ray-replicated backends (backends/ray_replicas.py): one copy of any
registered ModelBackend, built on its node from the backend's name and options, generating
the share of samples the driver deals it and streaming each finished one back."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

from codeharness.core import registry
from codeharness.core.ray_runtime import in_batches
from codeharness.core.records import Completion, GenerationRequest, Problem, SamplingConfig



class BackendReplica:
    def __init__(self, name: str, options: dict):
        self.backend = registry.backends.get(name)(**options)

    def info(self) -> dict:
        """Where it runs, and what the pipeline asks a backend before generating (for the
        hf backend, supports_chat loads the model: each replica loads its own)."""
        import ray

        return {"node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                "pid": os.getpid(), "supports_chat": self.backend.supports_chat,
                "prompt_style": self.backend.prompt_style}

    def describe(self) -> dict:
        return self.backend.describe()

    def sample_counts(self, problems: list[Problem], n: int) -> dict[str, int]:
        return self.backend.sample_counts(problems, n)

    def generate(self, requests: list[GenerationRequest],
                 sampling: SamplingConfig) -> Iterator[list[Completion]]:
        """Generate the requests; yield lists of completions as they finish."""
        yield from in_batches(lambda put: self.backend.generate(requests, sampling, put), "replica-generate")

    def close(self) -> None:
        self.backend.close()
