"""The hallucination classifier: its two modes on real programs run in the local sandbox,
the reference's published arithmetic on a third-party run, and the profile on HumanEval."""

import json
from collections import Counter

from harness import pipeline
from harness.backends.base import SamplingConfig
from harness.records import Execution
from harness.rundir import RunDir
from harness.scoring import DEFAULT_SCORERS
from harness.scoring.hallucination import (
    BreakdownRule,
    compat_label,
    compat_rates,
    leading_import_modules,
    strict_class,
    strict_rates,
    subcategory_of_codehalu_type,
)
from tasks import create_task
from tasks.apps import apps_problem
from tests.fakes import ScriptedBackend

# (program for "read n, print 2n", strict class, the reference's outcome name)
STDIN_CASES = {
    "correct": ("print(int(input()) * 2)", "correct", "Correct"),
    "wrong": ("print(0)", "logic_deviation", "Logic_Deviation"),
    "type": ("print(input() + 1)", "data_compliance", "TypeError"),
    "value": ("print(int('x' + input()))", "data_compliance", "ValueError"),
    "zero": ("print(int(input()) // 0)", "data_compliance", "ZeroDivisionError"),
    "unicode": ("print(b'\\xff'.decode('utf-8'))", "data_compliance", "UnicodeDecodeError"),
    "decimal": ("import decimal\nprint(decimal.Decimal(1) / decimal.Decimal(0))",
                "data_compliance", "DivisionByZero"),
    "index": ("print([][int(input())])", "structure_access", "IndexError"),
    "key": ("print({}[input()])", "structure_access", "KeyError"),
    "name": ("print(undefined_name)", "identity", "NameError"),
    "attribute": ("print(int(input()).length)", "identity", "AttributeError"),
    "unbound": ("def total():\n    count += 1\n    return count\nprint(total())",
                "identity", "UnboundLocalError"),
    "import_first": ("import numpyy\nprint(int(input()) * 2)", "external_source", "UnboundLocalError"),
    "import_later": ("n = int(input())\nimport numpyy\nprint(n)", "external_source", "ModuleNotFoundError"),
    "from_import": ("from math import no_such_name\nprint(1)", "external_source", "UnboundLocalError"),
    "recursion": ("def down(n):\n    return down(n + 1)\ndown(0)", "physical_constraint", "RecursionError"),
    "memory": ("x = [0] * (10 ** 10)", "physical_constraint", "MemoryError"),
    "overflow": ("import math\nprint(math.exp(1000))", "computational_boundary", "OverflowError"),
    "stop": ("print(next(iter([])))", "computational_boundary", "StopIteration"),
    "timeout": ("while True:\n    pass", "timeout", "TimeoutException"),
    "syntax": ("print(", "syntax_error", "UnboundLocalError"),
    "indentation": ("if True:\nprint(1)", "syntax_error", "UnboundLocalError"),
    "eof": ("input()\ninput()", "other_error", "EOFError"),
    "own_assert": ("assert int(input()) < 0", "other_error", "AssertionError"),
}
CALL_CASES = {
    "call_correct": ("def double(n):\n    return 2 * n", "correct", "Correct"),
    "call_name_at_load": ("x = undefined\ndef double(n):\n    return 2 * n", "identity", "UnboundLocalError"),
    "call_import_at_load": ("import numpyy\ndef double(n):\n    return 2 * n",
                            "external_source", "UnboundLocalError"),
    "call_missing_function": ("def triple(n):\n    return 3 * n", "identity", "NameError"),
    "call_index": ("def double(n):\n    return [][n]", "structure_access", "IndexError"),
}


def run_programs(tmp_path, sandbox, problems, answers) -> dict[str, Execution]:
    task = create_task("codehalu", timeout_s=1.5)
    config = pipeline.RunConfig(task="codehalu", backend="scripted")
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    backend = ScriptedBackend(lambda problem_id, index, prompt: answers[problem_id])
    pipeline.generate(run, config, task, problems, lambda: backend)
    pipeline.execute(run, task, problems, sandbox)
    return {e["problem_id"]: Execution(**e) for e in run.executions()}


def test_programs_with_known_failure_causes_are_classified_in_both_modes(tmp_path, local_sandbox):
    problems = [apps_problem(name, "Print twice n.", "", None, ["21\n"], ["42\n"], None, name)
                for name in STDIN_CASES]
    problems += [apps_problem(name, "Return twice n.", "def double(n):", "double", [[21]], [[42]],
                              None, name) for name in CALL_CASES]
    cases = {**STDIN_CASES, **CALL_CASES}
    executions = run_programs(tmp_path, local_sandbox, problems,
                              {name: program for name, (program, _, _) in cases.items()})
    found = {}
    for name, (program, _, _) in cases.items():
        execution = executions[name]
        found[name] = (strict_class(execution, breakdown=False),
                       compat_label(execution, program, name in STDIN_CASES, breakdown=False))
    assert found == {name: (strict, compat) for name, (_, strict, compat) in cases.items()}


def execution(status, exception_type=None, chain=(), message=None, tests=1):
    return Execution(task="t", problem_id="p", sample_index=0, status=status,
                     groups={"base": status}, exception_type=exception_type,
                     exception_chain=list(chain), message=message,
                     tests=[{"name": "test 0", "status": status}] * tests)


def test_breakdown_takes_precedence_in_compat_but_not_over_a_pass_in_strict():
    passed, crashed = execution("passed"), execution("error", "IndexError", ["IndexError"])
    assert compat_label(passed, "", True, breakdown=True) == "Logic Breakdown"
    assert strict_class(passed, breakdown=True) == "correct"
    assert strict_class(crashed, breakdown=True) == "logic_breakdown"


def test_killed_programs_count_nowhere_in_compat_and_as_resources_in_strict():
    killed = execution("out_of_memory", "Killed", message="killed by SIGKILL")
    assert compat_label(killed, "", True, breakdown=False) == "TimeError"
    assert strict_class(killed, breakdown=False) == "physical_constraint"
    assert strict_class(execution("timeout", "CPUTimeLimit"), breakdown=False) == "timeout"


def test_leading_imports_are_the_lines_before_the_first_other_line():
    program = "import os, sys as system  # tools\nfrom a.b import c\n\nimport late\nx = 1"
    assert leading_import_modules(program) == {"os", "sys", "a.b"}


def test_codehalu_types_and_result_file_names_map_to_the_eight_subcategories(shared_data):
    records = [json.loads(line) for line in
               open(shared_data / "codehalu" / "codehalueval_sample_records.jsonl")]
    types = {r["halu_type"] for r in records}
    assert len(types) == 8
    keys = {subcategory_of_codehalu_type(t).key for t in types}
    assert len(keys) == 8
    assert subcategory_of_codehalu_type("Calculate_Boundary_Hallucination").key == "computational_boundary"


def test_compat_reproduces_the_third_party_codellama_rates(shared_data):
    """From the outcome counts of a third-party CodeLlama-7B-Instruct run, the compat
    arithmetic gives its per-file rates (denominators: the benchmark files' sizes)."""
    folder = shared_data / "codehalu" / "third_party_codellama7b_run"
    summary = json.loads((folder / "summary_hr_by_category.json").read_text())
    outcomes, samples, expected = {}, {}, {}
    for file in folder.glob("*_errors_dict.json"):
        stem = file.name.removesuffix("_errors_dict.json")
        key = subcategory_of_codehalu_type(stem).key
        outcomes[key] = Counter({name: entry["count"] for name, entry in json.loads(file.read_text()).items()})
        samples[key] = summary[stem]["paper_n"] or summary[stem]["unique_keys"]
        expected[key] = (summary[stem]["hr_as_coded_pct"], summary[stem]["correct_pct"])
    assert len(expected) == 8
    result = compat_rates(outcomes, samples)["files"]
    reproduced = {key: (round(100 * f["rate"], 2), round(100 * f["correct_rate"], 2))
                  for key, f in result.items()}
    assert reproduced == expected
    assert expected["logic_breakdown"][0] == 0.0  # the reference's name mismatch, reproduced


def test_breakdown_rule_counts_tokens_with_the_chosen_tokenizer(tmp_path):
    from harness.models import embedded_checkpoint

    rule = BreakdownRule(str(embedded_checkpoint()))
    assert not rule.applies("print(1)\n" * 50)
    assert rule.applies("print(1)\n" * 400)  # 2,000+ tokens
    assert rule.describe()["error"] is None
    missing = BreakdownRule(str(tmp_path / "no-tokenizer.json"))
    assert not missing.applies("print(1)\n" * 400)
    assert "unavailable" in missing.describe()["error"]


def test_profile_on_a_humaneval_run_shares_failed_samples_by_class(tmp_path, local_sandbox):
    task = create_task("humaneval")
    problems = pipeline.load_problems(task, 2)
    bodies = ["    return undefined_name\n", "    return [][1]\n", "    return None\n",
              "    raise ValueError('no')\n"]
    config = pipeline.RunConfig(task="humaneval", sampling=SamplingConfig(n=4), backend="scripted")
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    backend = ScriptedBackend(lambda problem_id, index, prompt: bodies[index])
    pipeline.generate(run, config, task, problems, lambda: backend)
    pipeline.execute(run, task, problems, local_sandbox)
    scores = pipeline.score(run, task, problems)
    profile = scores["hallucination_profile"]
    assert any(s.name == "hallucination_profile" for s in DEFAULT_SCORERS)
    assert profile["failed"] == 8
    counts = {key: value["count"] for key, value in profile["classes"].items() if value["count"]}
    assert counts == {"identity": 2, "structure_access": 2, "logic_deviation": 2, "data_compliance": 2}
    assert profile["types"] == {"Mapping": 0.5, "Naming": 0.25, "Logic": 0.25}
    assert json.loads((run.path / "scores.json").read_text())["hallucination_profile"] == profile


def test_rates_have_a_mean_over_files_and_a_correct_rate():
    samples = {"identity": 4, "data_compliance": 4}
    compat = compat_rates({"identity": Counter({"NameError": 1, "Correct": 1}),
                           "data_compliance": Counter({"ValueError": 2})}, samples)
    strict = strict_rates({"identity": Counter({"identity": 1, "correct": 1}),
                           "data_compliance": Counter({"data_compliance": 2})}, samples)
    for result in (compat, strict):
        assert result["files"]["identity"]["rate"] == 0.25
        assert result["files"]["data_compliance"]["rate"] == 0.5
        assert result["mean_rate"] == 0.375
        assert result["correct_rate"] == 1 / 8
