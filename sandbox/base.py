"""What every sandbox shares: the check that it offers what a task's programs need."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from codeharness.sandbox import languages as toolchains

from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Environment, Job, Outcome, TestCase

if TYPE_CHECKING:
    from codeharness.sandbox.pool import WorkerPool


class BaseSandbox:
    name: ClassVar[str] = "base"
    # The toolchains it can run, and "language:library" for the libraries it has (a sandbox
    # sets them from what its workers find when they start: sandbox/languages.py).
    languages: tuple[str, ...] = ("python",)
    install_hint: ClassVar[str] = ""  # how to get what it lacks
    languages_hint: ClassVar[str] = "on the machine the sandbox runs on: {packages}"
    pool: WorkerPool  # a sandbox of workers sets it before _start_pool
    environment: dict | None  # the environment probe's report, from _start_pool

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _start_pool(self) -> None:
        """Start `self.pool`'s workers (closing what started if one fails); what every worker
        offers programs (sandbox/languages.py), as the programs see it, becomes `languages`."""
        try:
            self.environment = self.pool.start()
        except BaseException:
            self.close()
            raise
        self.languages = offered_languages(self.pool.handshakes.values())

    def probe(self) -> dict:
        """A sandbox without a probe of its own promises nothing beyond what it runs."""
        return {"ok": True, "promised": 0, "failed": {}, "checks_failed": {}}

    def require(self, environment: Environment) -> None:
        """Refuse, naming what is missing and how to get it, when programs of this
        environment cannot run here."""
        lacking = [feature for feature in (*environment.languages, *environment.libraries)
                   if feature not in self.languages]
        if lacking:
            named = [f"the {f} toolchain" if ":" not in f else "the {1} library for {0}".format(
                *f.split(":", 1)) for f in lacking]
            hints = "; ".join(dict.fromkeys(h for f in lacking if (h := toolchains.install_hint(f))))
            raise HarnessError(f"the {self.name} sandbox lacks {', '.join(named)}, which this "
                               f"task's programs need; to get "
                               f"{'it' if len(lacking) == 1 else 'them'} "
                               + self.languages_hint.format(packages=hints or "see the README"))
        missing = self._missing_packages(environment.packages)
        if missing:
            raise HarnessError(f"the {self.name} sandbox lacks {', '.join(missing)}, which this "
                               f"task's programs need; {self.install_hint}".rstrip("; "))

    def _missing_packages(self, packages: tuple[str, ...]) -> list[str]:
        if not packages:
            return []
        probe = Job("environment-probe", "", [
            TestCase(f"import {package}", f"import {package}", timeout_s=60.0) for package in packages],
            fail_fast=False)
        outcome = next(iter(self.run([probe])))
        if outcome.status is not Status.PASSED:
            raise HarnessError(f"the {self.name} sandbox could not run its package probe: "
                               f"{outcome.status.value} {outcome.message or ''}".strip())
        return [f"the Python package {test.name.removeprefix('import ')}"
                for test in outcome.tests if test.status is not Status.PASSED]


def offered_languages(handshakes: Iterable[dict]) -> tuple[str, ...]:
    """What every worker offers (each reports it when it starts): languages and libraries."""
    found: set[str] | None = None
    for handshake in handshakes:
        offered = set(handshake.get("languages", ["python"]))
        found = offered if found is None else found & offered
    return tuple(sorted(found)) if found else ("python",)
