"""Jobs a sandbox runs and the typed outcomes it returns.

A Python job (`language` "python", the default) is an untrusted `program` followed by trusted
`tests`. Each test is a snippet of Python executed in a copy of the program's namespace; it
passes when it runs to the end without raising. A test may set `__result__`; its repr() comes
back as the test's `value` (ground-truth runs use this to collect expected outputs). The
sandbox reports every test through a channel the program cannot forge (see sandbox/worker.py).

A job in another language (sandbox/languages.py names them: cpp, java, go, js, ts, rust, ...)
is one source file, the program with its test harness as the benchmark assembles them, and
has no `tests`: it is written to `source_name` (or the language's default file), compiled
within `compile_timeout_s` where the language has a compiler (with `compile_args`), and run
within `program_timeout_s` (with `run_args`); `libraries` names what it needs beyond the
language (the Rust crates, javatuples, ...). Its outcome's status is that of the whole run:
passed when the program exited 0, compile_error when it did not compile, else failed, error,
timeout or out_of_memory, with the program's stdout, stderr and exit code; a benchmark whose
rule asks more than exit 0 (empty output, ...) applies it to those.

A Python job may carry a `Suite`: its problem's tests, a prelude and trusted `setup` code,
shared by every sample of the problem. A sandbox prepares a suite once per worker (runs its
setup, compiles its prelude and tests) and forks each sample's process from that state, so
nothing of the problem is sent, parsed or compiled again per sample; each sample still runs
in a process of its own with the job's limits and the same signed report channel. The names
the setup defines are visible to the tests, over the program's own (a program cannot shadow
the checker its tests call). A job made by `suite.job(...)` also lists the suite's tests and
prelude as its own, so code that reads `job.tests` sees them; on the wire only the suite's id
travels with the job (the sandbox sends the suite itself once to each worker that needs it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from codeharness.core.records import Status


@dataclass(frozen=True)
class Environment:
    """What a task's programs need from a sandbox: languages to run, and Python packages
    beyond the standard library. A sandbox refuses a task whose environment it lacks."""

    languages: tuple[str, ...] = ("python",)
    packages: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()  # "language:library" (sandbox/languages.py LIBRARIES)


@dataclass
class TestCase:
    name: str
    code: str
    group: str = "base"
    timeout_s: float = 3.0  # wall-clock
    # CPU time, where a hung program should end sooner than timeout_s on an idle machine
    # without a loaded machine failing a slow right one (None: timeout_s alone).
    cpu_limit_s: float | None = None


@dataclass(eq=False)
class Suite:
    """A problem's tests, prepared once per worker and shared by the jobs that carry it.

    `setup` is trusted code (the task's, never a program's) that runs once where the suite is
    prepared, before any program and outside the programs' limits: it parses the problem's
    data and defines the checkers its tests call. It must be deterministic and leave the
    interpreter as it found it (no global settings, no threads, no files); it may use integer
    literals of any size. Its id is a digest of its content: equal suites are one."""

    tests: list[TestCase]
    setup: str = ""
    prelude: str = ""  # trusted helpers defined before the program runs, in its namespace
    id: str = field(init=False, default="")

    def __post_init__(self):
        content = json.dumps([self.setup, self.prelude, [vars(t) for t in self.tests]])
        self.id = hashlib.sha256(content.encode()).hexdigest()[:32]

    def job(self, job_id: str, program: str, **options) -> Job:
        """A job running program against this suite (options: the Job's limits, stdin...)."""
        return Job(job_id, program, self.tests, prelude=self.prelude, suite=self, **options)

    def to_wire(self) -> dict:
        return {"id": self.id, "setup": self.setup, "prelude": self.prelude,
                "tests": [vars(test) for test in self.tests]}


@dataclass
class Job:
    id: str
    program: str
    tests: list[TestCase]
    prelude: str = ""  # trusted helpers defined before the program runs
    program_timeout_s: float = 5.0
    memory_mb: int = 2048
    fail_fast: bool = True  # after a test fails, the rest of its group is not run
    # After any test fails, no later test runs, whatever its group (a verdict then known).
    stop_at_first_failure: bool = False
    stdin: str = ""
    # Other languages than Python (see the module's docstring); ignored by Python jobs.
    language: str = "python"
    source_name: str = ""
    compile_args: list[str] = field(default_factory=list)
    run_args: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    compile_timeout_s: float = 60.0
    suite: Suite | None = None  # its tests and prelude are then the suite's (Suite.job)

    def to_wire(self) -> dict:
        # Not dataclasses.asdict: its deep copy was most of the harness's own time per job.
        if self.suite is not None:  # the worker has the suite's tests and prelude
            return {**vars(self), "tests": [], "prelude": "", "suite": self.suite.id}
        return {**vars(self), "tests": [vars(test) for test in self.tests]}

    def standalone(self) -> Job:
        """The same job without its suite (each test's code preceded by the setup), for a
        sandbox that does not prepare suites; slower, same verdicts."""
        if self.suite is None:
            return self
        setup = self.suite.setup
        tests = [TestCase(t.name, f"{setup}\n{t.code}" if setup else t.code, t.group, t.timeout_s,
                          t.cpu_limit_s) for t in self.tests]
        return Job(**{**vars(self), "tests": tests, "suite": None})


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

    def first_failure(self) -> TestOutcome | None:
        """The first test that ran and did not pass."""
        return next((t for t in self.tests if t.status not in (Status.PASSED, Status.NOT_RUN)), None)

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
