"""B4 against a direct evaluation of its formula, and the paper's generative model."""

from math import lgamma

import numpy as np
import pytest

from harness.selection import selectors
from harness.selection.b4 import b4_scores
from harness.selection.groups import consensus_groups


def ln_beta(a, b):
    return lgamma(a) + lgamma(b) - lgamma(a + b)


def direct_b4_score(passes, solution, alpha_xy, beta0):
    """The formula evaluated for the consensus set of one solution, one pair at a time."""
    n, m = passes.shape
    row = passes[solution]
    members = [i for i in range(n) if (passes[i] == row).all()]
    others = [i for i in range(n) if i not in members]
    passed = [j for j in range(m) if row[j]]
    failed = [j for j in range(m) if not row[j]]
    k1 = sum(int(passes[i, j]) for i in others for j in passed)
    k0 = sum(int(passes[i, j]) for i in others for j in failed)
    m1, m0 = len(others) * len(passed), len(others) * len(failed)
    return (ln_beta(len(members) + alpha_xy, n - len(members) + 1)
            + ln_beta(len(passed) + alpha_xy, m - len(passed) + 1)
            + ln_beta(k1 + 1, m1 - k1 + 1) + ln_beta(k0 + 1, m0 - k0 + beta0))


def random_matrix(rng):
    n, m = rng.integers(1, 13), rng.integers(0, 9)
    prototypes = rng.random((rng.integers(1, 5), m)) < rng.random()
    passes = prototypes[rng.integers(0, len(prototypes), n)]  # repeated rows form sets
    flips = rng.random((n, m)) < rng.choice([0.0, 0.1, 0.3])
    return passes ^ flips


@pytest.mark.parametrize("alpha_xy, beta0", [(1e3, 1e4), (1.0, 1.0), (0.5, 50.0)])
def test_scores_and_pools_match_the_formula_evaluated_directly(alpha_xy, beta0):
    rng = np.random.default_rng(int(alpha_xy * 7 + beta0))
    for _ in range(300):
        passes = random_matrix(rng)
        groups = consensus_groups(passes)
        direct = np.array([direct_b4_score(passes, i, alpha_xy, beta0) for i in range(len(passes))])
        np.testing.assert_allclose(b4_scores(groups, alpha_xy, beta0)[groups.members], direct,
                                   rtol=1e-10)
        best = direct.max()
        expected = [i for i in range(len(passes)) if abs(direct[i] - best) <= 1e-9 * abs(best)]
        assert sorted(selectors.b4(passes, alpha_xy, beta0).tolist()) == expected


def test_groups_are_the_identical_rows():
    rng = np.random.default_rng(3)
    for _ in range(100):
        passes = random_matrix(rng)
        groups = consensus_groups(passes)
        for i in range(len(passes)):
            same = [j for j in range(len(passes)) if (passes[j] == passes[i]).all()]
            assert groups.solutions_in(np.array([groups.members[i]])).tolist() == same
            assert (groups.patterns[groups.members[i]] == passes[i]).all()
        assert groups.sizes.sum() == len(passes)


def simulate(rng, n=10, m=30, theta_x=0.2, theta_y=0.3, theta_0=0.1, theta_1=0.4):
    """The B4 paper's generative model under its consistency assumption: a correct solution
    passes exactly the correct tests; a wrong one passes a correct test with probability
    theta_1 and a wrong test with probability theta_0."""
    correct = rng.random(n) < theta_x
    valid = rng.random(m) < theta_y
    draws = rng.random((n, m))
    wrong_passes = np.where(valid, draws < theta_1, draws < theta_0)
    return np.where(correct[:, None], valid[None, :], wrong_passes), correct


def test_expected_accuracy_orders_b4_codet_mbr_exec_maxpass_random():
    rng = np.random.default_rng(2024)
    order = ["b4", "codet", "mbr_exec", "maxpass", "random"]
    trials = 2000
    accuracy = {name: np.zeros(trials) for name in order}
    for trial in range(trials):
        passes, correct = simulate(rng)
        for name in order:
            accuracy[name][trial] = correct[selectors.SELECTORS[name](passes)].mean()
    for better, worse in zip(order, order[1:]):
        difference = accuracy[better] - accuracy[worse]  # paired over the same matrices
        standard_error = difference.std(ddof=1) / np.sqrt(trials)
        assert difference.mean() > 4 * standard_error, (better, worse, difference.mean(), standard_error)
