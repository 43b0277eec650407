"""Jobs a sandbox runs and the typed outcomes it returns.

A job is an untrusted `program` followed by trusted `tests`. Each test is a snippet of
Python executed in a copy of the program's namespace; it passes when it runs to the end
without raising. A test may set `__result__`; its repr() comes back as the test's `value`
(ground-truth runs use this to collect expected outputs). The sandbox reports every test through a channel the program cannot
forge (see sandbox/worker.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"  # an assertion failed or the output was wrong
    ERROR = "error"  # an exception other than AssertionError, or an abnormal exit
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    SYNTAX_ERROR = "syntax_error"
    SANDBOX_ERROR = "sandbox_error"  # the sandbox itself failed; says nothing of the program
    NOT_RUN = "not_run"  # a test skipped after an earlier failure in its group


@dataclass
class TestCase:
    name: str
    code: str
    group: str = "base"
    timeout_s: float = 3.0


@dataclass
class Job:
    id: str
    program: str
    tests: list[TestCase]
    prelude: str = ""  # trusted helpers defined before the program runs
    program_timeout_s: float = 5.0
    memory_mb: int = 2048
    fail_fast: bool = True  # after a test fails, the rest of its group is not run
    stdin: str = ""

    def to_wire(self) -> dict:
        # Not dataclasses.asdict: its deep copy was most of the harness's own time per job.
        return {**vars(self), "tests": [vars(test) for test in self.tests]}


@dataclass
class TestOutcome:
    name: str
    group: str
    status: Status
    exception_type: str | None = None
    exception_chain: list[str] = field(default_factory=list)  # builtin classes in its MRO
    message: str | None = None
    time_s: float = 0.0
    value: str | None = None  # repr() of the test's `__result__`, when it set one

    @classmethod
    def from_wire(cls, data: dict) -> "TestOutcome":
        return cls(**{**data, "status": Status(data["status"])})


@dataclass
class Outcome:
    job_id: str
    status: Status  # of the program phase: PASSED when the program itself ran to its end
    tests: list[TestOutcome] = field(default_factory=list)
    exception_type: str | None = None
    exception_chain: list[str] = field(default_factory=list)
    message: str | None = None
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    wall_time_s: float = 0.0
    leftover_processes: int = 0

    @property
    def verdict(self) -> Status:
        """PASSED only when the program loaded and every test passed."""
        if self.status is not Status.PASSED:
            return self.status
        for test in self.tests:
            if test.status is not Status.PASSED:
                return test.status
        return Status.PASSED

    def group_status(self, group: str) -> Status:
        if self.status is not Status.PASSED:
            return self.status
        statuses = [t.status for t in self.tests if t.group == group]
        if not statuses:
            return Status.NOT_RUN
        return next((s for s in statuses if s is not Status.PASSED), Status.PASSED)

    @classmethod
    def from_wire(cls, data: dict) -> "Outcome":
        return cls(
            **{
                **data,
                "status": Status(data["status"]),
                "tests": [TestOutcome.from_wire(t) for t in data.get("tests", [])],
            }
        )
