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

Pairs are training data: they come from the problems a task declares for training
(`Task.training_options`, MBPP's train and prompt splits), and from any other problem only
when the caller says so by name (`from_test_split`); which problems fed the pairs is recorded
in the run's manifest (section `preference_pairs`) and in pair_stats.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from codeharness.core import manifest as manifest_info
from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra
from codeharness.core.records import CHAT, COMPLETION, Problem
from codeharness.core.rundir import RunDir, write_json_atomic
from codeharness.pipeline.matrix import (
    ProblemMatrix,
    distinct_candidates,
    load_matrices,
)
from codeharness.pipeline.testgen import problem_tests
from codeharness.tasks import create_task

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


def training_problem_ids(task) -> set[str] | None:
    """The ids of the task's training problems (its options, with its training options on
    top), or None for a task that has none."""
    if not task.training_options:
        return None
    training = create_task(task.name, **{**task.options(), **task.training_options})
    return {problem.id for problem in training.load()}


def evaluation_problems(task, problems: list[Problem]) -> list[str]:
    """The ids among `problems` that are not the task's training problems."""
    training = training_problem_ids(task)
    return [p.id for p in problems if training is None or p.id not in training]


def check_pair_sources(task, problems: list[Problem], from_test_split: bool) -> list[str]:
    """Refuse pairs from evaluation problems unless asked for by name; return their ids."""
    if not task.training_options and not from_test_split:
        raise HarnessError(
            f"task {task.name!r} declares no training split: all its problems are evaluation "
            "problems, and pairs from them train on what `eval` measures; pass --from-test-split "
            "to build them anyway")
    outside = evaluation_problems(task, problems)
    if outside and not from_test_split:
        wanted = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in task.training_options.items())
        raise HarnessError(
            f"{len(outside)} of the {len(problems)} problems are not among task {task.name!r}'s "
            f"training problems ({wanted}), e.g. {', '.join(outside[:3])}: pairs from them train on "
            f"what `eval` measures; sample with {wanted} (the default of `prefs --task`), or pass "
            "--from-test-split to build them anyway")
    return outside


def record_pair_sources(run: RunDir, task, out: Path, pairs: list[dict], problems: list[Problem],
                        outside: list[str], from_test_split: bool) -> dict:
    """Which problems fed the pairs, in the run's manifest (section `preference_pairs`);
    returned for pair_stats.json."""
    used = {pair["problem_id"] for pair in pairs}
    sources = {
        "out": str(Path(out).resolve()),
        "run": str(run.path.resolve()),
        "task": task.name,
        "task_options": task.options(),
        "training_options": dict(task.training_options),
        "problems_considered": len(problems),
        "pair_problems": [p.id for p in problems if p.id in used],
        "evaluation_problems_in_pairs": [pid for pid in outside if pid in used],
        "from_test_split": from_test_split,
        "made": manifest_info.now(),
    }
    run.update_manifest({"preference_pairs": sources})
    return sources


def preference_pairs(run: RunDir, task, problems: list[Problem]) -> tuple[list[dict], dict]:
    """One pair per problem that DSTC does not skip, with its provenance; and statistics."""
    matrices = load_matrices(run, problems)
    tests = problem_tests(run, problems)
    candidates = distinct_candidates(run, problems)
    style = run.manifest().get("prompt_style") or COMPLETION
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


def write_preferences(out: Path, pairs: list[dict], statistics: dict, sources: dict | None = None) -> None:
    """out/dpo and out/kto (`datasets.load_from_disk`), dpo.jsonl, kto.jsonl, pairs.jsonl
    (each pair's provenance and ground truth) and pair_stats.json (with `sources`: the run
    and the problems that fed the pairs)."""
    require_extra("writing preference datasets", "prefs", "datasets")
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    for name, records, columns in (("dpo", dpo_records(pairs), ("prompt", "chosen", "rejected")),
                                   ("kto", kto_records(pairs), ("prompt", "completion", "label"))):
        table = {column: [r[column] for r in records] for column in columns}
        datasets.Dataset.from_dict(table).save_to_disk(str(out / name))
        _write_jsonl(out / f"{name}.jsonl", records)
    _write_jsonl(out / "pairs.jsonl", pairs)
    write_json_atomic(out / "pair_stats.json", {**statistics, **({"sources": sources} if sources else {})})


def _write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
