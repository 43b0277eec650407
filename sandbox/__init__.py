"""Sandboxes, registered by name in `codeharness.core.registry.sandboxes`. Generated programs
never run in the harness's own process."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from codeharness.core import registry
from codeharness.sandbox.jobs import Environment, Job, Outcome


class Sandbox(Protocol):
    name: str
    languages: tuple[str, ...]

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        """Run many jobs; yield one outcome per job as each completes."""

    def require(self, environment: Environment) -> None:
        """Raise HarnessError naming what is missing (and how to get it) when programs of
        this environment cannot run here."""

    def probe(self) -> dict:
        """Prove the environment again: does every module the sandbox promises import in it?
        The report: `ok`, `promised`, `failed` (module -> why), `checks_failed`."""

    def describe(self) -> dict:
        """What the manifest records about this sandbox (limits, image, isolation)."""

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc) -> None: ...


def open_sandbox(name: str, **options) -> Sandbox:
    return registry.sandboxes.get(name)(**options)
