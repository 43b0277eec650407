"""What the reference solutions do, measured once in the sandbox and cached on disk.

`prepare` runs each problem's reference solution on the task's tests and keeps what a task
needs from the outcome: at least each test's runtime, from which that test's time limit is
max(timeout_floor_s, timeout_factor x the reference's time), as EvalPlus sets them; the
EvalPlus tasks also keep the expected outputs. Results are cached under
<cache>/groundtruth/<task>-<hash of the data>.json, so a second run, or a run on another
subset of the same data, does not repeat them. Until prepare has timed a test (or when the
reference did not pass it), its limit is the floor.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from harness.errors import HarnessError
from harness.progress import progress_bar
from sandbox.jobs import Job, Outcome, Status, TestCase
from tasks.base import BaseTask, Problem

VERSION = 1  # change when what is cached, or how it is measured, changes
REFERENCE_TIMEOUT_S = 60.0  # per test, for the reference solution itself


@dataclass
class ReferenceTimedTask(BaseTask):
    known_bad: ClassVar[dict[str, str]] = {}  # problem id -> why its reference cannot pass

    timeout_floor_s: float = 3.0
    timeout_factor: float = 4.0

    def __post_init__(self):
        super().__post_init__()
        self._fingerprint = ""
        self._reference: dict[str, dict] = {}
        self._reference_errors: dict[str, str] = {}

    # ---------------------------------------------------------------- for subclasses

    def tests(self, problem: Problem) -> list[TestCase]:
        """The problem's tests; their time limits are set from the reference's times."""
        raise NotImplementedError

    def reference_job(self, problem: Problem) -> Job:
        tests = [TestCase(t.name, t.code, t.group, REFERENCE_TIMEOUT_S) for t in self.tests(problem)]
        return Job(problem.id, self.canonical_program(problem), tests,
                   program_timeout_s=REFERENCE_TIMEOUT_S)

    def read_reference(self, problem: Problem, outcome: Outcome) -> dict:
        """What to keep of the reference's outcome; HarnessError when it is unusable."""
        return {"time": {t.name: t.time_s for t in outcome.tests if t.status is Status.PASSED}}

    # ---------------------------------------------------------------- the cache

    def remember_data(self, records: list[dict]) -> None:
        """Hash the loaded records: the hash keys the cache."""
        text = json.dumps([VERSION, records], sort_keys=True, default=repr)
        self._fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]

    def cache_file(self) -> Path:
        from harness.models import cache_dir

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

    def timed_tests(self, problem: Problem) -> list[TestCase]:
        times = self._reference.get(problem.id, {}).get("time", {})
        return [TestCase(t.name, t.code, t.group, self.limit(times.get(t.name, 0.0)))
                for t in self.tests(problem)]
