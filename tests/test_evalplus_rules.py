"""EvalPlus's comparison and storage rules (tasks/evalplus_check.py) on hand-made values, with
no sandbox: special oracles by their known answers, tolerances at their edges, what is stored
of a reference output, and how a mismatch is reported. tests/test_tasks_evalplus.py runs
them on the real data in the sandbox."""

import math
import signal
import time

import pytest
from codeharness.tasks import evalplus_check as check

matches = check.output_matches


def test_oracle_helpers_by_known_answers():
    assert check.poly([1, 2, 3], 2) == 17.0  # 1 + 2*2 + 3*4
    assert check.poly([-6, 11, -6, 1], 3) == 0.0
    # base 10, height 12: slant 13, 100 + 2 * 10 * 13
    assert check.pyramid_surface_area(10, 12) == 360
    assert check.pyramid_surface_area(3, 4) == 35  # 9 + 6 * sqrt(18.25), rounded
    assert check.padded_digit_distance(123, 5) == 5  # 123 against 005
    assert check.padded_digit_distance(5, 123) == 5
    assert check.padded_digit_distance(1234, 4321) == 8


def test_special_oracles_accept_the_other_reading_only():
    assert matches("mbpp", "surface_Area", [10, 12], 360, 999, 0)
    assert not matches("mbpp", "surface_Area", [10, 12], 361, 999, 0)
    assert matches("mbpp", "digit_distance_nums", [123, 5], 5, 999, 0)
    assert not matches("mbpp", "digit_distance_nums", [123, 5], 6, 999, 0)
    assert matches("mbpp", "digit_distance_nums", [123, 5], 999, 999, 0)
    assert matches("humaneval", "find_zero", [[-6, 11, -6, 1]], 3.0, 1.0, 1e-6)
    assert not matches("humaneval", "find_zero", [[-6, 11, -6, 1]], 3.001, 1.0, 1e-6)
    assert matches("mbpp", "find_char_long", [], ["ab", "cd"], ["cd", "ab"], 0)
    assert not matches("mbpp", "find_char_long", [], ["ab"], ["cd", "ab"], 0)
    assert matches("mbpp", "text_match_three", [], object(), True, 0)
    assert matches("mbpp", "text_match_three", [], None, False, 0)
    assert not matches("mbpp", "text_match_three", [], True, False, 0)
    # Outside MBPP the names mean nothing special.
    assert not matches("humaneval", "surface_Area", [10, 12], 360, 999, 0)


def test_tolerances_at_their_edges():
    assert matches("humaneval", "f", [], 1.0 + 0.9e-6, 1.0, 0)  # the default 1e-6 for floats
    assert not matches("humaneval", "f", [], 1.0 + 1.2e-6, 1.0, 0)
    assert not matches("humaneval", "f", [], 1, 2, 0)  # integers: exact
    assert not matches("humaneval", "f", [], 10 ** 9 + 1, 10 ** 9, 0)  # no relative tolerance either
    assert not matches("humaneval", "f", [], 2, 2.5, 0.5)  # int against float: types differ
    assert matches("humaneval", "f", [], 2.4, 2.5, 0.2)
    assert check.close(1.0, 1.0 + 2e-7, 1e-7)  # atol + rtol * |expected|
    assert not check.close(1.0, 1.0 + 3e-7, 1e-7)
    assert check.close(2e7 + 1, 2e7, 0)  # rtol 1e-7 of 2e7 is 2
    assert not check.close(2e7 + 3, 2e7, 0)
    assert not check.close(math.inf, -math.inf, 1.0) and check.close(-math.inf, -math.inf, 0)
    assert not check.close(1.0, math.inf, 1.0)  # a finite output against an infinite one
    assert check.close(1.5, 1.0, 0.5, rtol=0) and not check.close(1.5, 1.0, 0.4999, rtol=0)
    assert matches("humaneval", "find_zero", [[-6, 11, -6, 1]], 3.0, 1.0, 0)  # an exact zero
    assert matches("mbpp", "f", [], 2.5, 3.0, 1)  # a task's atol of 1
    assert not check.close(math.inf, 1e308, 1e308)
    assert not check.close([1.0], (1.0, 2.0), 1.0) and check.close((1.0,), [1.0], 0)
    assert not check.close([1.0], 1.0, 1.0) and not check.close(None, 1.0, 1.0)
    assert check.is_floats(1.5) and check.is_floats([1.0, 2.0]) and check.is_floats((1.0,))
    assert not check.is_floats([]) and not check.is_floats([1.0, 2]) and not check.is_floats(1)


def test_too_long_counts_digits_items_and_text():
    assert not check.too_long("x" * 100, 100) and check.too_long("x" * 101, 100)
    assert not check.too_long(10 ** 99, 100) and check.too_long(10 ** 400, 100)
    assert check.too_long(b"y" * 101, 100)
    assert check.too_long({"k" * 60: "v" * 60}, 100) and not check.too_long({"k": "v"}, 100)
    assert check.too_long([None] * 60, 100)  # each item and its separator count
    assert not check.too_long([None] * 40, 100)
    assert check.too_long({1.5} | set(range(100)), 100)
    assert check.shorten("ab") == "'ab'" and check.shorten("x" * 400, 10) == "'xxxxxxxxx..."
    assert check.shorten("x" * 400) == "'" + "x" * 299 + "..."  # 300 characters by default
    assert check.shorten("x" * 298) == "'" + "x" * 298 + "'"
    assert check.shorten("x" * 30_000) == "'" + "x" * 299 + "..."  # written up to 100 x the limit
    assert check.shorten("x" * 30_001) == "<a str too long to show>"
    assert check.shorten(list(range(10 ** 5)), 10) == "<a list too long to show>"


def test_what_is_stored_of_a_reference_output():
    assert check.stored_form([1, (2, 3)], "humaneval", "f") == "[1, (2, 3)]"
    assert check.stored_form(float("inf"), "humaneval", "f") == "inf"
    long_text = "ab" * 6000
    assert check.stored_form(long_text, "humaneval", "f") == "sha256:" + check.digest(long_text)
    assert check.stored_form([long_text], "humaneval", "f") == "sha256:" + check.digest([long_text])
    assert check.stored_form(long_text, "humaneval", "find_zero") is None  # not compared exactly
    assert check.stored_form(long_text, "mbpp", "similar_elements") is None
    assert check.stored_form(list(range(5000)), "humaneval", "f") is None  # long, and not text
    assert check.stored_form(object(), "humaneval", "f") is None  # no literal form
    assert check.stored_form({"a": [1, {2}]}, "humaneval", "f") == "{'a': [1, {2}]}"
    assert check.stored_form({"a": object()}, "humaneval", "f") is None
    # Stored up to 10,000 characters of repr; text digested up to 20,000,000 characters.
    at_limit = "x" * (check.LONGEST_STORED_OUTPUT - 2)
    assert check.LONGEST_STORED_OUTPUT == 10_000 and check.LONGEST_DIGESTED_OUTPUT == 20_000_000
    assert check.stored_form(at_limit, "humaneval", "f") == repr(at_limit)
    assert check.stored_form(at_limit + "x", "humaneval", "f").startswith("sha256:")
    huge = "y" * 20_000_000
    assert check.stored_form(huge, "humaneval", "f") == "sha256:" + check.digest(huge)
    assert check.stored_form(huge + "y", "humaneval", "f") is None
    assert check.is_text(("a", b"b", ["c"])) and not check.is_text(["a", 1]) and not check.is_text(None)
    assert check.compared_exactly("mbpp", "f") and not check.compared_exactly("mbpp", "surface_Area")
    assert not check.compared_exactly("mbpp", "check_str") and check.compared_exactly("humaneval", "f")


def test_observed_and_reference_outputs():
    assert check.observed("mbpp", "check_str", None) is False
    assert check.observed("mbpp", "check_str", "match") is True
    assert check.observed("humaneval", "check_str", None) is None
    outputs = check.reference_outputs(lambda n: [n] * n, "humaneval", "f", [[2], [0]])
    assert [stored for stored, _ in outputs] == ["[2, 2]", "[]"]
    assert all(seconds >= 0 for _, seconds in outputs)
    reference = check.load_reference("def f(n):\n    return n + 1\n", "f")
    assert reference(1) == 2 and reference.__globals__["__name__"] == "__reference__"


def test_check_outputs_names_the_first_wrong_input():
    def add(a, b):
        return a + b if a < 3 else 0

    scope = check.check_outputs.__globals__
    inputs = [[1, 1], [2, 2], [3, 3], [4, 4]]
    check.check_outputs(add, "humaneval", "add", inputs[:2], [2, 4], [1.0] * 2, 0, 0)
    assert scope["__result__"] is None  # every input matched
    with pytest.raises(AssertionError, match=r"^input #12: expected 6, got 0$"):
        check.check_outputs(add, "humaneval", "add", inputs, [2, 4, 6, 8], [1.0] * 4, 0, 10)
    assert scope["__result__"] == 12
    # Expected outputs not stored (...) come from the reference, or from a digest.
    check.check_outputs(add, "humaneval", "add", inputs[:2], [..., ...], [1.0] * 2, 0, 0,
                        reference=lambda a, b: a + b)
    text = lambda n: "ab" * n  # noqa: E731
    check.check_outputs(text, "humaneval", "t", [[3]], [...], [1.0], 0, 5,
                        digests={5: check.digest("ababab")})
    with pytest.raises(AssertionError, match="too long to show"):
        check.check_outputs(text, "humaneval", "t", [[3]], [...], [1.0], 0, 5,
                            digests={5: check.digest("bababa")})


def test_call_within_keeps_the_outer_budget():
    outer = signal.getitimer(signal.ITIMER_REAL)[0]  # pytest-timeout's own alarm, if any
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError()))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
        assert check.call_within(5, lambda x: x + 1, [1]) == 2
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0  # no alarm left without a budget
        with pytest.raises(TimeoutError):  # without an outer budget, the limit alone
            check.call_within(0.05, time.sleep, [0.5])
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
        signal.setitimer(signal.ITIMER_REAL, 30)
        assert check.call_within(5, time.sleep, [0.05]) is None
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 29 < left < 29.99  # the outer budget, less the call's time
        with pytest.raises(TimeoutError):
            check.call_within(0.05, lambda: [None for _ in iter(int, 1)], [])
        signal.setitimer(signal.ITIMER_REAL, 0)

        def stubborn():  # outlives the outer budget, catching its alarm
            try:
                time.sleep(0.3)
            except TimeoutError:
                time.sleep(0.05)
            return "done"

        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(TimeoutError):  # the spent budget fires again at once
            check.call_within(5, stubborn, [])
            time.sleep(0.2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        signal.setitimer(signal.ITIMER_REAL, outer)
