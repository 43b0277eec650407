"""What the reference solutions do, measured once in the sandbox and cached on disk.

`prepare` runs each problem's reference solution on the task's tests and keeps what a task
needs from the outcome: at least each test's runtime, from which that test's time limit is
max(timeout_floor_s, timeout_factor x the reference's time), as EvalPlus sets them; the
EvalPlus tasks also keep the expected outputs. Results are cached under
<cache>/groundtruth/<task>-<hash of the data>.json, so a second run, or a run on another
subset of the same data, does not repeat them. Until prepare has timed a test (or when the
reference did not pass it), its limit is the floor.

A problem's tests go to the sandbox as one `Suite` (sandbox/jobs.py), built once per problem
(again after prepare) and shared by its samples' jobs: the sandbox prepares it once per
worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from codeharness.core.errors import HarnessError
from codeharness.core.progress import progress_bar
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job, Outcome, Suite, TestCase
from codeharness.tasks.base import BaseTask, Problem

VERSION = 1  # change when what is cached, or how it is measured, changes
REFERENCE_TIMEOUT_S = 60.0  # per test, for the reference solution itself


@dataclass
class ReferenceTimedTask(BaseTask):
    known_bad: ClassVar[dict[str, str]] = {}  # problem id -> why its reference cannot pass

    timeout_floor_s: float = 3.0
    timeout_factor: float = 4.0
    # Under the wall-clock limit, a CPU-time limit per test: max(cpu_floor_s, timeout_factor x
    # the reference's time). A hung program ends once it used that much CPU; a right program
    # on a loaded machine is not failed by it, as its CPU time does not grow with the load.
    # None: the wall-clock limit alone.
    cpu_floor_s: float | None = None

    def __post_init__(self):
        super().__post_init__()
        self._fingerprint = ""
        self._reference: dict[str, dict] = {}
        self._reference_errors: dict[str, str] = {}
        self._suites: dict[str, Suite] = {}  # built once per problem, shared by its samples

    # ---------------------------------------------------------------- for subclasses

    def tests(self, problem: Problem) -> list[TestCase]:
        """The problem's tests; their time limits are set from the reference's times."""
        raise NotImplementedError

    def reference_job(self, problem: Problem) -> Job:
        tests = [TestCase(t.name, t.code, t.group, REFERENCE_TIMEOUT_S) for t in self.tests(problem)]
        return Job(problem.id, self.canonical_program(problem), tests,
                   program_timeout_s=REFERENCE_TIMEOUT_S)

    def build_suite(self, problem: Problem) -> Suite:
        """The problem's tests (and any setup they share), with their time limits."""
        return Suite(self.timed_tests(problem))

    def suite(self, problem: Problem) -> Suite:
        suite = self._suites.get(problem.id)
        if suite is None:
            suite = self._suites[problem.id] = self.build_suite(problem)
        return suite

    def read_reference(self, problem: Problem, outcome: Outcome) -> dict:
        """What to keep of the reference's outcome; HarnessError when it is unusable."""
        return {"time": {t.name: t.time_s for t in outcome.tests if t.status is Status.PASSED}}

    # ---------------------------------------------------------------- the cache

    def remember_data(self, records: list[dict]) -> None:
        """Hash the loaded records: the hash keys the cache."""
        text = json.dumps([VERSION, records], sort_keys=True, default=repr)
        self._fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]

    def cache_file(self) -> Path:
        from codeharness.core.models import cache_dir

        if not self._fingerprint:
            raise HarnessError(f"task {self.name!r}: load() must run before prepare()")
        return cache_dir() / "groundtruth" / f"{self.name}-{self._fingerprint}.json"

    def _read_cache(self) -> dict:
        try:
            return json.loads(self.cache_file().read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}  # none yet, or damaged: recomputed

    def _write_cache(self, entries: dict) -> None:
        path = self.cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = {**self._read_cache(), **entries}
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump(merged, f)
        os.replace(temporary, path)

    # ---------------------------------------------------------------- prepare

    def prepare(self, problems: list[Problem], sandbox) -> None:
        cached = self._read_cache()
        self._reference.update({p.id: cached[p.id] for p in problems if p.id in cached})
        todo = {p.id: p for p in problems if p.id not in self._reference}
        self._suites.clear()  # their limits come from the times just read
        if not todo:
            return
        fresh = {}
        with progress_bar("running reference solutions", len(todo)) as advance:
            for outcome in sandbox.run([self.reference_job(p) for p in todo.values()]):
                problem = todo[outcome.job_id]
                try:
                    fresh[problem.id] = self.read_reference(problem, outcome)
                    self._reference_errors.pop(problem.id, None)
                except HarnessError as exc:  # not cached: it may pass on a quieter machine
                    self._reference_errors[problem.id] = str(exc)
                advance()
        self._reference.update(fresh)
        if fresh:
            self._write_cache(fresh)

    def limit(self, reference_seconds: float) -> float:
        return max(self.timeout_floor_s, self.timeout_factor * reference_seconds)

    def cpu_limit(self, reference_seconds: float) -> float | None:
        if self.cpu_floor_s is None:
            return None
        return round(max(self.cpu_floor_s, self.timeout_factor * reference_seconds), 4)

    def timed_tests(self, problem: Problem) -> list[TestCase]:
        times = self._reference.get(problem.id, {}).get("time", {})
        return [TestCase(t.name, t.code, t.group, self.limit(times.get(t.name, 0.0)),
                         self.cpu_limit(times.get(t.name, 0.0)))
                for t in self.tests(problem)]
