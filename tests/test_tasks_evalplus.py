"""HumanEval+ and MBPP+: EvalPlus's comparison rules, MBPP+ input types, loaders, expected
outputs computed in the real sandbox, base/plus verdicts and per-input time limits."""

import gzip
import json
import math
import re
import time

import pytest
from codeharness.tasks import create_task, evalplus_check
from codeharness.tasks.evalplus import BASE, PLUS
from codeharness.tasks.mbpp_plus import deserialize
from codeharness.tasks.packaged import packaged_file

from tests.hub_copies import write_hub_copy

matches = evalplus_check.output_matches


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEHARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def humaneval_plus_file():
    return str(packaged_file("HumanEvalPlus-v0.1.10.jsonl.gz"))


@pytest.fixture(scope="module")
def mbpp_plus_file():
    return str(packaged_file("MbppPlus-v0.2.0.jsonl.gz"))


# ------------------------------------------------------------------ comparison rules


def test_exact_equality_is_type_sensitive_for_containers():
    assert matches("humaneval", "f", [], [1, 2], [1, 2], 0)
    assert not matches("humaneval", "f", [], (1, 2), [1, 2], 0)
    assert matches("humaneval", "f", [], 1, 1.0, 0)  # 1 == 1.0, as in Python and EvalPlus


def test_floats_get_a_default_tolerance_and_need_the_same_type_and_length():
    assert matches("humaneval", "f", [], 0.1 + 0.2, 0.3, 0)
    assert not matches("humaneval", "f", [], 0.3001, 0.3, 0)
    assert matches("humaneval", "f", [], [1.0, 2.0000001], [1.0, 2.0], 0)
    assert not matches("humaneval", "f", [], (1.0, 2.0000001), [1.0, 2.0], 0)
    assert not matches("humaneval", "f", [], [1.0], [1.0, 2.0], 0)
    assert matches("mbpp", "f", [], 3.14159, 3.1416, 1e-4)  # a task's own atol
    assert not matches("mbpp", "f", [], 3.14, 3.1416, 1e-4)


def test_close_follows_numpy_allclose():
    assert evalplus_check.close(math.inf, math.inf, 1e-6)
    assert not evalplus_check.close(math.nan, math.nan, 1e-6)
    assert not evalplus_check.close("a", "a", 1e-6)
    assert evalplus_check.close([[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0000001]], 1e-6)
    assert evalplus_check.close(1e9 + 50, 1e9, 0)  # rtol 1e-7 of the expected value


def test_special_oracles():
    assert matches("mbpp", "similar_elements", [], (5, 4), (4, 5), 0)
    assert matches("mbpp", "check_str", [], re.match("a", "a"), True, 0)
    assert not matches("mbpp", "check_str", [], None, True, 0)
    assert matches("mbpp", "check_str", [], False, False, 0)
    # HumanEval/32: any zero of the polynomial passes.
    assert matches("humaneval", "find_zero", [[-6, 11, -6, 1]], 2.0, 1.0, 1e-4)
    assert not matches("humaneval", "find_zero", [[-6, 11, -6, 1]], 2.5, 1.0, 1e-4)
    # Mbpp/581: the other reading of "height" is accepted too.
    assert matches("mbpp", "surface_Area", [3, 4], evalplus_check.pyramid_surface_area(3, 4), 33, 1e-4)


def test_mbpp_plus_inputs_get_back_their_python_types():
    assert deserialize(2, [[3, 4], [5, 6]]) == [(3, 4), (5, 6)]
    assert deserialize(63, [[[1, 2], [3, 4]]]) == [[(1, 2), (3, 4)]]
    assert deserialize(124, [3.0, "(1+2j)"]) == [3.0, 1 + 2j]
    assert deserialize(580, [[1, [2, [3]]]]) == ((1, (2, (3,))),)
    assert deserialize(722, [{"a": [1, 2]}, 3]) == [{"a": (1, 2)}, 3]
    assert deserialize(3, [[1, 2]]) == [[1, 2]]


# ------------------------------------------------------------------ the real data


def test_loaders_count_and_convert(humaneval_plus_file, mbpp_plus_file):
    humaneval = create_task("humaneval_plus", data_path=humaneval_plus_file).load()
    mbpp = create_task("mbpp_plus", data_path=mbpp_plus_file).load()
    assert (len(humaneval), len(mbpp)) == (164, 378)
    assert sum(len(p.meta["inputs"][PLUS]) for p in humaneval) == 122683
    assert sum(len(p.meta["inputs"][BASE]) for p in mbpp) == 1174
    similar = mbpp[0]
    assert similar.id == "Mbpp/2" and similar.meta["inputs"][BASE][0] == [(3, 4, 5, 6), (5, 7, 4, 10)]
    assert similar.canonical_solution.startswith(similar.prompt)
    assert "$_CONTRACT_$" in similar.meta["contract"] and "$_CONTRACT_$" not in similar.prompt


def judge_programs(task, problem, programs: dict[str, str], sandbox) -> dict:
    jobs = [task.build_job(problem, program, name) for name, program in programs.items()]
    return {o.job_id: (task.judge(problem, o), o) for o in sandbox.run(jobs)}


def test_base_and_plus_verdicts_and_per_input_time_limits(humaneval_plus_file, local_sandbox, cache):
    task = create_task("humaneval_plus", data_path=humaneval_plus_file)
    fib = next(p for p in task.load() if p.id == "HumanEval/55")
    task.prepare([fib], local_sandbox)
    head = fib.prompt
    programs = {
        "reference": fib.canonical_solution,
        # right on the base inputs (n >= 1), wrong on the plus input 0
        "off_by_one": head + "    a, b = 1, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return a\n",
        # right, but exponential: the plus inputs go up to 72
        "slow": head + "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    }
    start = time.monotonic()
    verdicts = judge_programs(task, fib, programs, local_sandbox)
    elapsed = time.monotonic() - start

    assert verdicts["reference"][0].groups == {BASE: "passed", PLUS: "passed"}
    judgement, outcome = verdicts["off_by_one"]
    assert judgement.groups == {BASE: "passed", PLUS: "failed"}
    assert judgement.details["failed_input"] == "[0]"
    assert "expected 0, got 1" in next(t.message for t in outcome.tests if t.status.value == "failed")
    judgement, outcome = verdicts["slow"]
    assert judgement.groups == {BASE: "passed", PLUS: "timeout"}
    assert judgement.details["failed_group"] == PLUS
    # One call past its limit ends the group: no waiting for the whole test's budget.
    assert elapsed < 15, elapsed
    assert [t.status.value for t in outcome.tests if t.group == PLUS].count("timeout") == 1


def test_expected_outputs_are_cached_by_data_hash(mbpp_plus_file, local_sandbox, cache):
    first = create_task("mbpp_plus", data_path=mbpp_plus_file)
    problems = first.load()[:3]
    first.prepare(problems, local_sandbox)
    assert len(list((cache / "groundtruth").glob("mbpp_plus-*.json"))) == 1

    class NoSandbox:
        def run(self, jobs):
            raise AssertionError("the cache should have answered")

    second = create_task("mbpp_plus", data_path=mbpp_plus_file, timeout_factor=8.0)
    second_problems = second.load()[:3]
    second.prepare(second_problems, NoSandbox())
    job = second.build_job(second_problems[0], second_problems[0].canonical_solution, "x")
    plus_inputs = len(second_problems[0].meta["inputs"][PLUS])
    assert [t.name for t in job.tests] == ["base[0:3]", "plus[0:100]", f"plus[100:{plus_inputs}]"]


def test_wrong_mbpp_plus_solution_fails_plus_only(mbpp_plus_file, local_sandbox, cache):
    task = create_task("mbpp_plus", data_path=mbpp_plus_file)
    problem = next(p for p in task.load() if p.id == "Mbpp/3")  # is_not_prime
    task.prepare([problem], local_sandbox)
    forgets_one = problem.prompt + "def is_not_prime(n):\n    return any(n % i == 0 for i in range(2, n))\n"
    verdicts = judge_programs(task, problem, {"reference": problem.canonical_solution,
                                              "forgets_one": forgets_one}, local_sandbox)
    assert verdicts["reference"][0].groups == {BASE: "passed", PLUS: "passed"}
    assert verdicts["forgets_one"][0].groups == {BASE: "failed", PLUS: "failed"}


# ------------------------------------------------------------------ Hugging Face copies


def crosscheck_test(reference: str, entry_point: str, inputs: list) -> str:
    """A `test` program shaped like the hub rows' (EvalPlus's cross-checking form)."""
    return (f"{reference.replace(f'def {entry_point}(', 'def ref_func(')}\n\n"
            f"def check(candidate):\n    inputs = {inputs!r}\n"
            "    for i, inp in enumerate(inputs):\n        assert candidate(*inp) == ref_func(*inp)\n")


def test_hugging_face_copies_run_base_and_plus(tmp_path, monkeypatch, humaneval_plus_file,
                                               mbpp_plus_file, local_sandbox, cache):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    releases = [json.loads(line) for line in gzip.open(humaneval_plus_file, "rt")][:3]
    rows = [{"task_id": r["task_id"], "prompt": r["prompt"], "canonical_solution": r["canonical_solution"],
             "entry_point": r["entry_point"],
             "test": crosscheck_test(r["prompt"] + r["canonical_solution"], r["entry_point"],
                                     r["base_input"] + r["plus_input"][:50])} for r in releases]
    write_hub_copy(tmp_path / "humanevalplus", {"default": {"test": rows}})

    sanitized = {r["task_id"]: r for r in json.load(open(packaged_file("sanitized-mbpp.json")))}
    plus = [json.loads(line) for line in gzip.open(mbpp_plus_file, "rt")][:3]
    mbpp_rows = []
    for record in plus:
        original = sanitized[int(record["task_id"].split("/")[1])]
        inputs = [deserialize(int(record["task_id"].split("/")[1]), a) for a in record["plus_input"][:50]]
        mbpp_rows.append({**original, "code": record["canonical_solution"],
                          "test": crosscheck_test(record["canonical_solution"], record["entry_point"], inputs)})
    write_hub_copy(tmp_path / "mbppplus", {"default": {"test": mbpp_rows}})

    for name, path, entry_points in [("humaneval_plus", "humanevalplus", ["has_close_elements"]),
                                     ("mbpp_plus", "mbppplus", ["similar_elements"])]:
        task = create_task(name, data_path=f"hf:{tmp_path / path}")
        problems = task.load()
        assert len(problems) == 3 and problems[0].entry_point == entry_points[0]
        task.prepare(problems, local_sandbox)
        wrong = problems[0].prompt + f"def {problems[0].entry_point}(*args):\n    return ()\n"
        jobs = [task.build_job(p, task.canonical_program(p), p.id) for p in problems]
        jobs.append(task.build_job(problems[0], wrong, "wrong"))
        groups = {o.job_id: task.judge(next(p for p in problems if p.id in (o.job_id, problems[0].id)), o).groups
                  for o in local_sandbox.run(jobs)}
        assert groups.pop("wrong") == {BASE: "failed", PLUS: "failed"}
        assert all(g == {BASE: "passed", PLUS: "passed"} for g in groups.values()), groups


def test_long_outputs_are_compared_by_digest_or_recomputed(tmp_path, local_sandbox, cache):
    """Outputs over 10,000 characters are not stored: text by its digest, others recomputed
    by the reference. Each wrong program is wrong only on the long (plus) input."""
    def record(task_id, entry_point, body):
        return {"task_id": task_id, "prompt": f"def {entry_point}(n):\n    \"\"\"...\"\"\"\n",
                "entry_point": entry_point, "canonical_solution": body, "base_input": [[3]],
                "plus_input": [[5000]], "atol": 0, "contract": ""}
    data = tmp_path / "HumanEvalPlus-tiny.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        record("HumanEval/0", "halves", "    return [i / 2 for i in range(n)]\n"),
        record("HumanEval/1", "stripes", "    return 'ab' * n\n")]))
    task = create_task("humaneval_plus", data_path=str(data))
    halves, stripes = task.load()
    task.prepare([halves, stripes], local_sandbox)
    # Prepared once per worker (the suite's setup), not per sample.
    assert "reference = load_reference(" in task.build_job(halves, "", "x").suite.setup
    assert re.search(r"digests_1 = \{0: '[0-9a-f]{64}'\}", task.build_job(stripes, "", "x").suite.setup)
    wrong = [(halves, "    return [i / 2 for i in range(n)] if n < 100 else [0.5] * n\n"),
             (stripes, "    return 'ab' * n if n < 100 else 'ba' * n\n")]
    for problem, body in wrong:
        verdicts = judge_programs(task, problem, {"reference": problem.canonical_solution,
                                                  "wrong": problem.prompt + body}, local_sandbox)
        assert verdicts["reference"][0].groups == {BASE: "passed", PLUS: "passed"}
        assert verdicts["wrong"][0].groups == {BASE: "passed", PLUS: "failed"}


def test_length_of_huge_outputs_is_told_without_writing_them():
    assert evalplus_check.too_long(10 ** 200_000, 10_000)
    assert not evalplus_check.too_long([10 ** 50, "abc", {"k": (1, 2)}], 10_000)
    assert evalplus_check.too_long(["x" * 6000, "y" * 6000], 10_000)
    assert evalplus_check.shorten(10 ** 200_000) == "<a int too long to show>"


def test_an_output_that_breaks_the_comparison_is_a_wrong_output():
    with pytest.raises(AssertionError, match=r"input #7: expected \(4, 5\), got None"):
        evalplus_check.check_outputs(lambda a, b: None, "mbpp", "similar_elements",
                                     [[(4, 5), (5, 4)]], [(4, 5)], [1.0], 0, 7)
