"""BigCodeBench (v0.1.0_hf, tests/data/bigcodebench, Apache-2.0): loading, the network-free
set, the hard subset's ids, upstream's prompts and sanitizer, and programs judged by the
benchmark's own interpreter inside the sandbox.

The full library set is about 3 GB (`python -m codeharness.tasks.bigcodebench_env`); these
tests build a small environment from the same recipe, numpy alone (`--packages numpy`),
and run the tasks that need nothing else: a tested subset, as CI can afford. The whole
benchmark's reference check is a documented command (README, BigCodeBench).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import bigcodebench_env, create_task
from codeharness.tasks.bigcodebench import INSTRUCTION_PREFIX, needs_network, sanitize

# upstream's bigcodebench/data/network-free-set.txt covers ids 0-570; these are the ones it
# leaves out there.
UPSTREAM_NETWORK_IDS_TO_570 = {
    13, 28, 32, 59, 74, 76, 77, 78, 79, 80, 81, 82, 83, 101, 129, 144, 145, 146, 147, 154, 158,
    170, 176, 181, 183, 185, 186, 188, 189, 192, 195, 203, 207, 211, 215, 272, 273, 274, 284,
    285, 290, 314, 315, 332, 339, 376, 390, 397, 401, 402, 413, 421, 490, 498}
# network-free tasks that need only the standard library and numpy, run in the small environment
SUBSET = [f"BigCodeBench/{i}" for i in (1, 2, 4, 7, 8, 12, 14, 15, 16, 19, 22, 25, 27, 202, 96,
                                          97, 98, 113, 118, 172)]


@pytest.fixture(scope="module")
def data(test_data):
    return str(test_data / "bigcodebench" / "BigCodeBench-v0.1.0_hf.jsonl.gz")


@pytest.fixture(scope="module")
def small_environment() -> str:
    """BigCodeBench's environment with numpy alone, inside the harness's environment (where
    the local sandbox sees it), built once from PyPI."""
    target = Path(sys.prefix) / "share" / "codeharness" / "envs" / "bigcodebench-numpy"
    report = bigcodebench_env.read_report(target / "bin" / "python")
    if report is None or not any(p.startswith("numpy==") for p in report["installed"]):
        report = bigcodebench_env.build(target, packages=["numpy"], log=lambda line: None)
    assert not report["not_installed"], report["not_installed"]
    return str(target / "bin" / "python")


@pytest.fixture(scope="module")
def task(data, small_environment):
    task = create_task("bigcodebench_complete", data_path=data, python=small_environment,
                       timeout_floor_s=30)
    return task, {p.id: p for p in task.load()}


def test_loads_the_benchmark_and_its_network_free_set(data):
    every = create_task("bigcodebench_complete", data_path=data, network=True).load()
    assert len(every) == 1140 and every[0].id == "BigCodeBench/0"
    free = create_task("bigcodebench_complete", data_path=data).load()
    assert len(free) == 1035
    left_out = {int(p.id.split("/")[1]) for p in every} - {int(p.id.split("/")[1]) for p in free}
    assert {i for i in left_out if i <= 570} == UPSTREAM_NETWORK_IDS_TO_570  # upstream's list exactly
    assert needs_network("BigCodeBench/999", ["pandas", "requests"])
    assert not needs_network("BigCodeBench/0", ["itertools", "random"])
    reference = every[0].canonical_solution
    assert reference.startswith("import itertools\nfrom random import shuffle\n\ndef task_func(")


def test_hard_subset_needs_its_ids(data, tmp_path):
    with pytest.raises(HarnessError, match="hard subset's task ids are not known"):
        create_task("bigcodebench_hard_complete", data_path=data).load()
    ids = tmp_path / "hard.txt"
    ids.write_text("BigCodeBench/0\nBigCodeBench/13\nBigCodeBench/1139\n")
    hard = create_task("bigcodebench_hard_instruct", data_path=data, hard_ids=str(ids), network=True)
    problems = hard.load()
    assert [p.id for p in problems] == ["BigCodeBench/0", "BigCodeBench/13", "BigCodeBench/1139"]
    assert problems[0].prompt.rstrip().endswith("```")  # the instruct prompt
    with pytest.raises(HarnessError, match="--hard-ids file not found"):
        create_task("bigcodebench_hard_complete", data_path=data, hard_ids=str(tmp_path / "x")).load()


def test_prompts_are_upstreams(data):
    complete = create_task("bigcodebench_complete", data_path=data)
    problem = complete.load()[0]
    chat = complete.build_prompt(problem, "chat").messages[0]["content"]
    assert chat == f"{INSTRUCTION_PREFIX}\n```\n{problem.prompt.strip()}\n```\n"
    text = complete.build_prompt(problem, "completion")
    assert text.text == problem.prompt and "\ndef " in text.stop and "\nif __name__" in text.stop
    instruct = create_task("bigcodebench_instruct", data_path=data)
    problem = instruct.load()[0]
    assert problem.prompt.startswith("Calculates the average of the sums")
    assert instruct.build_prompt(problem, "chat").messages[0]["content"] == \
        f"{INSTRUCTION_PREFIX}\n{problem.prompt.strip()}\n"
    with pytest.raises(HarnessError, match="needs a chat model"):
        instruct.build_prompt(problem, "completion")


def test_sanitizer_keeps_what_upstreams_keeps():
    answer = (
        "Here is the code:\n```python\nimport os\nfrom math import sqrt\n\nLIMIT = 3\nUNUSED = 4\n\n"
        "def helper(x):\n    return sqrt(x) + LIMIT\n\ndef unrelated():\n    return 1\n\n"
        "@staticmethod\ndef decorated():\n    return 2\n\n"
        "def task_func(x):\n    return helper(x)\n\nprint(task_func(4))\n"
        "if __name__ == '__main__':\n    task_func(1)\n```\nThat is all.")
    kept = sanitize(answer, "task_func")
    assert kept == ("import os\nfrom math import sqrt\nLIMIT = 3\ndef helper(x):\n    return sqrt(x) + LIMIT\n"
                    "def task_func(x):\n    return helper(x)")
    assert sanitize("def task_func():\n    return 1\n\ndef task_func():\n    return 2\n", "task_func") == \
        "def task_func():\n    return 1"  # the first definition of a name wins, as upstream
    # no fence: the longest stretch of lines that parses
    assert sanitize("Sure! def is below\ndef task_func():\n    return 1\nDone.", "task_func") == \
        "def task_func():\n    return 1"


def test_extract_program_by_style(data):
    task = create_task("bigcodebench_complete", data_path=data)
    problem = task.load()[0]
    body = "    return 1.0\n\nprint(task_func())\n"
    program = task.extract_program(problem, body, "completion")
    assert program.startswith("import itertools") and program.endswith("    return 1.0")
    assert "print(" not in program
    assert task.extract_program(problem, "anything at all", "program") == "anything at all"


def run(task, problem, program, sandbox, **options):
    for name, value in options.items():
        setattr(task, name, value)
    outcome = next(iter(sandbox.run([task.build_job(problem, program, problem.id)])))
    return task.judge(problem, outcome), outcome


def test_programs_run_in_the_benchmarks_interpreter(task, local_sandbox):
    task, problems = task
    problem = problems["BigCodeBench/7"]  # the top-selling product of a CSV file
    task.prepare([problem], local_sandbox)
    reference = problem.canonical_solution
    body_only = reference.split("\n\n", 1)[1]  # without `import collections, operator`
    # The benchmark's interpreter hashes strings as the sandbox's workers do (a fixed seed).
    seed_zero = subprocess.run([sys.executable, "-c", "print(hash('codeharness'))"], check=True,
                               env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True,
                               text=True).stdout.strip()
    cases = {
        "reference": (reference, {}, Status.PASSED),
        "wrong": (reference.replace("return top_selling_product", "return 'nobody'"), {}, Status.FAILED),
        "syntax": ("def task_func(:\n    pass\n", {}, Status.SYNTAX_ERROR),
        "hash seed": (f"assert hash('codeharness') == {seed_zero}\n" + reference, {}, Status.PASSED),
        "calibrated": (body_only, {}, Status.PASSED),  # code_prompt's imports come first
        "not calibrated": (body_only, {"calibrated": False}, Status.ERROR),
        "missing library": ("import pandas\n" + reference, {}, Status.ERROR),
        "early exit": ("import os\nos._exit(0)\n", {}, Status.ERROR),
        "slow": ("def task_func(*args, **kwargs):\n    while True:\n        pass\n",
                 {"timeout_floor_s": 2.0, "timeout_factor": 0.0}, Status.TIMEOUT),
    }
    for name, (program, options, expected) in cases.items():
        saved = {k: getattr(task, k) for k in ("calibrated", "timeout_floor_s", "timeout_factor")}
        judgement, outcome = run(task, problem, program, local_sandbox, **options)
        for key, value in saved.items():
            setattr(task, key, value)
        assert judgement.status is expected, (name, judgement, outcome.tests)
        if name == "wrong":
            assert "tests failed (test_case_1" in judgement.details["reason"]
        if name == "not calibrated":
            assert outcome.tests[0].exception_type == "NameError"
        if name == "missing library":
            assert outcome.tests[0].exception_type == "ModuleNotFoundError"
        if name == "early exit":
            assert "before its tests finished" in outcome.tests[0].message


def test_reference_check_on_the_subset(task, local_sandbox):
    """`check-gt` on the tasks the small environment can run: every reference passes, and
    the limits come from the references' own times."""
    task, problems = task
    chosen = [problems[i] for i in SUBSET]
    report = pipeline.check_ground_truth(task, chosen, local_sandbox)
    assert report["passed"] == len(SUBSET) and not report["unexpected"], report["unexpected"]
    times = task._reference[SUBSET[0]]["time"]
    assert times["unittest"] > 0 and task.limit(times["unittest"]) >= 30


def test_missing_libraries_are_named_with_their_tasks(data, small_environment, local_sandbox):
    task = create_task("bigcodebench_complete", data_path=data, python=small_environment)
    problems = {p.id: p for p in task.load()}
    chosen = [problems["BigCodeBench/0"], problems["BigCodeBench/9"]]  # 9: pandas, matplotlib, seaborn
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task._check_interpreter(chosen, local_sandbox)
    message = " ".join(str(w.message) for w in caught)
    assert "cannot import matplotlib, pandas, seaborn" in message and "BigCodeBench/9" in message
    assert "BigCodeBench/0" not in message


def test_interpreter_choices_are_checked(data, local_sandbox, tmp_path, monkeypatch):
    monkeypatch.setattr(bigcodebench_env, "default_python", lambda: tmp_path / "none" / "bin" / "python")
    task = create_task("bigcodebench_complete", data_path=data)
    with pytest.raises(HarnessError, match="python -m codeharness.tasks.bigcodebench_env"):
        task.interpreter()
    unseen = create_task("bigcodebench_complete", data_path=data, python=str(tmp_path / "python"))
    problems = unseen.load()[:1]
    with pytest.raises(HarnessError, match="does not run in the local sandbox"):
        unseen.prepare(problems, local_sandbox)
    own = create_task("bigcodebench_complete", data_path=data, python="sandbox")
    assert "pandas" in own.environment.packages
    with pytest.raises(HarnessError, match="the Python package pandas"):
        local_sandbox.require(own.environment)
    assert create_task("bigcodebench_complete", data_path=data).environment.packages == ()


def test_environment_recipe():
    lines, substitutions = bigcodebench_env.requirements((3, 10))
    assert "numpy==1.21.2" in lines and "tensorflow==2.11.1" in lines  # upstream's pins on 3.10
    assert [s["installed"] for s in substitutions] == ["selenium==4.15.2"]
    lines, substitutions = bigcodebench_env.requirements((3, 11))
    assert "numpy==1.23.5" in lines and "tensorflow-cpu==2.12.1" in lines
    assert len(lines) == len({line.split("==")[0].lower() for line in lines})  # no pin twice
    assert all(s["why"] for s in substitutions)
    assert ast.literal_eval(repr(bigcodebench_env.TASK_MODULES))  # a plain tuple of names
