"""P3's metrics on hand-made executions: pass@k per puzzle module and the attempts-to-first-
success curve (tests/test_p3_fidelity.py checks both against the paper's run)."""

from types import SimpleNamespace

import pytest
from codeharness.core.records import Execution, Status
from codeharness.scorers.p3 import P3Scorer, first_success_curve, report_ks, summary_line


def test_report_ks():
    assert report_ks(0) == []
    assert report_ks(1) == [1]
    assert report_ks(3) == [1, 3]
    assert report_ks(10) == [1, 10]
    assert report_ks(250) == [1, 10, 100, 250]
    assert report_ks(1000) == [1, 10, 100, 1000]


def executions(outcomes: dict[str, str]) -> list[Execution]:
    """puzzle id -> its samples' outcomes in order, 'p' passed, anything else failed."""
    return [Execution("p3", puzzle, index, Status.PASSED if o == "p" else Status.FAILED,
                      {"base": Status.PASSED if o == "p" else Status.FAILED})
            for puzzle, samples in outcomes.items() for index, o in enumerate(samples)]


def test_per_module_pass_at_k_and_first_successes():
    problems = [SimpleNamespace(id="a", meta={"module": "m1"}), SimpleNamespace(id="b", meta={"module": "m1"}),
                SimpleNamespace(id="c", meta={"module": "m2"})]
    # a: first success at attempt 2; b: never; c: at attempt 1 (and never again).
    result = P3Scorer().score(None, problems, [], executions({"a": "fpp", "b": "fff", "c": "pff"}))
    m1, m2 = result["per_module"]["m1"], result["per_module"]["m2"]
    assert (m1["puzzles"], m1["solved"], m2["puzzles"], m2["solved"]) == (2, 1, 1, 1)
    assert set(m1) == {"puzzles", "solved", "pass@1", "pass@3"}
    assert m1["pass@1"]["value"] == pytest.approx((2 / 3 + 0) / 2)
    assert m1["pass@3"]["value"] == pytest.approx(0.5)
    assert m2["pass@1"]["value"] == pytest.approx(1 / 3) and m2["pass@3"]["value"] == 1.0
    for metric in (m1["pass@1"], m1["pass@3"], m2["pass@1"]):
        assert metric["ci_low"] <= metric["value"] <= metric["ci_high"]
    curve = result["attempts_to_first_success"]
    assert (curve["puzzles"], curve["solved"], curve["attempts"]) == (3, 2, 3)
    assert curve["solved_within"] == {"pass@1": pytest.approx(1 / 3), "pass@3": pytest.approx(2 / 3)}
    assert curve["curve"] == [[1, pytest.approx(1 / 3)], [2, pytest.approx(2 / 3)]]
    assert P3Scorer().primary_metric(result) == "P3 solved within 3"
    columns = P3Scorer().columns(result)
    assert [(c.name, c.value, c.percent) for c in columns] == [
        ("P3 solved within 1", pytest.approx(1 / 3), True), ("P3 solved within 3", pytest.approx(2 / 3), True)]
    [chart] = P3Scorer().charts(result)
    assert (chart.id, chart.kind) == ("p3_first_success", "curve")
    assert chart.points == [[1, pytest.approx(100 / 3), None, None], [2, pytest.approx(200 / 3), None, None]]
    assert summary_line(result) == ("P3: 2/3 puzzles solved; share solved within the first k attempts "
                                    "(the bootstrap measure): pass@1 33.33%, pass@3 66.67%")


def test_the_scorer_is_registered():
    from codeharness.core import registry

    assert registry.scorers.get("p3") is P3Scorer


def test_a_run_without_executions():
    result = P3Scorer().score(None, [], [], [])
    assert result["per_module"] == {}
    assert result["attempts_to_first_success"] == {"puzzles": 0, "solved": 0, "attempts": 0,
                                                   "solved_within": {}, "curve": []}
    assert P3Scorer().primary_metric(result) is None


def test_first_success_curve_counts_a_success_within_k_attempts():
    # 0-based first successes 0, 0, 4 and 9 in 10 attempts; one puzzle never solved.
    curve = first_success_curve({"a": 0, "b": 0, "c": 4, "d": 9, "e": None}, 10)
    assert curve["solved_within"] == {"pass@1": 0.4, "pass@10": 0.8}
    assert curve["curve"] == [[1, 0.4], [5, 0.6], [10, 0.8]]
    assert (curve["puzzles"], curve["solved"], curve["attempts"]) == (5, 4, 10)
    # Every success at the first attempt: the curve is its first point.
    assert first_success_curve({"a": 0, "b": None}, 3)["curve"] == [[1, 0.5]]
    assert first_success_curve({}, 0) == {"puzzles": 0, "solved": 0, "attempts": 0,
                                          "solved_within": {}, "curve": []}
