"""B4 against a direct evaluation of its formula, and the paper's generative model."""

from math import lgamma

import numpy as np
import pytest
from codeharness.scorers import selectors
from codeharness.scorers.b4 import ALPHA_XY, BETA0, b4_scores
from codeharness.scorers.groups import consensus_groups


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


# Rows 0, 3, 4 pass t0 and fail t1; row 2 passes both; row 1 passes neither.
PRIOR_SENSITIVE = np.array([[1, 0], [0, 0], [1, 1], [1, 0], [1, 0]], dtype=bool)


def test_default_priors_are_the_papers():
    # B4's defaults, alpha_xy = 1e3 and beta0 = 1e4 (as the README and `select` state),
    # score exactly as when passed explicitly, everywhere they are a default.
    rng = np.random.default_rng(11)
    for _ in range(50):
        groups = consensus_groups(random_matrix(rng))
        np.testing.assert_array_equal(b4_scores(groups), b4_scores(groups, 1e3, 1e4))
    assert (ALPHA_XY, BETA0) == (1e3, 1e4)


def test_default_beta0_decides_which_set_is_picked():
    # With beta0 = 1e4 the prior all but forbids wrong solutions passing wrong tests, so the
    # three rows that call t1 wrong (row 2 passes it) lose to row 2 alone; with beta0 = 1e3
    # the larger set wins. The default must give the first answer.
    assert selectors.b4(PRIOR_SENSITIVE).tolist() == [2]
    assert selectors.b4(PRIOR_SENSITIVE, beta0=1e4).tolist() == [2]
    assert selectors.b4(PRIOR_SENSITIVE, beta0=1e3).tolist() == [0, 3, 4]


def test_groups_of_a_matrix_without_tests():
    # No tests: every solution is in one set (or none at all), whose row is empty.
    groups = consensus_groups(np.zeros((3, 0), bool))
    assert groups.patterns.shape == (1, 0) and groups.shape == (3, 0)
    assert groups.sizes.tolist() == [3] and groups.members.tolist() == [0, 0, 0]
    assert groups.tests_passed.tolist() == [0] and groups.test_pass_counts.tolist() == []
    empty = consensus_groups(np.zeros((0, 0), bool))
    assert empty.patterns.shape == (0, 0) and empty.sizes.tolist() == [] and empty.shape == (0, 0)


# ---------------------------------------------------------------- the authors' rule, end to end


def authors_b4(E, beta_0, alpha_xy):
    """B4's authors' strategy.B4 (ZJU-CTAG/B4), restated: one (members, log posterior) per
    distinct row, best first."""
    from scipy.special import betaln

    def bernoulli(n1, n, alpha=1.0, beta=1.0):
        return betaln(n1 + alpha, n - n1 + beta)

    ranked = []
    for layout in dict.fromkeys(tuple(row) for row in E.tolist()):
        pred_y = np.asarray(layout, dtype=bool)
        pred_x = np.array([tuple(row) == layout for row in E.tolist()])
        e1 = E[~pred_x][:, pred_y]
        e0 = E[~pred_x][:, ~pred_y]
        score = (bernoulli(pred_x.sum(), len(pred_x), alpha=alpha_xy)
                 + bernoulli(pred_y.sum(), len(pred_y), alpha=alpha_xy)
                 + bernoulli(e1.sum(), e1.size) + bernoulli(e0.sum(), e0.size, beta=beta_0))
        ranked.append((np.flatnonzero(pred_x).tolist(), score))
    return sorted(ranked, key=lambda item: item[1], reverse=True)


def authors_pass_at_1(matrices, beta_0, alpha_xy):
    """main.py's pass@1: programs that fail to load are skipped, only problems whose
    remaining programs are partly correct count, and the best score's sets (equal scores
    merged) are drawn from uniformly."""
    rates = []
    for passes, correct, runnable in matrices:
        E, truth = passes[runnable].astype(np.int8), correct[runnable]
        if not len(truth) or not 0 < truth.mean() < 1:
            continue
        ranked = authors_b4(E, beta_0, alpha_xy)
        best = [i for members, score in ranked if score == ranked[0][1] for i in members]
        rates.append(truth[best].mean())
    return float(np.mean(rates)), len(rates)


def test_selection_where_it_matters_is_the_authors_number_on_matrices_with_unrunnable_programs():
    from codeharness.pipeline.matrix import ProblemMatrix
    from codeharness.pipeline.selection import SelectionOptions, evaluate_selection

    rng = np.random.default_rng(2024)
    raw = []
    for _ in range(150):
        passes = random_matrix(rng)
        n = len(passes)
        runnable = rng.random(n) > 0.3
        passes[~runnable] = False  # a program that does not load passes nothing
        correct = (rng.random(n) < 0.5) & runnable
        raw.append((passes, correct, runnable))
    matrices = {f"p{i}": ProblemMatrix(f"p{i}", np.arange(len(p)), [f"t{j}" for j in range(p.shape[1])],
                                       p, r, {"base": c})
                for i, (p, c, r) in enumerate(raw)}
    assert sum(int((~r).sum()) for _, _, r in raw) > 100
    for beta_0 in (1e4, 1e5, 1e6):
        expected, problems = authors_pass_at_1(raw, beta_0, 1e3)
        ours = evaluate_selection(matrices, SelectionOptions(methods=("b4",), beta0=beta_0))
        matters = ours["summary"]["base"]["b4"]["selection_matters"]
        assert matters["problems"] == problems > 20
        assert matters["pass@1"] == pytest.approx(expected, abs=1e-12)
    # Kept, the broken programs form one more consensus set and the counts differ.
    kept = evaluate_selection(matrices, SelectionOptions(methods=("b4",), keep_unrunnable=True))
    assert kept["summary"]["base"]["b4"]["selection_matters"]["problems"] != problems


def test_a_beta0_sweep_is_one_table_with_a_b4_row_per_value():
    from codeharness.pipeline.matrix import ProblemMatrix
    from codeharness.pipeline.selection import SelectionOptions, evaluate_selection

    matrices = {"p": ProblemMatrix("p", np.arange(5), ["t0", "t1"], PRIOR_SENSITIVE, np.ones(5, bool),
                                   {"base": np.array([0, 0, 1, 0, 0], bool)})}
    options = SelectionOptions(methods=("b4", "codet"), beta0=(1e3, 1e4, 1e5))
    result = evaluate_selection(matrices, options)
    assert list(result["summary"]["base"]) == ["b4 beta0=1e3", "b4 beta0=1e4", "b4 beta0=1e5", "codet"]
    assert result["problems"]["p"]["pools"]["b4 beta0=1e3"] == [0, 3, 4]
    assert result["problems"]["p"]["pools"]["b4 beta0=1e4"] == [2]
    assert result["options"]["beta0"] == [1e3, 1e4, 1e5] and result["options"]["alpha_xy"] == 1e3
    both = SelectionOptions(methods=("b4",), alpha_xy=(1.0, 1e3), beta0=(1e4, 1e6))
    assert list(both.b4_settings()) == ["b4 alpha_xy=1 beta0=1e4", "b4 alpha_xy=1 beta0=1e6",
                                        "b4 alpha_xy=1e3 beta0=1e4", "b4 alpha_xy=1e3 beta0=1e6"]


@pytest.mark.parametrize("options, message", [
    (dict(beta0=(0.0,)), "--beta0 takes positive numbers"),
    (dict(alpha_xy=(float("nan"),)), "--alpha-xy takes positive numbers"),
    (dict(methods=()), "no selection method"),
])
def test_bad_selection_options_are_one_clear_line(options, message):
    from codeharness.core.errors import HarnessError
    from codeharness.pipeline.selection import SelectionOptions, parse_numbers

    with pytest.raises(HarnessError, match=message):
        SelectionOptions(**options)
    with pytest.raises(HarnessError, match="comma-separated numbers"):
        parse_numbers("1e4,lots", "beta0")
