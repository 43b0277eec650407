"""The records each stage writes, one type per stage file in a run directory."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import Enum

# Prompt styles every task and backend knows; a task may offer more of its own (P3's
# "medium", "bootstrap", ...).
CHAT = "chat"
COMPLETION = "completion"
PROGRAM = "program"  # the text is already a whole program (replayed EvalPlus solutions)


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"  # an assertion failed or the output was wrong
    ERROR = "error"  # an exception other than AssertionError, or an abnormal exit
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    SYNTAX_ERROR = "syntax_error"
    COMPILE_ERROR = "compile_error"  # a compiled language's program did not compile
    SANDBOX_ERROR = "sandbox_error"  # the sandbox itself failed; says nothing of the program
    NOT_RUN = "not_run"  # a test skipped after an earlier failure in its group


@dataclass
class Problem:
    """One problem of a task, as its loader read it."""

    id: str
    prompt: str
    entry_point: str | None = None
    canonical_solution: str | None = None  # a complete program that solves the problem
    meta: dict = field(default_factory=dict)


@dataclass
class Prompt:
    """What a model is asked: plain text for completion, or chat messages."""

    text: str | None = None
    messages: list[dict] | None = None
    stop: list[str] = field(default_factory=list)

    @property
    def is_chat(self) -> bool:
        return self.messages is not None


@dataclass
class SamplingConfig:
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass
class GenerationRequest:
    problem_id: str
    prompt: Prompt
    sample_indices: list[int]  # only the samples still missing from the run


@dataclass
class Completion:
    problem_id: str
    sample_index: int
    text: str
    finish_reason: str  # "stop", "length" (cut at max_tokens), or a backend's own word
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    rendered_prompt: str | None = None  # the exact text the model saw, after any chat template


@dataclass
class Generation:
    """One line of generations.jsonl: one sample of one problem."""

    task: str
    problem_id: str
    sample_index: int
    prompt: str | list[dict]
    completion: str
    program: str
    finish_reason: str
    truncated: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.problem_id, self.sample_index)


@dataclass
class Execution:
    """One line of executions.jsonl: the sandbox's verdict on one generation."""

    task: str
    problem_id: str
    sample_index: int
    status: Status
    groups: dict[str, Status]  # test group ("base", "plus") -> status of that group
    exception_type: str | None = None
    exception_chain: list[str] = field(default_factory=list)
    message: str | None = None
    tests: list[dict] = field(default_factory=list)
    wall_time_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    details: dict = field(default_factory=dict)  # task-specific extras (e.g. P3's answer)

    @property
    def key(self) -> tuple[str, int]:
        return (self.problem_id, self.sample_index)


def to_dict(record) -> dict:
    return asdict(record)


def from_dict(cls, data: dict):
    """Build a record, ignoring unknown keys so newer files stay readable."""
    types = {f.name: f.type for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in types}
    for name, value in values.items():  # statuses come back as the enum, not strings
        if types[name] == "Status":
            values[name] = Status(value)
        elif types[name] == "dict[str, Status]":
            values[name] = {key: Status(status) for key, status in value.items()}
    return cls(**values)


def jsonable(value):
    """The value itself when JSON can hold it, else its repr (a set, a tuple key, an object)."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
