"""CodeHaluEval-format records for the tests, made here from APPS test problems.

CodeHaluEval (Tian et al., 2024) is APPS test problems, one test case each, labelled with a
hallucination sub-category. Its data has no published licence, so the repository holds none of
it: the records below are built from `tests/data/apps/test_problems.jsonl` (the APPS test
split, MIT) with this project's own assignment of problems to the eight sub-categories and its
own record ids. They have the benchmark's 12 fields and its `halu_type` spellings:

- the problems in APPS problem-id order; the i-th gets `id` i and the sub-category
  `HALU_TYPES[i % 8]` (5 records per sub-category, the categories interleaved in the file, so
  a loader must read each record's own `halu_type`);
- `task_id` is the APPS problem id, `test_case_id` 0 (the problem's only test case in the
  fixture), `input`/`output` that test case; the APPS fields are copied as they are.

The assignment says nothing about how a model's program would fail on the problem.
"""

from __future__ import annotations

import json
from pathlib import Path

APPS_TEST_PROBLEMS = "apps/test_problems.jsonl"

# CodeHaluEval's `halu_type` values, as the dataset spells them, in the paper's order.
HALU_TYPES = (
    "Data Compliance Hallucination",
    "Structural Access Hallucination",
    "Identification Hallucination",
    "External Source Hallucination",
    "Physical Constraint Hallucination",
    "Calculate Boundary Hallucination",
    "Logic Deviation",
    "Logic Breakdown",
)


def apps_test_problems(test_data: Path) -> list[dict]:
    """The APPS fixture's records (codeparrot/apps's fields), in the file's order."""
    with open(test_data / APPS_TEST_PROBLEMS, encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def codehalu_records(test_data: Path) -> list[dict]:
    """CodeHaluEval-format records, one per APPS problem of the fixture (see the module's doc)."""
    records = []
    for index, problem in enumerate(sorted(apps_test_problems(test_data), key=lambda p: p["problem_id"])):
        tests = json.loads(problem["input_output"])
        (given,), (wanted,) = tests["inputs"], tests["outputs"]
        records.append({
            "id": index, "task_id": problem["problem_id"], "test_case_id": 0,
            "question": problem["question"], "solutions": problem["solutions"],
            "difficulty": problem["difficulty"], "input": given, "output": wanted,
            "halu_type": HALU_TYPES[index % len(HALU_TYPES)], "fn_name": tests.get("fn_name"),
            "starter_code": problem["starter_code"], "url": problem["url"],
        })
    return records


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def codehalu_file(test_data: Path, folder: Path) -> Path:
    """`folder`/codehalueval.jsonl holding `codehalu_records(test_data)`."""
    return write_jsonl(folder / "codehalueval.jsonl", codehalu_records(test_data))


def problem_id(record: dict) -> str:
    """The codehalu task's id of a record: its sub-category's key and the record's id."""
    from codeharness.scorers.hallucination import subcategory_of_codehalu_type

    return f"{subcategory_of_codehalu_type(record['halu_type']).key}/{record['id']}"


def apps_known_bad(problems) -> dict[str, str]:
    """The apps task's known-bad references (keyed by APPS problem id) for the codehalu
    task's problems made from the same APPS problems, keyed by their ids here."""
    from codeharness.tasks.apps import Apps

    return {p.id: Apps.known_bad[f"test/{p.meta['task_id']}"] for p in problems
            if f"test/{p.meta['task_id']}" in Apps.known_bad}
