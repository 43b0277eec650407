"""DSTC preference data (Liu et al., 2024) from the pass matrix of self-generated code and
tests.

Per problem: the chosen code passes the most tests; the chosen test is the hardest test it
passes (fewest codes pass it); the rejected test is the easiest test some code fails; the
rejected code has the fewest passes among the codes failing the rejected test. Ties go to
the earliest candidate or test. A problem is skipped when the chosen code passes nothing or
every code passes every test. chosen = chosen code ⊕ chosen test, rejected = rejected code
⊕ rejected test.

Written as DPO records (prompt, chosen, rejected) and KTO records (prompt, completion,
label), each as a `datasets` dataset on disk and as JSONL, in TRL's formats: conversational
(message lists) for chat prompts, plain text for completion prompts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.rundir import RunDir, write_json_atomic
from harness.selection.matrix import ProblemMatrix, distinct_candidates, load_matrices
from harness.selection.testgen import problem_tests
from tasks.base import CHAT, Problem

SKIP_EMPTY = "no candidates or no tests"
SKIP_NOTHING_PASSED = "chosen code passes no test"
SKIP_ALL_PASSED = "every code passes every test"


@dataclass
class DstcChoice:
    chosen_code: int  # row of the matrix
    chosen_test: int  # column
    rejected_code: int
    rejected_test: int


def dstc_choice(passes: np.ndarray) -> DstcChoice | str:
    """The DSTC pick on one problem's matrix, or the reason the problem is skipped."""
    passes = np.asarray(passes, dtype=bool)
    if passes.size == 0:
        return SKIP_EMPTY
    code_passes = passes.sum(axis=1)
    test_passes = passes.sum(axis=0)
    chosen_code = int(np.argmax(code_passes))
    if code_passes[chosen_code] == 0:
        return SKIP_NOTHING_PASSED
    if passes.all():
        return SKIP_ALL_PASSED
    passed = np.flatnonzero(passes[chosen_code])
    chosen_test = int(passed[np.argmin(test_passes[passed])])
    failed_by_some = np.flatnonzero(test_passes < len(passes))
    rejected_test = int(failed_by_some[np.argmax(test_passes[failed_by_some])])
    failing = np.flatnonzero(~passes[:, rejected_test])
    rejected_code = int(failing[np.argmin(code_passes[failing])])
    return DstcChoice(chosen_code, chosen_test, rejected_code, rejected_test)


def preference_pairs(run: RunDir, task, problems: list[Problem]) -> tuple[list[dict], dict]:
    """One pair per problem that DSTC does not skip, with its provenance; and statistics."""
    matrices = load_matrices(run, problems)
    tests = problem_tests(run, problems)
    candidates = distinct_candidates(run, problems)
    style = run.manifest().get("prompt_style")
    pairs, skipped = [], {SKIP_EMPTY: 0, SKIP_NOTHING_PASSED: 0, SKIP_ALL_PASSED: 0}
    for problem in problems:
        matrix = matrices[problem.id]
        choice = dstc_choice(matrix.passes)
        if isinstance(choice, str):
            skipped[choice] += 1
            continue
        prompt = task.build_prompt(problem, style)
        code = {c.index: c.program for c in candidates[problem.id]}
        test_code = {t.id: t.code for t in tests[problem.id]}

        def response(row: int, column: int) -> str | list[dict]:
            return _response(prompt, style, code[int(matrix.candidates[row])],
                             test_code[matrix.test_ids[column]])

        pairs.append({
            "problem_id": problem.id,
            "prompt": prompt.messages if style == CHAT else prompt.text,
            "chosen": response(choice.chosen_code, choice.chosen_test),
            "rejected": response(choice.rejected_code, choice.rejected_test),
            "chosen_candidate": int(matrix.candidates[choice.chosen_code]),
            "rejected_candidate": int(matrix.candidates[choice.rejected_code]),
            "chosen_test": matrix.test_ids[choice.chosen_test],
            "rejected_test": matrix.test_ids[choice.rejected_test],
            "chosen_correct": _correct(matrix, choice.chosen_code),
            "rejected_correct": _correct(matrix, choice.rejected_code),
        })
    return pairs, pair_statistics(pairs, len(problems), skipped)


def _correct(matrix: ProblemMatrix, row: int) -> dict[str, bool]:
    return {group: bool(correct[row]) for group, correct in matrix.correct.items()}


def _response(prompt, style: str, program: str, test: str) -> str | list[dict]:
    """code ⊕ test, as the model would answer the prompt: a fenced block in an assistant
    message for chat prompts, the continuation of the prompt text otherwise."""
    if style == CHAT:
        return [{"role": "assistant",
                 "content": f"```python\n{program.strip()}\n\n{test}\n```"}]
    code = program[len(prompt.text):] if program.startswith(prompt.text) else program
    return f"{code.rstrip()}\n\n{test}\n"


def pair_statistics(pairs: list[dict], problems: int, skipped: dict[str, int]) -> dict:
    """Yield, and how often the chosen / rejected code is truly correct / incorrect by the
    task's hidden tests (per test group)."""
    groups = sorted({g for pair in pairs for g in pair["chosen_correct"]})
    truth = {}
    for group in groups:
        chosen_right = sum(p["chosen_correct"][group] for p in pairs)
        rejected_right = sum(not p["rejected_correct"][group] for p in pairs)
        both = sum(p["chosen_correct"][group] and not p["rejected_correct"][group] for p in pairs)
        truth[group] = {
            "chosen_code_correct": _count(chosen_right, len(pairs)),
            "rejected_code_incorrect": _count(rejected_right, len(pairs)),
            "both": _count(both, len(pairs)),
        }
    return {
        "problems": problems,
        "pairs": len(pairs),
        "yield": len(pairs) / problems if problems else None,
        "skipped": skipped,
        "same_code_in_both": sum(p["chosen_candidate"] == p["rejected_candidate"] for p in pairs),
        "ground_truth": truth,
    }


def _count(count: int, total: int) -> dict:
    return {"count": int(count), "share": count / total if total else None}


def dpo_records(pairs: list[dict]) -> list[dict]:
    return [{"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"]} for p in pairs]


def kto_records(pairs: list[dict]) -> list[dict]:
    records = []
    for pair in pairs:
        records.append({"prompt": pair["prompt"], "completion": pair["chosen"], "label": True})
        records.append({"prompt": pair["prompt"], "completion": pair["rejected"], "label": False})
    return records


def write_preferences(out: Path, pairs: list[dict], statistics: dict) -> None:
    """out/dpo and out/kto (`datasets.load_from_disk`), dpo.jsonl, kto.jsonl, pairs.jsonl
    (each pair's provenance and ground truth) and pair_stats.json."""
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    for name, records, columns in (("dpo", dpo_records(pairs), ("prompt", "chosen", "rejected")),
                                   ("kto", kto_records(pairs), ("prompt", "completion", "label"))):
        table = {column: [r[column] for r in records] for column in columns}
        datasets.Dataset.from_dict(table).save_to_disk(str(out / name))
        _write_jsonl(out / f"{name}.jsonl", records)
    _write_jsonl(out / "pairs.jsonl", pairs)
    write_json_atomic(out / "pair_stats.json", statistics)


def _write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
