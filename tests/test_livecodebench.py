"""LiveCodeBench code generation on files in upstream's `code_generation_lite` format built
from problems this repository has (tests/data/livecodebench, made by
benchmarks/livecodebench_fixture.py): LiveCodeBench's own data cannot be reached here."""

from __future__ import annotations

import base64
import json
import pickle
import zlib

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.tasks import create_task
from codeharness.tasks.livecodebench import (
    RELEASES,
    SYSTEM_MESSAGE,
    decode_tests,
    extract_code,
)
from codeharness.tasks.livecodebench_runtime import outputs_match

FIRST = {"abc300_fib", "abc401_apps", "lc0_hasCloseElements", "lc13_greatestCommonDivisor"}
SECOND = {"cf792_apps", "lc34_unique"}


@pytest.fixture(scope="module")
def folder(test_data):
    return str(test_data / "livecodebench")


@pytest.fixture(scope="module")
def solutions(test_data):
    lines = (test_data / "livecodebench" / "solutions.jsonl").read_text().splitlines()
    return {s["question_id"]: s for s in map(json.loads, lines)}


def ids(folder, **options) -> set[str]:
    return {p.id for p in create_task("livecodebench", data_path=folder, **options).load()}


def test_releases_pick_upstreams_files(folder, test_data):
    assert RELEASES["release_v3"] == ["test.jsonl", "test2.jsonl", "test3.jsonl"]
    assert RELEASES["v2_v4"] == ["test2.jsonl", "test3.jsonl", "test4.jsonl"]
    assert RELEASES["release_latest"] == RELEASES["release_v6"]
    assert ids(folder) == FIRST | SECOND  # release_latest: the files that are there
    assert ids(folder, release="release_v1") == ids(folder, release="v1") == FIRST
    assert ids(folder, release="v2") == SECOND
    assert ids(folder, release="v1_v2") == ids(folder, release="release_v2") == FIRST | SECOND
    assert ids(str(test_data / "livecodebench" / "test2.jsonl"), release="v1") == SECOND  # a file: whole
    with pytest.raises(HarnessError, match="none of test3.jsonl"):
        ids(folder, release="v3")
    with pytest.raises(HarnessError, match="no --release 'v7'"):
        create_task("livecodebench", data_path=folder, release="v7")


def test_date_window_and_platform(folder):
    # contest dates: lc0 2023-05-14, abc401 2023-07-22, lc13 2023-09-03, fib 2024-02-04,
    # lc34 2024-06-15, cf792 2024-08-10; both ends inclusive, as upstream's compute_scores
    assert ids(folder, start_date="2024-02-04") == {"abc300_fib", "lc34_unique", "cf792_apps"}
    assert ids(folder, end_date="2023-09-03") == {"lc0_hasCloseElements", "abc401_apps",
                                                 "lc13_greatestCommonDivisor"}
    assert ids(folder, start_date="2023-06-01", end_date="2024-06-14") == {
        "abc401_apps", "lc13_greatestCommonDivisor", "abc300_fib"}
    assert ids(folder, platform="codeforces") == {"cf792_apps"}
    with pytest.raises(HarnessError, match="no problems in the window"):
        ids(folder, start_date="2030-01-01")
    with pytest.raises(HarnessError, match="YYYY-MM-DD"):
        create_task("livecodebench", data_path=folder, start_date="June 2024")


def test_public_and_private_tests(folder):
    problems = {p.id: p for p in create_task("livecodebench", data_path=folder).load()}
    gcd = problems["lc13_greatestCommonDivisor"]  # private tests base64-zlib-pickled
    assert gcd.meta["public_tests"] == 2 and len(gcd.meta["tests"]) == 8
    assert gcd.meta["fn_name"] == "greatestCommonDivisor" and gcd.meta["starter_code"].startswith("class Solution")
    public = {p.id: p for p in create_task("livecodebench", data_path=folder, tests="public").load()}
    assert len(public["lc13_greatestCommonDivisor"].meta["tests"]) == 2


def test_private_tests_never_unpickle_code():
    tests = [{"input": "1", "output": "1", "testtype": "stdin"}]
    packed = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()
    assert decode_tests(packed, "x") == tests

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    hostile = base64.b64encode(zlib.compress(pickle.dumps(Boom()))).decode()
    with pytest.raises(HarnessError, match="may only hold text"):
        decode_tests(hostile, "x")
    with pytest.raises(HarnessError, match="neither JSON nor"):
        decode_tests("not base64 at all!", "x")
    with pytest.raises(HarnessError, match="testtype"):
        decode_tests(json.dumps([{"input": "1", "output": "1", "testtype": "other"}]), "x")


def test_bad_records_are_one_clear_error(tmp_path, folder):
    with open(f"{folder}/test.jsonl", encoding="utf-8") as f:
        good = json.loads(f.readline())
    for change, message in [({"contest_date": "yesterday"}, "not an ISO date"),
                            ({"platform": "topcoder"}, "platform must be"),
                            ({"metadata": "{"}, "metadata is not JSON"),
                            ({"public_test_cases": "[]", "private_test_cases": "[]"}, "no tests")]:
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps({**good, **change}) + "\n")
        with pytest.raises(HarnessError, match=message):
            create_task("livecodebench", data_path=str(path)).load()
    missing = {k: v for k, v in good.items() if k != "starter_code"}
    (tmp_path / "bad.jsonl").write_text(json.dumps(missing) + "\n")
    with pytest.raises(HarnessError, match="missing field"):
        create_task("livecodebench", data_path=str(tmp_path / "bad.jsonl")).load()


def test_prompts_and_extraction_are_upstreams(folder):
    task = create_task("livecodebench", data_path=folder)
    problems = {p.id: p for p in task.load()}
    chat = task.build_prompt(problems["lc0_hasCloseElements"], "chat").messages
    assert chat[0] == {"role": "system", "content": SYSTEM_MESSAGE}
    user = chat[1]["content"]
    assert user.startswith("### Question:\n") and user.endswith(
        "### Answer: (use the provided format with backticks)\n\n")
    assert ("### Format: You will use the following starter code to write the solution to the "
            "problem and enclose your code within delimiters.\n```python\nclass Solution:") in user
    stdin = task.build_prompt(problems["abc300_fib"], "chat").messages[1]["content"]
    assert "### Format: Read the inputs from stdin solve the problem" in stdin
    assert "```python\n# YOUR CODE HERE\n```\n\n" in stdin
    assert task.build_prompt(problems["abc300_fib"], "completion").text.startswith(SYSTEM_MESSAGE)
    assert extract_code("text\n```python\nprint(1)\n```\nmore\n```\nprint(2)\n```") == "print(1)"
    assert extract_code("print(1)") == ""  # no fenced block: nothing, as upstream


def test_outputs_compare_as_upstream():
    assert outputs_match("1 2\n3\n", "1 2\n3")
    assert outputs_match("  1.0  2\n", "1 2")  # Decimal tokens
    assert not outputs_match("1\n2\n", "1 2")  # line count
    assert not outputs_match("0.3333\n", "0.3333333")  # no float tolerance
    assert not outputs_match("YES\n", "yes")


def run(task, problem, program, sandbox):
    outcome = next(iter(sandbox.run([task.build_job(problem, program, problem.id)])))
    return task.judge(problem, outcome)


def test_right_and_wrong_programs(folder, solutions, local_sandbox):
    task = create_task("livecodebench", data_path=folder)
    for problem in task.load():
        right = run(task, problem, solutions[problem.id]["right"], local_sandbox)
        wrong = run(task, problem, solutions[problem.id]["wrong"], local_sandbox)
        assert right.status is Status.PASSED, (problem.id, right)
        assert wrong.status is Status.FAILED and wrong.details["error_code"] == -2, problem.id


def test_what_upstream_accepts_and_rejects(folder, local_sandbox):
    task = create_task("livecodebench", data_path=folder, timeout_s=2)
    problems = {p.id: p for p in task.load()}
    fib, unique = problems["abc300_fib"], problems["lc34_unique"]
    cases = {
        # stdin read whole, sys.stdin.readline, open(0): all mocked as upstream mocks them
        "read": (fib, ("import sys\nn = int(sys.stdin.read())\na, b = 0, 1\nfor _ in range(n):\n"
                       "    a, b = b, a + b\nprint(a)\n"), Status.PASSED),
        "readline": (fib, ("import sys\nn = int(sys.stdin.readline())\na, b = 0, 1\n"
                           "for _ in range(n):\n    a, b = b, a + b\nprint(f'{a}.0')\n"), Status.PASSED),
        "crash": (fib, "print(1 / 0)\n", Status.ERROR),
        "own assert": (fib, "assert False\n", Status.ERROR),
        "slow": (fib, "while True:\n    pass\n", Status.TIMEOUT),
        "tuple": (unique, "class Solution:\n    def unique(self, l):\n        return tuple(sorted(set(l)))\n",
                  Status.PASSED),
        "function": (unique, "def unique(l):\n    return sorted(set(l))\n", Status.PASSED),
        "no method": (unique, "class Solution:\n    pass\n", Status.ERROR),
        "syntax": (unique, "class Solution:\n    def unique(self, l)\n", Status.SYNTAX_ERROR),
    }
    for name, (problem, program, expected) in cases.items():
        assert run(task, problem, program, local_sandbox).status is expected, name


def test_replayed_run_scores_by_difficulty(folder, solutions, tmp_path):
    from codeharness.cli.main import app
    from typer.testing import CliRunner

    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": q, "solution": s[kind]}) + "\n"
                               for q, s in solutions.items() for kind in ("right", "wrong")))
    result = CliRunner().invoke(app, ["eval", "--task", "livecodebench", "--data-path", folder,
                                      "--backend", "replay", "--samples", str(samples),
                                      "--output-dir", str(tmp_path / "runs"), "--workers", "2",
                                      "--start-date", "2023-06-01"])
    assert result.exit_code == 0, result.output
    scores = json.loads(next((tmp_path / "runs").glob("*/scores.json")).read_text())
    assert scores["coverage"]["problems"] == 5  # the window leaves out lc0 (2023-05-14)
    breakdown = scores["livecodebench_breakdown"]
    assert breakdown["difficulty"]["hard"] == {"problems": 2, "pass@1": 0.5}
    assert breakdown["window"]["start_date"] == "2023-06-01"
    assert scores["pass_at_k"]["base"]["pass@1"]["value"] == 0.5
