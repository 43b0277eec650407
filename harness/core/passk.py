"""Unbiased pass@k (Chen et al., 2021) with bootstrap confidence intervals over problems."""

from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) is correct.

    1 - C(n-c, k) / C(n, k), computed as a product to stay exact for large n.
    """
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_matrix(totals: np.ndarray, corrects: np.ndarray, ks: list[int]) -> np.ndarray:
    """Per-problem pass@k: rows are problems, columns are ks."""
    return np.array([[pass_at_k(int(n), int(c), k) for k in ks]
                     for n, c in zip(totals, corrects)])


def bootstrap_interval(per_problem: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap of the mean over problems, for every column at once."""
    problems = per_problem.shape[0]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(problems, np.full(problems, 1.0 / problems),
                              size=BOOTSTRAP_RESAMPLES) / problems
    means = weights @ per_problem
    tail = (1.0 - CONFIDENCE) / 2 * 100
    return np.percentile(means, tail, axis=0), np.percentile(means, 100 - tail, axis=0)


def pass_at_k_table(totals: list[int], corrects: list[int]) -> dict[str, dict]:
    """pass@k for every k up to the smallest sample count, each with its 95% CI."""
    if not totals:
        return {}
    totals_array, corrects_array = np.asarray(totals), np.asarray(corrects)
    ks = list(range(1, int(totals_array.min()) + 1))
    per_problem = pass_at_k_matrix(totals_array, corrects_array, ks)
    low, high = bootstrap_interval(per_problem)
    means = per_problem.mean(axis=0)
    return {
        f"pass@{k}": {"value": float(means[i]), "ci_low": float(low[i]), "ci_high": float(high[i])}
        for i, k in enumerate(ks)
    }
