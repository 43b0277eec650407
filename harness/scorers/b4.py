"""B4 (Chen et al., ASE 2024): rank consensus sets by the log posterior of "this set is the
correct solutions and the tests it passes are the correct tests".

For a consensus set G (identical rows of the N x M pass matrix) passing ny tests:

    lnB(|G| + a, N - |G| + 1) + lnB(ny + a, M - ny + 1)
      + lnB(k1 + 1, m1 - k1 + 1) + lnB(k0 + 1, m0 - k0 + beta0)

with a = alpha_xy, k1 / m1 the passes / pairs of the other solutions on the tests G passes,
and k0 / m0 the same on the tests G fails. Everything is computed once per distinct row:
the passes of the other solutions on G's tests come from one product of the distinct rows
with the per-test pass counts.
"""

from __future__ import annotations

import numpy as np
from codeharness.scorers.groups import ConsensusGroups
from scipy.special import betaln

ALPHA_XY = 1e3
BETA0 = 1e4


def b4_scores(groups: ConsensusGroups, alpha_xy: float = ALPHA_XY,
              beta0: float = BETA0) -> np.ndarray:
    """The B4 score of each consensus set."""
    n, m = groups.shape
    sizes = groups.sizes
    passed = groups.tests_passed
    others = n - sizes
    passes_on_own_tests = groups.patterns @ groups.test_pass_counts
    k1 = passes_on_own_tests - sizes * passed
    k0 = groups.test_pass_counts.sum() - passes_on_own_tests
    m1 = others * passed
    m0 = others * (m - passed)
    return (betaln(sizes + alpha_xy, others + 1) + betaln(passed + alpha_xy, m - passed + 1)
            + betaln(k1 + 1, m1 - k1 + 1) + betaln(k0 + 1, m0 - k0 + beta0))
