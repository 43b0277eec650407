"""Each selector on hand-built matrices whose answer is known by construction."""

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.selection import selectors
from harness.selection.evaluate import SelectionOptions, evaluate_selection
from harness.selection.matrix import ProblemMatrix


def matrix(*rows):
    return np.array(rows, dtype=bool)


# One solution passing 4 tests; 4 identical ones passing 3; 5 identical ones passing none.
LAYERED = matrix([1, 1, 1, 1, 0, 0], *[[1, 1, 1, 0, 0, 0]] * 4, *[[0] * 6] * 5)


def pool(method, passes, **options):
    return sorted(selectors.SELECTORS[method](passes, **options).tolist())


def test_maxpass_takes_the_most_passes():
    assert pool("maxpass", LAYERED) == [0]


def test_mbr_exec_takes_the_largest_identical_group():
    assert pool("mbr_exec", LAYERED) == [5, 6, 7, 8, 9]


def test_codet_weighs_tests_by_root_of_group_size():
    # 4 x sqrt(1) = 4 < 3 x sqrt(4) = 6 > 0 x sqrt(5)
    assert pool("codet", LAYERED) == [1, 2, 3, 4]


def test_random_pools_every_candidate():
    assert pool("random", LAYERED) == list(range(10))


def test_b4_trusts_agreeing_solutions_over_one_more_test():
    # CodeT and MaxPass take row 4 (3 tests x sqrt(1) > 2 x sqrt(2)); B4 takes the agreeing
    # pair 1, 3: both hypotheses see 2 passes of the other solutions on tests they call
    # wrong, and B4's prior values the second agreeing solution above the third test.
    passes = matrix([0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0], [0, 1, 0, 1], [1, 0, 1, 1])
    assert pool("codet", passes) == [4]
    assert pool("maxpass", passes) == [4]
    assert pool("b4", passes) == [1, 3]


def test_b4_penalizes_a_set_whose_failed_tests_others_pass():
    # Rows 0-1 pass t0, t1 and fail t2, t3, which rows 2-4 all pass: if rows 0-1 were right,
    # t2, t3 would be wrong tests that wrong solutions pass 6 times out of 6. Rows 2-4
    # passing t2, t3 and failing t0, t1 (passed by 2 of 2 others) is taken instead,
    # though every set passes 2 tests.
    passes = matrix([1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1])
    assert pool("b4", passes) == [2, 3, 4]


def test_b4_parameters_change_the_answer():
    # With a tiny beta0 the prior no longer expects wrong solutions to fail wrong tests,
    # and with a small alpha_xy it no longer prefers large sets passing many tests.
    passes = matrix([0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0], [0, 1, 0, 1], [1, 0, 1, 1])
    assert pool("b4", passes) != pool("b4", passes, alpha_xy=1.0, beta0=1.0)


@pytest.mark.parametrize("method", ["maxpass", "codet", "b4"])
def test_ties_pool_every_top_candidate(method):
    # Two distinct rows with the same score under every method: mirror images.
    passes = matrix([1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0])
    assert pool(method, passes) == [0, 1]


def test_mbr_exec_ties_pool_both_groups():
    passes = matrix([1, 0], [1, 0], [0, 1], [0, 1], [1, 1])
    assert pool("mbr_exec", passes) == [0, 1, 2, 3]


def test_codet_ties_reached_by_different_float_operations_pool():
    # 6 tests x sqrt(6) and 3 tests x sqrt(24) are equal; in floats they differ in the
    # last bit.
    six = [1] * 6 + [0] * 3
    three = [0] * 6 + [1] * 3
    passes = matrix(*[six] * 6, *[three] * 24)
    assert pool("codet", passes) == list(range(30))


@pytest.mark.parametrize("method", list(selectors.SELECTORS))
def test_degenerate_matrices(method):
    assert pool(method, np.zeros((0, 3), bool)) == []
    assert pool(method, np.zeros((3, 0), bool)) == [0, 1, 2]


def problem(passes, correct, runnable=None):
    passes = np.asarray(passes, dtype=bool)
    n = len(passes)
    runnable = np.ones(n, bool) if runnable is None else np.asarray(runnable, bool)
    return ProblemMatrix("p", np.arange(n), [f"t{j}" for j in range(passes.shape[1])], passes,
                         runnable, {"base": np.asarray(correct, bool)})


def test_pass_at_1_counts_all_problems_and_those_where_selection_matters():
    matrices = {
        "layered": problem(LAYERED, [0, 1, 1, 1, 1, 0, 0, 0, 0, 0]),  # codet right, maxpass wrong
        "all_right": problem(matrix([1], [0]), [1, 1]),  # selection cannot matter
        "none_right": problem(matrix([1], [0]), [0, 0]),
    }
    summary = evaluate_selection(matrices, SelectionOptions())["summary"]["base"]
    assert summary["codet"]["all"] == {"problems": 3, "solved": 2.0, "pass@1": 2 / 3}
    assert summary["codet"]["selection_matters"] == {"problems": 1, "solved": 1.0, "pass@1": 1.0}
    assert summary["maxpass"]["selection_matters"]["pass@1"] == 0.0
    assert summary["random"]["selection_matters"]["pass@1"] == pytest.approx(0.4)
    assert summary["mbr_exec"]["all"]["solved"] == 1.0


def test_dropping_unrunnable_candidates_is_an_option_stated_in_the_output():
    # Three broken programs (all-zero rows) outvote one working solution under MBR-exec.
    passes = matrix([1, 1], [0, 0], [0, 0], [0, 0], [1, 0])
    matrices = {"p": problem(passes, [1, 0, 0, 0, 0], runnable=[1, 0, 0, 0, 1])}
    kept = evaluate_selection(matrices, SelectionOptions(methods=("mbr_exec",)))
    dropped = evaluate_selection(matrices, SelectionOptions(methods=("mbr_exec",), drop_unrunnable=True))
    assert kept["summary"]["base"]["mbr_exec"]["all"]["solved"] == 0.0
    assert dropped["summary"]["base"]["mbr_exec"]["all"]["solved"] == 0.5  # {0, 4} tie
    assert kept["candidates"] == {"total": 5, "unrunnable": 3, "dropped": 0}
    assert dropped["candidates"] == {"total": 5, "unrunnable": 3, "dropped": 3}
    assert dropped["options"]["drop_unrunnable"] is True
    assert dropped["problems"]["p"]["pools"]["mbr_exec"] == [0, 4]


def test_a_problem_left_without_candidates_counts_as_unsolved():
    matrices = {"p": problem(matrix([0, 0]), [1], runnable=[0]),
                "q": problem(matrix([1, 0]), [1])}
    result = evaluate_selection(matrices, SelectionOptions(drop_unrunnable=True))
    assert result["summary"]["base"]["b4"]["all"] == {"problems": 2, "solved": 1.0, "pass@1": 0.5}


def test_unknown_method_is_a_clear_error():
    with pytest.raises(HarnessError, match="unknown selection method"):
        SelectionOptions(methods=("b5",))
