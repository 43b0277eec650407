"""pass@1 of each selector over a run's matrices: on every problem, and on the problems
where selection matters (some but not all candidates correct).

As in B4's authors' code (ZJU-CTAG/B4, main.py), programs that fail to load (a syntax
error, an exception or a timeout before any test runs) are left out before anything is
selected; `keep_unrunnable` keeps them as rows that pass nothing. B4's priors may be swept:
every (α_xy, β0) pair is a method of its own in the same table, as the authors' `--beta_0_range`
and `--alpha_xy_range` do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from codeharness.core.errors import HarnessError
from codeharness.pipeline.matrix import ProblemMatrix
from codeharness.scorers.b4 import ALPHA_XY, BETA0
from codeharness.scorers.selectors import SELECTORS, b4

B4 = "b4"


@dataclass
class SelectionOptions:
    methods: tuple[str, ...] = tuple(SELECTORS)
    keep_unrunnable: bool = False  # the authors' code leaves out programs that do not load
    alpha_xy: float | tuple[float, ...] = ALPHA_XY  # one value, or several to sweep
    beta0: float | tuple[float, ...] = BETA0

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in SELECTORS]
        if unknown:
            raise HarnessError(f"unknown selection method(s) {', '.join(unknown)}; "
                               f"choose from {', '.join(SELECTORS)}")
        if not self.methods:
            raise HarnessError("no selection method given; choose from " + ", ".join(SELECTORS))
        for name, values in (("alpha-xy", self.alpha_values), ("beta0", self.beta0_values)):
            bad = [v for v in values if not (math.isfinite(v) and v > 0)]
            if bad or not values:
                raise HarnessError(f"--{name} takes positive numbers, got {', '.join(map(str, bad)) or 'none'}")

    @property
    def alpha_values(self) -> tuple[float, ...]:
        return _values(self.alpha_xy)

    @property
    def beta0_values(self) -> tuple[float, ...]:
        return _values(self.beta0)

    def b4_settings(self) -> dict[str, tuple[float, float]]:
        """Each B4 method's name and its (α_xy, β0): `b4` alone, or one name per pair of a sweep."""
        alphas, betas = self.alpha_values, self.beta0_values
        if len(alphas) == 1 and len(betas) == 1:
            return {B4: (alphas[0], betas[0])}
        settings = {}
        for alpha in alphas:
            for beta in betas:
                parts = ([f"alpha_xy={short_number(alpha)}"] if len(alphas) > 1 else []) + \
                        ([f"beta0={short_number(beta)}"] if len(betas) > 1 else [])
                settings[f"{B4} {' '.join(parts)}"] = (alpha, beta)
        return settings

    def labels(self) -> list[str]:
        """The table's methods in order: a B4 sweep takes B4's place."""
        return [label for method in self.methods
                for label in (self.b4_settings() if method == B4 else [method])]

    def to_dict(self) -> dict:
        return {"methods": list(self.methods), "keep_unrunnable": self.keep_unrunnable,
                "alpha_xy": _stored(self.alpha_values), "beta0": _stored(self.beta0_values)}


def _values(value: float | tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else (float(value),)


def _stored(values: tuple[float, ...]) -> float | list[float]:
    return values[0] if len(values) == 1 else list(values)


def short_number(value: float) -> str:
    """1e4 for 10000.0, 0.5 for 0.5: how the README and the authors write priors."""
    if value > 0 and value >= 1000 and float(math.log10(value)).is_integer():
        return f"1e{int(math.log10(value))}"
    return f"{value:g}"


def parse_numbers(text: str, option: str) -> tuple[float, ...]:
    """`1e4,1e5,1e6` -> (10000.0, 100000.0, 1000000.0); anything else is one clear line."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise HarnessError(f"--{option} takes a number or comma-separated numbers (1e4,1e5,1e6), "
                           f"got {text!r}") from None
    if not values:
        raise HarnessError(f"--{option} takes a number or comma-separated numbers, got {text!r}")
    return values


def pick(method: str, passes: np.ndarray, options: SelectionOptions) -> np.ndarray:
    settings = options.b4_settings()
    if method in settings:
        alpha_xy, beta0 = settings[method]
        return b4(passes, alpha_xy, beta0)
    return SELECTORS[method](passes)


def evaluate_selection(matrices: dict[str, ProblemMatrix], options: SelectionOptions) -> dict:
    """selection.json: the options, candidate counts, a summary per ground-truth group and
    method, and each problem's pools (candidate indices)."""
    problems = {}
    summary: dict[str, dict[str, dict]] = {}
    unrunnable = sum(int((~m.runnable).sum()) for m in matrices.values())
    groups = sorted({g for m in matrices.values() for g in m.correct})
    labels = options.labels()
    left_without = 0
    for problem_id, full in matrices.items():
        matrix = full if options.keep_unrunnable else full.rows(full.runnable)
        left_without += bool(len(full.candidates)) and not len(matrix.candidates)
        pools = {label: pick(label, matrix.passes, options) for label in labels}
        problems[problem_id] = {
            "candidates": len(matrix.candidates),
            "tests": len(matrix.test_ids),
            "correct": {g: int(c.sum()) for g, c in matrix.correct.items()},
            "pools": {label: matrix.candidates[pool].tolist() for label, pool in pools.items()},
        }
        for group in groups:
            correct = matrix.correct.get(group, np.zeros(len(matrix.candidates), dtype=bool))
            matters = 0 < correct.sum() < len(correct)
            for label, pool in pools.items():
                share = float(correct[pool].mean()) if len(pool) else 0.0
                totals = summary.setdefault(group, {}).setdefault(label, _empty_totals())
                _add(totals["all"], share)
                if matters:
                    _add(totals["selection_matters"], share)
    for by_method in summary.values():
        for totals in by_method.values():
            for part in totals.values():
                part["pass@1"] = part["solved"] / part["problems"] if part["problems"] else None
    return {"options": options.to_dict(),
            "candidates": {"total": sum(len(m.candidates) for m in matrices.values()),
                           "unrunnable": unrunnable,
                           "dropped": 0 if options.keep_unrunnable else unrunnable,
                           "problems_left_without_candidates": 0 if options.keep_unrunnable else int(left_without)},
            "summary": summary, "problems": problems}


def _empty_totals() -> dict:
    return {"all": {"problems": 0, "solved": 0.0}, "selection_matters": {"problems": 0, "solved": 0.0}}


def _add(part: dict, share: float) -> None:
    part["problems"] += 1
    part["solved"] += share
