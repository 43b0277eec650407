"""Two runs of one task, side by side: the paired difference (B - A) of every metric that is
a mean over problems, with a bootstrap interval over problems.

The metrics are pass@k of each test group the runs share, for every k up to the smaller
sample count, computed per problem from each run's executions (Chen et al.'s estimator, as
`scores.json` has it). The interval is paired: each bootstrap resample draws problems, and
the same problems' differences are averaged, so what both runs find easy or hard cancels.
Runs of different tasks, or over different problems, are refused.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from codeharness.core.errors import HarnessError
from codeharness.core.passk import (
    BOOTSTRAP_RESAMPLES,
    CONFIDENCE,
    bootstrap_interval,
    pass_at_k,
)
from codeharness.core.records import Execution, Status, from_dict
from codeharness.core.rundir import RunDir
from codeharness.pipeline.stages import RunConfig
from codeharness.pipeline.train import training_record

SHOWN_KS = (1, 5, 10, 100)  # what the console shows; compare.json has every k


class RunRecords:
    """What comparing needs of one run: its config, manifest and per-problem verdicts."""

    def __init__(self, path: Path, label: str):
        self.run = RunDir(Path(path))
        if not self.run.manifest_path.exists():
            raise HarnessError(f"{path}: not a run directory (no manifest.json)")
        self.label = label
        self.manifest = self.run.manifest()
        self.config = RunConfig.from_identity(self.manifest["config"])
        # problem -> group -> [passed per sample]
        self.verdicts: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        for record in self.run.executions():
            execution = from_dict(Execution, record)
            for group, status in execution.groups.items():
                self.verdicts[execution.problem_id][group].append(status is Status.PASSED)
        if not self.verdicts:
            raise HarnessError(f"{path}: no executions to compare; run `codeharness execute` first")
        executed = {(e["problem_id"], e["sample_index"]) for e in self.run.executions()}
        self.unexecuted = sum((g["problem_id"], g["sample_index"]) not in executed
                              for g in self.run.generations())

    def describe(self) -> dict:
        model = self.manifest.get("model") or {}
        return {"path": str(self.run.path), "task": self.config.task,
                "task_options": self.config.task_options, "model": model.get("model") or self.config.model,
                "backend": self.config.backend, "sampling": self.manifest["config"]["sampling"],
                "problems": len(self.verdicts)}


def compare_runs(path_a: Path, path_b: Path, seed: int = 0) -> dict:
    """compare.json: both runs, the problems, notes, and one entry per metric with A, B,
    B - A and its 95% paired bootstrap interval."""
    a, b = RunRecords(path_a, "A"), RunRecords(path_b, "B")
    if a.config.task != b.config.task:
        raise HarnessError(f"the runs are of different tasks ({a.config.task!r} in {path_a}, "
                           f"{b.config.task!r} in {path_b}); compare runs of one task")
    only_a, only_b = sorted(set(a.verdicts) - set(b.verdicts)), sorted(set(b.verdicts) - set(a.verdicts))
    if only_a or only_b:
        raise HarnessError(
            f"the runs cover different problems ({len(a.verdicts)} in A, {len(b.verdicts)} in B; "
            + "; ".join(f"{len(ids)} only in {side}, e.g. {', '.join(ids[:3])}"
                        for side, ids in (("A", only_a), ("B", only_b)) if ids)
            + "): a paired comparison needs the same problems in both; narrow them with the same "
            "--limit or --problems")
    problems = sorted(a.verdicts)
    notes = _notes(a, b, problems)
    groups_a = {g for per in a.verdicts.values() for g in per}
    groups_b = {g for per in b.verdicts.values() for g in per}
    groups = [g for g in _group_order(a, groups_a) if g in groups_b]
    if not groups:
        raise HarnessError("the runs share no test group to compare")
    for group in sorted(groups_a ^ groups_b):
        notes.append(f"test group {group!r} is in only one run; not compared")
    metrics = []
    for group in groups:
        totals = {run.label: np.array([len(run.verdicts[p].get(group, [])) for p in problems]) for run in (a, b)}
        if min(totals["A"].min(), totals["B"].min()) == 0:
            notes.append(f"test group {group!r} lacks verdicts for some problems in one run; not compared")
            continue
        correct = {run.label: np.array([sum(run.verdicts[p][group]) for p in problems]) for run in (a, b)}
        largest_k = int(min(totals["A"].min(), totals["B"].min()))
        for k in range(1, largest_k + 1):
            per_a = np.array([pass_at_k(int(n), int(c), k) for n, c in zip(totals["A"], correct["A"])])
            per_b = np.array([pass_at_k(int(n), int(c), k) for n, c in zip(totals["B"], correct["B"])])
            metrics.append(_paired(f"{group} pass@{k}", group, k, per_a, per_b, seed))
    return {"task": a.config.task, "problems": len(problems), "problem_ids": problems,
            "run_a": a.describe(), "run_b": b.describe(), "notes": notes,
            "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "confidence": CONFIDENCE,
                          "over": "problems, paired", "seed": seed},
            "metrics": metrics}


def _paired(name: str, group: str, k: int, per_a: np.ndarray, per_b: np.ndarray, seed: int) -> dict:
    difference = per_b - per_a
    low, high = bootstrap_interval(difference[:, None], seed=seed)
    return {"metric": name, "group": group, "k": k, "a": float(per_a.mean()), "b": float(per_b.mean()),
            "difference": float(difference.mean()), "ci_low": float(low[0]), "ci_high": float(high[0]),
            "problems_b_better": int((difference > 0).sum()), "problems_a_better": int((difference < 0).sum())}


def _group_order(run: RunRecords, groups: set[str]) -> list[str]:
    """The groups in the order the run's first problem reports them (base before plus)."""
    first = run.verdicts[next(iter(sorted(run.verdicts)))]
    return [g for g in first if g in groups] + sorted(groups - set(first))


def _notes(a: RunRecords, b: RunRecords, problems: list[str]) -> list[str]:
    notes = []
    if a.config.task_options != b.config.task_options:
        notes.append(f"task options differ: A {a.config.task_options}, B {b.config.task_options}")
    for run in (a, b):
        if run.unexecuted:
            notes.append(f"run {run.label} has {run.unexecuted} generation(s) not executed; "
                         "only executed samples are compared")
        record = training_record(run.config.model)
        sources = (record or {}).get("preferences", {}).get("sources") or {}
        fed = set(sources.get("pair_problems") or []) & set(problems)
        if record is not None and sources.get("task") == a.config.task and fed:
            notes.append(f"run {run.label}'s model was trained on preference pairs from {len(fed)} of "
                         f"the {len(problems)} compared problems (e.g. {', '.join(sorted(fed)[:3])})")
        elif record is not None:
            notes.append(f"run {run.label}'s model was trained ({record.get('method')}) on pairs from "
                         f"no compared problem")
    return notes
