"""The records each stage writes, one type per stage file in a run directory."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


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
    status: str
    groups: dict[str, str]  # test group ("base", "plus") -> status of that group
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
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
