"""What the generation benchmarks share: one timed `pipeline.generate` on a backend they keep
open between runs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline


class KeepOpen:
    """Lends a backend to one pipeline run without letting the run close it."""

    def __init__(self, backend):
        self.backend = backend

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def close(self):
        pass


def harness_run(backend, task, problems, sampling: SamplingConfig, backend_name: str,
                scratch: Path) -> tuple[float, int]:
    """Seconds and generated tokens of one pipeline.generate into a fresh run directory."""
    config = pipeline.RunConfig(task=task.name, backend=backend_name, sampling=sampling,
                                limit=len(problems))
    run = RunDir(Path(tempfile.mkdtemp(dir=scratch)))
    pipeline.open_run(run, config, overwrite=False)
    started = time.perf_counter()
    pipeline.generate(run, config, task, problems, lambda: KeepOpen(backend))
    elapsed = time.perf_counter() - started
    return elapsed, sum(g["completion_tokens"] for g in run.generations())
