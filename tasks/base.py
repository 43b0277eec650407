"""The Task protocol: load problems, build prompts, turn a completion into a program, make
the sandbox job that checks it, and judge the outcome.

Tasks are configured by keyword options (dataclass fields), which the CLI fills from
`--name value` arguments, so a task's own settings need no change to the pipeline.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from harness.errors import HarnessError
from harness.extract import program_from_answer
from harness.records import Prompt
from sandbox.jobs import Job, Outcome, Status

CHAT = "chat"
COMPLETION = "completion"
PROGRAM = "program"  # the text is already a whole program (replayed EvalPlus solutions)


@dataclass
class Problem:
    id: str
    prompt: str
    entry_point: str | None = None
    canonical_solution: str | None = None  # a complete program that solves the problem
    meta: dict = field(default_factory=dict)


@dataclass
class Judgement:
    """What a task concludes from one sandbox outcome."""

    status: Status
    groups: dict[str, str]
    details: dict = field(default_factory=dict)


class Task(Protocol):
    name: str
    prompt_styles: tuple[str, ...]  # the first is the default for completion models

    def load(self) -> list[Problem]: ...

    def data_sources(self) -> list[dict]:
        """Every data file (path, sha256) or dataset (id, fingerprint) load() read."""

    def prepare(self, problems: list[Problem], sandbox) -> None:
        """Ground-truth work before judging (expected outputs, timeouts); may be a no-op."""

    def build_prompt(self, problem: Problem, style: str) -> Prompt: ...

    def extract_program(self, problem: Problem, completion: str, style: str) -> str: ...

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job | None:
        """The sandbox job that checks a program; None when the answer is graded as text."""

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        """The verdict on a sandbox outcome."""

    def grade(self, problem: Problem, answer: str) -> Judgement:
        """The verdict on an answer that needs no execution (build_job returned None)."""

    def scorers(self) -> list:
        """Scorers beyond the defaults (pass@k, status counts)."""


@dataclass
class BaseTask:
    """Shared behaviour of the code-generation tasks; subclasses fill in the specifics."""

    # Class-level settings, not options: subclasses override them with plain assignments.
    name = "base"
    prompt_styles: ClassVar[tuple[str, ...]] = (COMPLETION, CHAT)
    groups: ClassVar[tuple[str, ...]] = ("base",)
    stop_sequences: ClassVar[tuple[str, ...]] = ()

    data_path: str | None = None

    def __post_init__(self):
        self._sources: list[dict] = []

    @classmethod
    def create(cls, **options) -> "BaseTask":
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(options) - known)
        if unknown:
            raise HarnessError(
                f"task {cls.name!r} has no option {', '.join('--' + u.replace('_', '-') for u in unknown)}"
                f"; its options: {', '.join('--' + k.replace('_', '-') for k in sorted(known)) or 'none'}"
            )
        return cls(**options)

    def options(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    def data_sources(self) -> list[dict]:
        return list(self._sources)

    def record_file(self, path: Path) -> Path:
        path = Path(path)
        self._sources.append({"path": str(path.resolve()), "sha256": sha256_file(path)})
        return path

    def record_dataset(self, dataset) -> None:
        """Note a Hugging Face dataset that was read (its builder name and fingerprint)."""
        self._sources.append({"dataset": dataset.info.dataset_name or dataset.info.builder_name,
                              "config": dataset.info.config_name, "split": str(dataset.split),
                              "fingerprint": dataset._fingerprint})

    def prepare(self, problems: list[Problem], sandbox) -> None:
        pass

    def chat_instruction(self, problem: Problem) -> str:
        return (
            "Complete the following Python function. Answer with the whole function, "
            "including its imports, in one ```python code block.\n\n"
            f"```python\n{problem.prompt.strip()}\n```"
        )

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        if style == CHAT:
            return Prompt(messages=[{"role": "user", "content": self.chat_instruction(problem)}])
        if style in (COMPLETION, PROGRAM):  # PROGRAM: replayed whole programs
            return Prompt(text=problem.prompt, stop=list(self.stop_sequences))
        raise HarnessError(f"task {self.name!r} has no prompt style {style!r}; "
                           f"choose one of {', '.join(self.prompt_styles)}")

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        if style == COMPLETION:
            return problem.prompt + completion
        if style == PROGRAM:
            return completion
        return program_from_answer(problem.prompt, completion, problem.entry_point)

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        raise NotImplementedError

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        return Judgement(outcome.verdict, {g: outcome.group_status(g).value for g in self.groups})

    def grade(self, problem: Problem, answer: str) -> Judgement:
        raise NotImplementedError(f"task {self.name!r} checks answers in the sandbox")

    def canonical_program(self, problem: Problem) -> str | None:
        return problem.canonical_solution

    def scorers(self) -> list:
        return []


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
