"""The Task protocol, and BaseTask with its defaults: everything a benchmark file needs.

A task loads problems, builds prompts, turns a completion into a program, makes the sandbox
job that checks it and judges the outcome; it names the scorers of its runs. The pipeline
talks to tasks only through this protocol. A new benchmark is one module in this package
(or in a plugin package, see the README) with a class registered by name:

    @registry.tasks.register("my_benchmark")
    @dataclass
    class MyBenchmark(BaseTask): ...

Tasks are configured by keyword options (dataclass fields), which the CLI fills from
`--name value` arguments, so a task's own settings need no change to the pipeline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from codeharness.core import registry
from codeharness.core.data import sha256_file
from codeharness.core.errors import HarnessError
from codeharness.core.extract import program_from_answer
from codeharness.core.records import (
    CHAT,
    COMPLETION,
    PROGRAM,
    Execution,
    Generation,
    GenerationRequest,
    Problem,
    Prompt,
    SamplingConfig,
    Status,
)
from codeharness.sandbox.jobs import Environment, Job, Outcome, TestCase
from codeharness.scorers import Scorer, default_scorers

__all__ = ["CHAT", "COMPLETION", "PROGRAM", "BaseTask", "Environment", "Job", "Judgement",
           "Outcome", "Problem", "Prompt", "Status", "Task", "TestCase", "registry"]


@dataclass
class Judgement:
    """What a task concludes from one sandbox outcome, or from an answer graded as text."""

    status: Status
    groups: dict[str, Status]
    details: dict = field(default_factory=dict)


class Task(Protocol):
    name: str
    prompt_styles: tuple[str, ...]  # the first is the default for completion models
    round_styles: tuple[str, ...]  # styles whose prompts depend on earlier verdicts (plan_round)
    known_bad: Mapping[str, str]  # problem id -> why its reference solution cannot pass
    environment: Environment  # the languages and packages its programs need from a sandbox
    training_options: Mapping[str, object]  # options that select its training problems; {}: none

    def options(self) -> dict:
        """The task's options as given (they are part of a run's identity)."""

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

    def reference_programs(self, problem: Problem) -> list[str]:
        """The known-good programs (or answers) of a problem, for `check-gt`."""

    def plan_round(self, problems: list[Problem], generations: list[Generation], executions: list[Execution],
                   sampling: SamplingConfig, style: str) -> Sequence[GenerationRequest | Generation]:
        """For a round style: the next round's requests from the run's records alone, and the
        records the round settles without the model (a conversation's final answer, written
        as they are); empty when the run is complete. `style`: the run's prompt style."""

    def step_problems(self, problems: list[Problem]) -> list[Problem]:
        """For a round style: the problems its intermediate steps are recorded under (a
        conversation's turns), executed with the rest but never scored; usually none."""

    def scorers(self) -> list[Scorer]:
        """The scorers of the task's runs; the first with a primary metric ranks them."""


@dataclass
class BaseTask:
    """Defaults for every part of the protocol; subclasses fill in the specifics."""

    # Class-level settings, not options: subclasses override them with plain assignments.
    name: ClassVar[str] = "base"
    prompt_styles: ClassVar[tuple[str, ...]] = (COMPLETION, CHAT)
    round_styles: ClassVar[tuple[str, ...]] = ()
    known_bad: ClassVar[Mapping[str, str]] = {}
    environment: ClassVar[Environment] = Environment()
    groups: ClassVar[tuple[str, ...]] = ("base",)
    stop_sequences: ClassVar[tuple[str, ...]] = ()
    # The task options that select the problems meant for training (MBPP: {"split":
    # "train+prompt"}): preference pairs are built from them by default, and from any other
    # problem only when asked by name. {}: every problem is an evaluation problem.
    training_options: ClassVar[Mapping[str, object]] = {}

    data_path: str | None = None

    def __post_init__(self):
        self._sources: list[dict] = []

    @classmethod
    def create(cls, **options) -> BaseTask:
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

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job | None:
        raise NotImplementedError(f"task {self.name!r} does not say how to check a program")

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        return Judgement(outcome.verdict, {g: outcome.group_status(g) for g in self.groups})

    def grade(self, problem: Problem, answer: str) -> Judgement:
        raise NotImplementedError(f"task {self.name!r} checks answers in the sandbox")

    def canonical_program(self, problem: Problem) -> str | None:
        return problem.canonical_solution

    def reference_programs(self, problem: Problem) -> list[str]:
        program = self.canonical_program(problem)
        return [program] if program else []

    def plan_round(self, problems: list[Problem], generations: list[Generation], executions: list[Execution],
                   sampling: SamplingConfig, style: str) -> Sequence[GenerationRequest | Generation]:
        raise NotImplementedError(f"task {self.name!r} has no prompt style that runs in rounds")

    def step_problems(self, problems: list[Problem]) -> list[Problem]:
        return []

    def scorers(self) -> list[Scorer]:
        return default_scorers(primary_group=self.groups[-1])
