"""Selectors: each takes one problem's pass matrix (candidates x tests, bool) and returns
the pool of candidates it would pick from. Every candidate in a top-scoring group is in the
pool, so a tie is never broken by chance; a method's pass@1 on the problem is the pool's
share of correct candidates."""

from __future__ import annotations

import numpy as np
from codeharness.scorers.b4 import ALPHA_XY, BETA0, b4_scores
from codeharness.scorers.groups import consensus_groups

# Scores closer than this (relative) are a tie: equal scores reached by different float
# operations (2·√2 and √8) must pool.
TIE_RTOL = 1e-9


def top(scores: np.ndarray) -> np.ndarray:
    """Indices of the best scores, ties included."""
    if scores.size == 0:
        return np.zeros(0, dtype=np.intp)
    best = scores.max()
    return np.flatnonzero(np.isclose(scores, best, rtol=TIE_RTOL, atol=0))


def random(passes: np.ndarray) -> np.ndarray:
    """Every candidate: a uniformly random pick."""
    return np.arange(len(passes))


def maxpass(passes: np.ndarray) -> np.ndarray:
    """The candidates that pass the most tests."""
    return top(np.asarray(passes, dtype=bool).sum(axis=1))


def mbr_exec(passes: np.ndarray) -> np.ndarray:
    """The largest consensus sets (identical pass patterns)."""
    groups = consensus_groups(passes)
    return groups.solutions_in(top(groups.sizes))


def codet(passes: np.ndarray) -> np.ndarray:
    """The consensus sets with the most tests passed x √(set size)."""
    groups = consensus_groups(passes)
    return groups.solutions_in(top(groups.tests_passed * np.sqrt(groups.sizes)))


def b4(passes: np.ndarray, alpha_xy: float = ALPHA_XY, beta0: float = BETA0) -> np.ndarray:
    """The consensus sets with the highest B4 score (see codeharness.scorers.b4)."""
    groups = consensus_groups(passes)
    return groups.solutions_in(top(b4_scores(groups, alpha_xy, beta0)))


SELECTORS = {"b4": b4, "codet": codet, "mbr_exec": mbr_exec, "maxpass": maxpass,
             "random": random}
