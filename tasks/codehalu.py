"""CodeHaluEval (Tian et al., 2024): 8,883 samples in eight files, one file per code
hallucination sub-category. Each sample is an APPS test problem with one of its test cases.

Sources: the Hugging Face dataset `Yuchen111/CodeHaluEval` (default; every split is read),
or local files: a .json list or .jsonl file of records, or a folder of them (the benchmark's
eight files). Record fields: id, task_id, test_case_id, question, solutions, difficulty,
input, output, halu_type, fn_name, starter_code, url. Each record's own `halu_type` names
its file; `solutions` is APPS's JSON list of reference programs (the first one is the
canonical solution; it is empty for some Kattis problems).

Scores: CodeHalu's hallucination rates in both modes (harness/scoring/hallucination.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.data import hub_dataset, load_hf, read_records, require_fields
from codeharness.core.errors import HarnessError
from codeharness.scorers import default_scorers
from codeharness.scorers.base import Scorer
from codeharness.scorers.hallucination import (
    EMBEDDED_TOKENIZER,
    HallucinationRates,
    subcategory_of_codehalu_type,
)
from codeharness.tasks.apps import AppsTask, apps_problem
from codeharness.tasks.base import Problem

HF_DATASET = "Yuchen111/CodeHaluEval"
FIELDS = ("id", "task_id", "test_case_id", "question", "solutions", "difficulty", "input",
          "output", "halu_type", "fn_name", "starter_code", "url")
CHAT_PREFIX = ("You are required to solve a programming problem with python. "
               "Please enclose your code inside a ```python``` block. ")


@registry.tasks.register
@dataclass
class CodeHalu(AppsTask):
    name = "codehalu"
    preamble = "import sys\n"  # the reference's harness puts it before every program

    # Reference solutions of the real dataset, by its record ids, that cannot pass when run as
    # a real `__main__` on Python >= 3.9: those found by running the references of 40 real
    # CodeHaluEval records (not kept in the repository): the records of APPS test problems
    # 1970, 527, 434, 66, 753 and 559, the apps task's known-bad ones. Other records of those
    # problems, if the full dataset has any, fail the same way and are not listed.
    known_bad = {
        "structure_access/82": "the reference solution uses `nonlocal` at module level; it only "
                               "runs inside the function the reference harness wraps programs in",
        "computational_boundary/86": "the reference solution has `return` outside a function "
                                     "(relies on the reference harness's function wrapping)",
        "logic_deviation/1201": "the reference solution has `return` outside a function "
                                "(relies on the reference harness's function wrapping)",
        "identity/153": "the reference solution imports fractions.gcd, removed in Python 3.9",
        "external_source/188": "the reference solution imports fractions.gcd, removed in Python 3.9",
        "external_source/154": "the reference solution's `print((*f))` is a syntax error since Python 3.9",
    }

    timeout_s: float = 15.0  # the reference's per-test limit
    breakdown_tokenizer: str = EMBEDDED_TOKENIZER

    def load(self) -> list[Problem]:
        problems, seen = [], {}
        for where, record in self._records():
            problem = self._problem(record, where)
            if problem.id in seen:
                raise HarnessError(f"{where}: problem id {problem.id!r} again (first at {seen[problem.id]})")
            seen[problem.id] = where
            problems.append(problem)
        return problems

    def _problem(self, record: dict, where: str) -> Problem:
        require_fields(record, FIELDS, where)
        subcategory = subcategory_of_codehalu_type(str(record["halu_type"]))
        if subcategory is None:
            raise HarnessError(f"{where}: unknown halu_type {record['halu_type']!r}")
        given, wanted = record["input"], record["output"]
        case = json.dumps([given, wanted], sort_keys=True)
        return apps_problem(
            f"{subcategory.key}/{record['id']}", record["question"], record["starter_code"],
            record["fn_name"], [given], [wanted], _first_solution(record["solutions"], where), where,
            halu_category=subcategory.key, task_id=record["task_id"],
            test_case_id=record["test_case_id"], difficulty=record["difficulty"], url=record["url"],
            case_key=f"{record['task_id']}:{hashlib.sha256(case.encode()).hexdigest()[:16]}",
        )

    def _records(self):
        """(where, record) pairs, `where` naming the file and line or the dataset row."""
        name = hub_dataset(self.data_path, HF_DATASET)
        if name is not None:
            for split_name, split in load_hf(name, split=None).items():
                self.record_dataset(split)
                for index, record in enumerate(split):
                    yield f"{name} [{split_name}] row {index}", record
            return
        path = Path(str(self.data_path))
        files = sorted(p for p in path.iterdir() if p.name.endswith((".json", ".jsonl"))) \
            if path.is_dir() else [path]
        if not files:
            raise HarnessError(f"{path}: no .json or .jsonl files in this folder")
        for file in files:
            records = read_records(self.record_file(file))
            unit = "line" if file.name.endswith(".jsonl") else "record"
            for index, record in enumerate(records, start=1):
                if not isinstance(record, dict):
                    raise HarnessError(f"{file} {unit} {index}: not a JSON object")
                yield f"{file} {unit} {index}", record

    # -- prompts, as the benchmark's generation.py builds them

    def problem_text(self, problem: Problem) -> str:
        starter_code = problem.meta["starter_code"]
        text = f"\nQUESTION:\n{problem.prompt}{starter_code}"
        if problem.meta["fn_name"] or starter_code:
            text += "\\Please write your code using Call-Based format."  # stray backslash verbatim
        else:
            text += "\nPlease write your code using Standard Input, i.e. input() and print()."
        if starter_code:
            text += ("The starter code is provided as below. Please finish the code.\n"
                     f"<starter_coder>{starter_code}<starter_coder>\n")
        return text

    def chat_instruction(self, problem: Problem) -> str:
        return CHAT_PREFIX + self.problem_text(problem)

    def scorers(self) -> list[Scorer]:
        return [*default_scorers(primary_group=self.groups[-1], breakdown_tokenizer=self.breakdown_tokenizer),
                HallucinationRates(self.breakdown_tokenizer)]


def _first_solution(solutions, where: str) -> str | None:
    if not solutions:
        return None
    try:
        parsed = json.loads(solutions) if isinstance(solutions, str) else solutions
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{where}: field solutions is not a JSON list ({exc.msg})") from exc
    if not isinstance(parsed, list):
        raise HarnessError(f"{where}: field solutions is not a JSON list")
    return parsed[0] if parsed else None
