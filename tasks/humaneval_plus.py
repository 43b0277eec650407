"""HumanEval+ (EvalPlus): HumanEval's 164 problems, judged on their base inputs and on about
750 more inputs each, with EvalPlus's fixed reference solutions (see tasks/evalplus.py)."""

from __future__ import annotations

from dataclasses import dataclass

from codeharness.core import registry
from codeharness.core.data import require_fields
from codeharness.core.errors import HarnessError
from codeharness.tasks.base import Problem
from codeharness.tasks.evalplus import EvalPlusTask, with_check_call
from codeharness.tasks.humaneval import STOP_SEQUENCES, HumanEval

HF_FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


@registry.tasks.register
@dataclass
class HumanEvalPlus(EvalPlusTask):
    """--data-path: an EvalPlus release file (HumanEvalPlus-v0.1.10.jsonl.gz) or hf:NAME of a
    Hugging Face copy (hf:evalplus/humanevalplus); by default the release v0.1.10, which
    EvalPlus itself evaluates on, packaged in tasks/data/."""

    name = "humaneval_plus"
    dataset = "humaneval"
    packaged_file = "HumanEvalPlus-v0.1.10.jsonl.gz"
    hub_dataset = "evalplus/humanevalplus"
    stop_sequences = STOP_SEQUENCES

    def merged_problems(self, records: list[dict], where: str) -> list[Problem]:
        """Rows of evalplus/humanevalplus; their base tests are HumanEval's own `check`."""
        humaneval = HumanEval()
        original_tests = {p.id: p.meta["test"] for p in humaneval.load()}
        self._sources += humaneval.data_sources()
        problems = []
        for index, record in enumerate(records):
            require_fields(record, HF_FIELDS, f"{where} record {index + 1}")
            if record["task_id"] not in original_tests:
                raise HarnessError(f"{where} record {index + 1}: {record['task_id']} is not a HumanEval "
                                   "problem, so it has no base tests")
            entry_point = record["entry_point"]
            base = f"{original_tests[record['task_id']]}\ncheck({entry_point})\n"
            problems.append(self.merged_problem(
                record["task_id"], record["prompt"], entry_point,
                record["prompt"] + record["canonical_solution"],
                [base], with_check_call(record["test"], entry_point)))
        return problems
