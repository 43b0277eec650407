"""MBPP (Austin et al., 2021): crowd-sourced Python problems, each a one-sentence task and
three asserts.

`mbpp` is the full set of 974 with its splits by task id (prompt 1-10, test 11-510,
validation 511-600, train 601-974); it evaluates the test split (500) unless --split says
otherwise (`--split train+prompt` joins splits). Its training problems, from which DSTC
preference pairs are built by default, are the train and prompt splits. `mbpp_sanitized` is
the 427 hand-checked problems, all splits by default (the set EvalPlus's MBPP+ was drawn from).
Sources: by default google-research's release files mbpp.jsonl / sanitized-mbpp.json,
packaged in tasks/data/; --data-path takes such a file, or hf:NAME of a Hugging Face copy
such as google-research-datasets/mbpp (configs "full" and "sanitized").

The prompt is the one EvalPlus and the BigCode harness use: a docstring with the task and
its first assert, which a completion model follows with the function. The
`challenge_test_list` asserts are not run (nor are they by the BigCode harness or EvalPlus).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from codeharness.core import registry
from codeharness.core.data import require_fields
from codeharness.core.errors import HarnessError
from codeharness.core.extract import parse
from codeharness.sandbox.jobs import Job, TestCase
from codeharness.tasks.base import Problem
from codeharness.tasks.groundtruth import ReferenceTimedTask
from codeharness.tasks.packaged import task_records

HF_DATASET = "google-research-datasets/mbpp"
ALL_HF_SPLITS = "train+validation+test+prompt"
SPLITS = {"prompt": range(1, 11), "test": range(11, 511), "validation": range(511, 601),
          "train": range(601, 975), "all": range(1, 975)}
TRAINING_SPLIT = "train+prompt"  # what DSTC pairs are built from by default
# A completion model writes the function after the prompt's docstring; these end it where a
# model goes on to tests, examples, another docstring or markdown.
STOP_SEQUENCES = ("\nassert ", '\n"""', "\nprint(", "\nif __name__", "\n```")


def docstring_prompt(text: str, first_test: str) -> str:
    return f'"""\n{text.strip()}\n{first_test.strip()}\n"""\n'


def chat_instruction(problem: Problem) -> str:
    task = problem.prompt.strip().removeprefix('"""').removesuffix('"""').strip()
    return ("Solve the Python task below; its last line is a test your code must pass. Answer "
            f"with the whole function `{problem.entry_point}`, including its imports, in one "
            f"```python code block.\n\n{task}")


def entry_point_of(code: str, tests: list[str]) -> str | None:
    """The function the tests call among those the reference code defines."""
    tree = parse(code)
    if tree is None:
        defined = re.findall(r"^def\s+(\w+)", code, re.MULTILINE)
    else:
        defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    for test in tests:
        for name in re.findall(r"\b(\w+)\s*\(", test):
            if name in defined:
                return name
    return defined[-1] if defined else None


def split_numbers(task: str, split: str) -> set[int]:
    """The task ids of a split, or of several joined by `+` (train+prompt)."""
    parts = [part.strip() for part in str(split).split("+")]
    unknown = [part for part in parts if part not in SPLITS]
    if unknown:
        raise HarnessError(f"task {task!r} has no split {unknown[0]!r}; choose one of "
                           f"{', '.join(SPLITS)}, or several joined by + (train+prompt)")
    return {number for part in parts for number in SPLITS[part]}


def task_number(task_id) -> int:
    return int(str(task_id).rsplit("/", 1)[-1])


@registry.tasks.register
@dataclass
class Mbpp(ReferenceTimedTask):
    """A test's time limit is max(3 s, 4 x the reference's time): some references take
    seconds (Mbpp/123)."""

    name = "mbpp"
    stop_sequences = STOP_SEQUENCES
    hf_config: ClassVar[str] = "full"
    text_field: ClassVar[str] = "text"
    release_file: ClassVar[str] = "mbpp.jsonl"  # the packaged default source

    split: str = "test"
    training_options: ClassVar[Mapping[str, object]] = {"split": TRAINING_SPLIT}

    def load(self) -> list[Problem]:
        numbers = split_numbers(self.name, self.split)
        records, where = task_records(self, self.release_file, HF_DATASET, split=ALL_HF_SPLITS,
                                      config=self.hf_config)
        self.remember_data(records)
        problems = []
        for index, record in enumerate(records):
            require_fields(record, ("task_id", self.text_field, "code", "test_list"),
                           f"{where} record {index + 1}")
            if task_number(record["task_id"]) in numbers:
                problems.append(self.problem(record))
        return sorted(problems, key=lambda p: task_number(p.id))

    def problem(self, record: dict) -> Problem:
        tests = list(record["test_list"])
        return Problem(
            id=f"Mbpp/{record['task_id']}",
            prompt=docstring_prompt(record[self.text_field], tests[0]),
            entry_point=entry_point_of(record["code"], tests),
            canonical_solution=record["code"],
            meta={"tests": tests, "setup": self.test_setup(record)},
        )

    def test_setup(self, record: dict) -> str:
        return record.get("test_setup_code") or ""

    def chat_instruction(self, problem: Problem) -> str:
        return chat_instruction(problem)

    def tests(self, problem: Problem) -> list[TestCase]:
        setup = problem.meta["setup"]
        return [TestCase(f"test {i + 1}", f"{setup}\n{test}\n") for i, test in enumerate(problem.meta["tests"])]

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        return self.suite(problem).job(job_id, program)


@registry.tasks.register
@dataclass
class MbppSanitized(Mbpp):
    name = "mbpp_sanitized"
    hf_config = "sanitized"
    text_field = "prompt"
    release_file = "sanitized-mbpp.json"

    split: str = "all"

    def test_setup(self, record: dict) -> str:
        return "\n".join(record.get("test_imports") or [])
