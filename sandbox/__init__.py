"""Execution backends. Generated programs never run in the harness's own process."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from sandbox.jobs import Job, Outcome, Status, TestCase, TestOutcome

__all__ = ["Job", "Outcome", "Sandbox", "Status", "TestCase", "TestOutcome", "open_sandbox"]

SANDBOXES = {
    "local": "sandbox.local:LocalSandbox",
    "docker": "sandbox.docker:DockerSandbox",
}


class Sandbox(Protocol):
    name: str

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        """Run many jobs; yield one outcome per job as each completes."""

    def describe(self) -> dict:
        """What the manifest records about this sandbox (limits, image, isolation)."""

    def close(self) -> None: ...

    def __enter__(self) -> "Sandbox": ...

    def __exit__(self, *exc) -> None: ...


def open_sandbox(name: str, **options) -> Sandbox:
    from harness.registry import load_object

    if name not in SANDBOXES:
        raise ValueError(f"unknown sandbox {name!r}; choose one of {', '.join(SANDBOXES)}")
    return load_object(SANDBOXES[name])(**options)
