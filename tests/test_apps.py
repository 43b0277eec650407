"""The APPS task family: APPS's comparison rules, and programs run in the real local sandbox
as `__main__` with their own stdin, or called as functions."""

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.tasks.apps import AppsTask, apps_problem
from codeharness.tasks.apps_runtime import call_result_matches, outputs_match


@pytest.mark.parametrize("actual, expected", [
    ("42\n", "42\n"),
    ("  42  \n\n", "42"),  # exact after strip
    ("1 \n2\n", "1\n2\n"),  # every line stripped
    ("1\n\n2\n", "1\n2\n"),  # equal lists of non-empty lines
    ("0.3333333\n", "0.33333333333\n"),  # float tolerance
    ("2 1\n", "1 2\n"),  # per-line token sets (APPS's leniency)
    ("b\na\n", "a\nb\n"),  # ...which ignores line order
    ("1.0001 2\n", "1.0 2\n"),  # tokens rounded to 3 decimals
    ("", ""),
])
def test_apps_comparison_accepts(actual, expected):
    assert outputs_match(actual, expected)


@pytest.mark.parametrize("actual, expected", [
    ("43\n", "42\n"),
    ("1 2 3\n", "1 2\n"),
    ("0.34\n", "0.33333\n"),
    ("1\n", "1\n2\n"),
    ("YES\n", "yes\n"),
    ("", "0\n"),
])
def test_apps_comparison_rejects(actual, expected):
    assert not outputs_match(actual, expected)


def test_call_results_compare_like_apps():
    assert call_result_matches(3, [3])
    assert call_result_matches((1, 2), [1, 2])
    assert call_result_matches([(1, 2)], [[[1, 2]]])
    assert not call_result_matches(3, [4])
    assert not call_result_matches("3", [3])


def stdin_problem(name, inputs=("3\n", "5\n"), outputs=("6\n", "10\n")):
    return apps_problem(name, "Print twice n.", "", None, list(inputs), list(outputs), None, name)


def run(sandbox, cases, timeout_s=2.0):
    """{name: (problem, program)} -> {name: (status, exception type, message)}"""
    task = AppsTask(timeout_s=timeout_s)
    jobs = [task.build_job(problem, program, name) for name, (problem, program) in cases.items()]
    verdicts = {}
    for outcome in sandbox.run(jobs):
        problem = cases[outcome.job_id][0]
        judgement = task.judge(problem, outcome)
        failing = next((t for t in outcome.tests if t.status is not Status.PASSED), outcome)
        verdicts[outcome.job_id] = (judgement.status.value, failing.exception_type, failing.message)
    return verdicts


STDIN_PROGRAMS = {
    "input": "print(int(input()) * 2)",
    "buffer": "import sys\nprint(int(sys.stdin.buffer.read()) * 2)",
    "readline_loop": "import sys\nfor line in sys.stdin:\n    print(int(line) * 2)",
    "open_fd0": "print(int(open(0).read()) * 2)",
    "os_write": "import os\nos.write(1, f'{2 * int(input())}\\n'.encode())",
    "exits_after_printing": "import sys\nprint(int(input()) * 2)\nsys.exit(3)\nprint('never')",
    "main_guard": "def main():\n    print(int(input()) * 2)\nif __name__ == '__main__':\n    main()",
    "global_statement": "total = 0\ndef add(n):\n    global total\n    total += n\nadd(int(input()))\nadd(total)\nprint(total)",
    "thread": "import threading\ndef main():\n    print(int(input()) * 2)\nthreading.Thread(target=main).start()",
    "sys_without_import": "print(int(sys.stdin.readline()) * 2)",
}


def test_stdin_programs_run_as_main_once_per_test_with_their_own_input(local_sandbox):
    preamble_task = type("WithSys", (AppsTask,), {"preamble": "import sys\n"})
    problem = stdin_problem("p")
    jobs = [preamble_task(timeout_s=2.0).build_job(problem, program, name)
            for name, program in STDIN_PROGRAMS.items()]
    statuses = {o.job_id: (o.verdict.value, [t.status.value for t in o.tests])
                for o in local_sandbox.run(jobs)}
    assert statuses == {name: ("passed", ["passed", "passed"]) for name in STDIN_PROGRAMS}


def test_wrong_answers_crashes_and_time_limits_per_test(local_sandbox):
    problem = stdin_problem("p", inputs=("3\n", "5\n", "7\n"), outputs=("6\n", "10\n", "14\n"))
    verdicts = run(local_sandbox, {
        "wrong_on_second": (problem, "n = int(input())\nprint(6 if n == 3 else 0)"),
        "own_assert": (problem, "assert int(input()) > 100"),
        "slow_on_second": (problem, "n = int(input())\nwhile n == 5:\n    pass\nprint(2 * n)"),
        "syntax": (problem, "print(2 *"),
    }, timeout_s=1.0)
    assert verdicts["wrong_on_second"][:2] == ("failed", "WrongOutput")
    assert "expected '10\\n', got '0\\n'" in verdicts["wrong_on_second"][2]
    assert verdicts["own_assert"][:2] == ("error", "AssertionError")
    assert verdicts["slow_on_second"][:2] == ("timeout", "Timeout")
    assert verdicts["syntax"][:2] == ("syntax_error", "SyntaxError")


def test_programs_cannot_fake_a_pass(local_sandbox):
    problem = stdin_problem("p")
    verdicts = run(local_sandbox, {
        "exit_process": (problem, "import os\nos._exit(0)"),
        "patch_builtins": (problem, "import builtins\nbuiltins.frozenset = lambda *a: 0\n"
                                    "builtins.float = lambda *a: 0.0\nprint('no')"),
        "rebind_helpers": (problem, "outputs_match = lambda *a: True\nStdioProgram = None\nprint('no')"),
        "close_stdout": (problem, "import sys, os\nsys.stdout.close()\nos.close(1)"),
    })
    assert {name: v[0] for name, v in verdicts.items()} == {
        "exit_process": "error", "patch_builtins": "failed", "rebind_helpers": "failed",
        "close_stdout": "failed"}


def test_call_based_programs_are_loaded_once_and_called_per_test(local_sandbox):
    problem = apps_problem("c", "Add.", "class Solution:\n    def add(self, a, b):", "add",
                           ["[1, 2]", [3, 4]], ["[3]", [7]], None, "c")
    verdicts = run(local_sandbox, {
        "method": (problem, "class Solution:\n    def add(self, a, b):\n        return a + b"),
        "function": (problem, "def add(a, b):\n    return a + b"),
        "tuple_result": (problem, "def add(a, b):\n    return (a + b,)"),
        "wrong": (problem, "def add(a, b):\n    return a - b"),
        "missing": (problem, "def plus(a, b):\n    return a + b"),
        "load_error": (problem, "import numpyy\ndef add(a, b):\n    return a + b"),
    })
    assert {name: v[:2] for name, v in verdicts.items()} == {
        "method": ("passed", None), "function": ("passed", None), "tuple_result": ("passed", None),
        "wrong": ("failed", "WrongOutput"), "missing": ("error", "NameError"),
        "load_error": ("error", "ModuleNotFoundError")}


def test_call_based_expected_values_are_json_or_plain_text():
    problem = apps_problem("p", "q", "", "f", ["[1]", [2], "[3]"], ["[2]", 3, "YES"], None, "rec")
    assert problem.meta["inputs"] == [[1], [2], [3]]
    assert problem.meta["outputs"] == [[2], 3, "YES"]


def test_malformed_tests_are_refused_with_the_record_named():
    with pytest.raises(HarnessError, match="rec 7: needs as many expected outputs"):
        apps_problem("p", "q", "", None, ["1"], [], None, "rec 7")
    with pytest.raises(HarnessError, match="rec 7 input 1: not a JSON value"):
        apps_problem("p", "q", "", "f", ["[1,"], ["1"], None, "rec 7")
    with pytest.raises(HarnessError, match="rec 7 output 1: expected text"):
        apps_problem("p", "q", "", None, ["1"], [5], None, "rec 7")


def test_completion_prompts_follow_apps_and_answers_keep_whole_programs():
    task = AppsTask()
    problem = stdin_problem("p")
    prompt = task.build_prompt(problem, "completion")
    assert prompt.text.startswith("\nQUESTION:\nPrint twice n.")
    assert prompt.text.endswith("\nUse Standard Input format\nANSWER:\n")
    assert "\nQUESTION" in prompt.stop
    program = "n = int(input())\ndef twice(x):\n    return 2 * x\nprint(twice(n))"
    assert task.extract_program(problem, program, "completion") == program
    assert task.extract_program(problem, f"Here:\n```python\n{program}\n```\n", "chat") == program + "\n"
