"""pass@1 of each selector over a run's matrices: on every problem, and on the problems
where selection matters (some but not all candidates correct)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from harness.errors import HarnessError
from harness.selection.b4 import ALPHA_XY, BETA0
from harness.selection.matrix import ProblemMatrix
from harness.selection.selectors import SELECTORS


@dataclass
class SelectionOptions:
    methods: tuple[str, ...] = tuple(SELECTORS)
    drop_unrunnable: bool = False  # drop candidates whose program does not even load
    alpha_xy: float = ALPHA_XY
    beta0: float = BETA0

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in SELECTORS]
        if unknown:
            raise HarnessError(f"unknown selection method(s) {', '.join(unknown)}; "
                               f"choose from {', '.join(SELECTORS)}")


def pick(method: str, passes: np.ndarray, options: SelectionOptions) -> np.ndarray:
    if method == "b4":
        return SELECTORS["b4"](passes, options.alpha_xy, options.beta0)
    return SELECTORS[method](passes)


def evaluate_selection(matrices: dict[str, ProblemMatrix], options: SelectionOptions) -> dict:
    """selection.json: the options, candidate counts, a summary per ground-truth group and
    method, and each problem's pools (candidate indices)."""
    problems = {}
    summary: dict[str, dict[str, dict]] = {}
    unrunnable = sum(int((~m.runnable).sum()) for m in matrices.values())
    groups = sorted({g for m in matrices.values() for g in m.correct})
    for problem_id, full in matrices.items():
        matrix = full.rows(full.runnable) if options.drop_unrunnable else full
        pools = {method: pick(method, matrix.passes, options) for method in options.methods}
        problems[problem_id] = {
            "candidates": len(matrix.candidates),
            "tests": len(matrix.test_ids),
            "correct": {g: int(c.sum()) for g, c in matrix.correct.items()},
            "pools": {method: matrix.candidates[pool].tolist() for method, pool in pools.items()},
        }
        for group in groups:
            correct = matrix.correct.get(group, np.zeros(len(matrix.candidates), dtype=bool))
            matters = 0 < correct.sum() < len(correct)
            for method, pool in pools.items():
                share = float(correct[pool].mean()) if len(pool) else 0.0
                totals = summary.setdefault(group, {}).setdefault(method, _empty_totals())
                _add(totals["all"], share)
                if matters:
                    _add(totals["selection_matters"], share)
    for by_method in summary.values():
        for totals in by_method.values():
            for part in totals.values():
                part["pass@1"] = part["solved"] / part["problems"] if part["problems"] else None
    return {"options": asdict(options),
            "candidates": {"total": sum(len(m.candidates) for m in matrices.values()),
                           "unrunnable": unrunnable,
                           "dropped": unrunnable if options.drop_unrunnable else 0},
            "summary": summary, "problems": problems}


def _empty_totals() -> dict:
    return {"all": {"problems": 0, "solved": 0.0}, "selection_matters": {"problems": 0, "solved": 0.0}}


def _add(part: dict, share: float) -> None:
    part["problems"] += 1
    part["solved"] += share

