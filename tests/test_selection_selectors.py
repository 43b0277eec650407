"""Each selector on hand-built matrices whose answer is known by construction."""

import numpy as np
import pytest
from codeharness.core.errors import HarnessError
from codeharness.pipeline.matrix import ProblemMatrix
from codeharness.pipeline.selection import SelectionOptions, evaluate_selection
from codeharness.scorers import selectors


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
    # A real case: 2 identical rows passing tests 1-3 and 18 identical rows passing test 4.
    # CodeT scores them 3 x sqrt(2) and 1 x sqrt(18), equal in exact arithmetic but one
    # bit apart in floats, so the pool must take both sets.
    assert 3 * np.sqrt(2) != 1 * np.sqrt(18)
    passes = matrix(*[[1, 1, 1, 0]] * 2, *[[0, 0, 0, 1]] * 18)
    assert pool("codet", passes) == list(range(20))
    # A set ahead by one test in a hundred thousand is no tie.
    assert selectors.top(np.array([1.0, 1.0 - 1e-5, 1.0 - 1e-12])).tolist() == [0, 2]
    assert selectors.top(np.array([-3.0, -3.0 * (1 + 1e-12), -3.0 * (1 + 1e-6)])).tolist() == [0, 1]


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


def test_programs_that_fail_to_load_are_left_out_by_default_and_kept_on_request():
    # Three broken programs (all-zero rows) outvote one working solution under MBR-exec
    # unless they are left out, as B4's authors' code does (main.py skips every program
    # whose run did not finish loading).
    passes = matrix([1, 1], [0, 0], [0, 0], [0, 0], [1, 0])
    matrices = {"p": problem(passes, [1, 0, 0, 0, 0], runnable=[1, 0, 0, 0, 1])}
    dropped = evaluate_selection(matrices, SelectionOptions(methods=("mbr_exec",)))
    kept = evaluate_selection(matrices, SelectionOptions(methods=("mbr_exec",), keep_unrunnable=True))
    assert kept["summary"]["base"]["mbr_exec"]["all"]["solved"] == 0.0
    assert dropped["summary"]["base"]["mbr_exec"]["all"]["solved"] == 0.5  # {0, 4} tie
    assert kept["candidates"] == {"total": 5, "unrunnable": 3, "dropped": 0,
                                  "problems_left_without_candidates": 0}
    assert dropped["candidates"] == {"total": 5, "unrunnable": 3, "dropped": 3,
                                     "problems_left_without_candidates": 0}
    assert dropped["options"]["keep_unrunnable"] is False and kept["options"]["keep_unrunnable"] is True
    assert dropped["problems"]["p"]["pools"]["mbr_exec"] == [0, 4]
    # Where selection matters is decided on the programs that remain: here 1 of 2 is right.
    assert dropped["problems"]["p"]["candidates"] == 2


def test_a_problem_left_without_candidates_counts_as_unsolved():
    matrices = {"p": problem(matrix([0, 0]), [1], runnable=[0]),
                "q": problem(matrix([1, 0]), [1])}
    result = evaluate_selection(matrices, SelectionOptions())
    assert result["summary"]["base"]["b4"]["all"] == {"problems": 2, "solved": 1.0, "pass@1": 0.5}
    assert result["candidates"]["problems_left_without_candidates"] == 1


def test_unknown_method_is_a_clear_error():
    with pytest.raises(HarnessError, match="unknown selection method"):
        SelectionOptions(methods=("b5",))


def test_selection_uses_b4s_default_priors_unless_told():
    # Rows 0, 3, 4 pass t0 and fail t1; row 2 passes both: B4 with its default beta0 = 1e4
    # picks row 2, with beta0 = 1e3 the three (tests/test_b4.py).
    passes = matrix([1, 0], [0, 0], [1, 1], [1, 0], [1, 0])
    matrices = {"p": problem(passes, [0, 0, 1, 0, 0])}
    default = evaluate_selection(matrices, SelectionOptions(methods=("b4",)))
    assert default["options"]["alpha_xy"] == 1e3 and default["options"]["beta0"] == 1e4
    assert default["problems"]["p"]["pools"]["b4"] == [2]
    assert default["summary"]["base"]["b4"]["all"]["pass@1"] == 1.0
    told = evaluate_selection(matrices, SelectionOptions(methods=("b4",), beta0=1e3))
    assert told["problems"]["p"]["pools"]["b4"] == [0, 3, 4]
    assert told["summary"]["base"]["b4"]["all"]["pass@1"] == 0.0


def test_one_correct_candidate_among_several_is_where_selection_matters():
    matrices = {"p": problem(matrix([1, 1], [1, 0], [0, 0]), [1, 0, 0]),
                "all": problem(matrix([1, 1], [1, 0]), [1, 1])}
    summary = evaluate_selection(matrices, SelectionOptions(methods=("maxpass",)))["summary"]["base"]
    assert summary["maxpass"]["selection_matters"] == {"problems": 1, "solved": 1.0, "pass@1": 1.0}
    assert summary["maxpass"]["all"] == {"problems": 2, "solved": 2.0, "pass@1": 1.0}
