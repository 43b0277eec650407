"""P3 metrics: pass@k per puzzle module, and the attempts-to-first-success curve.

The curve is the P3 paper's measure for its bootstrap experiment, where a puzzle stops being
attempted once solved: "pass@k" there is the share of puzzles whose first success came within
their first k attempts. For the other styles the unbiased pass@k estimator applies (the
default `pass_at_k` scorer, and `per_module` here).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from codeharness.core import registry
from codeharness.core.passk import bootstrap_interval, pass_at_k_matrix
from codeharness.core.records import Status
from codeharness.scorers.base import BaseScorer, Chart, Column


def report_ks(max_k: int) -> list[int]:
    """1, 10, 100, ... up to max_k, and max_k itself."""
    ks, k = [], 1
    while k < max_k:
        ks.append(k)
        k *= 10
    return ks + [max_k] if max_k >= 1 else []


def pass_at_ks(totals: list[int], corrects: list[int], ks: list[int]) -> dict[str, dict]:
    per_problem = pass_at_k_matrix(np.asarray(totals), np.asarray(corrects), ks)
    low, high = bootstrap_interval(per_problem)
    means = per_problem.mean(axis=0)
    return {f"pass@{k}": {"value": float(means[i]), "ci_low": float(low[i]), "ci_high": float(high[i])}
            for i, k in enumerate(ks)}


def first_success_curve(first_success: dict[str, int | None], attempts: int) -> dict:
    """From each puzzle's first passing attempt (0-based; None if never), the share of puzzles
    solved within k attempts, for every k up to `attempts`."""
    puzzles = len(first_success)
    firsts = np.array(sorted(i for i in first_success.values() if i is not None), dtype=int)
    # solved within k attempts <=> first success index < k
    within = [int(np.searchsorted(firsts, k, side="left")) for k in range(1, attempts + 1)]
    curve = [[k, within[k - 1] / puzzles] for k in range(1, attempts + 1)
             if k == 1 or within[k - 1] != within[k - 2]]
    return {
        "puzzles": puzzles,
        "solved": len(firsts),
        "attempts": attempts,
        "solved_within": {f"pass@{k}": within[k - 1] / puzzles for k in report_ks(attempts)},
        "curve": curve,  # [k, share solved within k attempts] wherever the share grows
    }


@registry.scorers.register
class P3Scorer(BaseScorer):
    """Ranks runs by the share of puzzles solved within the run's own number of attempts."""

    name = "p3"

    def score(self, task, problems, generations, executions) -> dict:
        module_of = {p.id: p.meta["module"] for p in problems}
        outcomes: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        for execution in executions:
            outcomes[execution.problem_id].append((execution.sample_index, execution.status is Status.PASSED))
        by_module: dict[str, list[str]] = defaultdict(list)
        for problem_id in sorted(outcomes):
            by_module[module_of[problem_id]].append(problem_id)
        per_module = {}
        for module, ids in sorted(by_module.items()):
            totals = [len(outcomes[i]) for i in ids]
            corrects = [sum(passed for _, passed in outcomes[i]) for i in ids]
            per_module[module] = {"puzzles": len(ids), "solved": sum(c > 0 for c in corrects),
                                  **pass_at_ks(totals, corrects, report_ks(min(totals)))}
        first_success = {pid: min((i for i, passed in samples if passed), default=None)
                         for pid, samples in outcomes.items()}
        attempts = max((len(samples) for samples in outcomes.values()), default=0)
        return {"per_module": per_module,
                "attempts_to_first_success": first_success_curve(first_success, attempts)}

    def columns(self, result: dict) -> list[Column]:
        within = result["attempts_to_first_success"]["solved_within"]
        return [Column(f"P3 solved within {k.removeprefix('pass@')}", share, percent=True)
                for k, share in within.items()]

    def primary_metric(self, result: dict) -> str | None:
        attempts = result["attempts_to_first_success"]["attempts"]
        return f"P3 solved within {attempts}" if attempts else None

    def report(self, result: dict) -> list:
        return [summary_line(result)]

    def charts(self, result: dict) -> list[Chart]:
        curve = result["attempts_to_first_success"]["curve"]
        return [Chart("p3_first_success", "curve", "P3: puzzles solved within k attempts", "k",
                      "solved (%)", [[k, 100 * share, None, None] for k, share in curve])]


def summary_line(metrics: dict) -> str:
    curve = metrics["attempts_to_first_success"]
    within = ", ".join(f"{k} {100 * v:.2f}%" for k, v in curve["solved_within"].items())
    return (f"P3: {curve['solved']}/{curve['puzzles']} puzzles solved; share solved within the first k "
            f"attempts (the bootstrap measure): {within}")
