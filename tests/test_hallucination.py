"""The hallucination classifier: its two modes on real programs run in the local sandbox,
the reference's published arithmetic on a third-party run, and the profile on HumanEval."""

import json
from collections import Counter

from codeharness.core.records import Execution, SamplingConfig, Status, from_dict
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.scorers import default_scorers
from codeharness.scorers.hallucination import (
    SUBCATEGORIES,
    BreakdownRule,
    compat_label,
    compat_rates,
    leading_import_modules,
    strict_class,
    strict_rates,
    subcategory_of_codehalu_type,
)
from codeharness.tasks import create_task
from codeharness.tasks.apps import apps_problem

from tests.codehalu_records import HALU_TYPES
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
    pipeline.generate(run, config, task, problems, backend)
    pipeline.execute(run, task, problems, sandbox)
    return {e["problem_id"]: from_dict(Execution, e) for e in run.executions()}


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
    status = Status(status)
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


def test_codehalu_types_and_result_file_names_map_to_the_eight_subcategories():
    keys = [subcategory_of_codehalu_type(t).key for t in HALU_TYPES]
    assert keys == [s.key for s in SUBCATEGORIES]
    assert [subcategory_of_codehalu_type(t.replace(" ", "_")).key for t in HALU_TYPES] == keys
    assert subcategory_of_codehalu_type("Spelling Hallucination") is None
    assert subcategory_of_codehalu_type("Calculate_Boundary_Hallucination").key == "computational_boundary"


def test_compat_reproduces_the_third_party_codellama_rates(test_data):
    """From the outcome counts of a third-party CodeLlama-7B-Instruct run (the counts of its
    *_errors_dict.json files, kept in the summary), the compat arithmetic gives its per-file
    rates (denominators: the benchmark files' sizes)."""
    summary = json.loads((test_data / "codehalu" / "summary_hr_by_category.json").read_text())
    outcomes, samples, expected = {}, {}, {}
    for stem in summary:
        key = subcategory_of_codehalu_type(stem).key
        outcomes[key] = Counter(summary[stem]["counts"])
        samples[key] = summary[stem]["paper_n"] or summary[stem]["unique_keys"]
        expected[key] = (summary[stem]["hr_as_coded_pct"], summary[stem]["correct_pct"])
    assert len(expected) == 8
    result = compat_rates(outcomes, samples)["files"]
    reproduced = {key: (round(100 * f["rate"], 2), round(100 * f["correct_rate"], 2))
                  for key, f in result.items()}
    assert reproduced == expected
    assert expected["logic_breakdown"][0] == 0.0  # the reference's name mismatch, reproduced


def test_breakdown_rule_counts_tokens_with_the_chosen_tokenizer(tmp_path):
    from codeharness.core.models import embedded_checkpoint

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
    pipeline.generate(run, config, task, problems, backend)
    pipeline.execute(run, task, problems, local_sandbox)
    scores = pipeline.score(run, task, problems)
    profile = scores["hallucination_profile"]
    assert any(s.name == "hallucination_profile" for s in default_scorers())
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


def test_a_breakdown_tokenizer_that_cannot_load_is_said_on_the_console_and_in_scores(tmp_path):
    """`eval` and `score` print the yellow line (brackets in the path intact) and both
    hallucination scorers store the reason and the programs it left unchecked; a program of
    500 lines is no Logic Breakdown when nothing could count its tokens."""
    from codeharness.cli.main import app
    from typer.testing import CliRunner

    # One CodeHaluEval-format record of the project's own (read n, print 2n).
    record = {"id": 0, "task_id": 1, "test_case_id": 0, "question": "Read n; print 2n.",
              "solutions": json.dumps(["print(int(input()) * 2)"]), "difficulty": "introductory",
              "input": "3\n", "output": "6\n", "halu_type": "Data Compliance Hallucination",
              "fn_name": None, "starter_code": "", "url": ""}
    data = tmp_path / "codehalueval.jsonl"
    data.write_text(json.dumps(record) + "\n")
    long_program = "x = 0\n" + "x = x + 1\n" * 500 + "print(x)"
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "data_compliance/0", "solution": long_program}) + "\n")
    missing = tmp_path / "no [such] folder" / "tokenizer.json"
    result = CliRunner().invoke(app, [
        "eval", "--task", "codehalu", "--backend", "replay", "--samples", str(samples),
        "--data-path", str(data), "--output-dir", str(tmp_path / "runs"),
        "--breakdown-tokenizer", str(missing)])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    scores = json.loads((run / "scores.json").read_text())
    for scorer in ("hallucination_profile", "hallucination_rates"):
        breakdown = scores[scorer]["breakdown"]
        assert breakdown["tokenizer"] == str(missing)
        assert f"no such file or folder: {missing}" in breakdown["error"]
        assert breakdown["unchecked_programs"] == 1
    assert scores["hallucination_rates"]["per_sample"]["data_compliance/0#0"]["strict"] == "logic_deviation"
    for output in (result.output, CliRunner().invoke(app, ["score", str(run)]).output):
        printed = " ".join(output.split())
        assert printed.count(f"Logic Breakdown not applied: tokenizer '{missing}' unavailable") == 2
        assert "1 program(s) of 1,300+ bytes went unchecked" in printed


def test_codehalu_rates_say_the_tokenizer_is_missing_even_when_no_program_needed_it(tmp_path):
    from codeharness.core.records import Problem
    from codeharness.scorers.hallucination import HallucinationRates

    rates = HallucinationRates(str(tmp_path / "missing.json"))
    problems = [Problem("identity/0", "q", meta={"halu_category": "identity", "case_key": "1:a",
                                                           "fn_name": None})]
    executions = [Execution("codehalu", "identity/0", 0, Status.FAILED, {"base": Status.FAILED},
                            tests=[{"status": "failed"}])]
    result = rates.score(None, problems, [], executions)
    assert "unavailable" in result["breakdown"]["error"] and result["breakdown"]["unchecked_programs"] == 0
    assert any("Logic Breakdown not applied" in str(line) for line in rates.report(result))
    # The per-run profile, which any task has, speaks only when a program needed the tokenizer.
    profile = default_scorers(breakdown_tokenizer=str(tmp_path / "missing.json"))[-1]
    quiet = profile.score(None, problems, [], executions)
    assert quiet["breakdown"]["error"] is None and profile.report(quiet) == ["why 1 samples failed (strict): Logic Deviation 100.0%"]


def test_a_hub_id_and_a_path_are_told_apart():
    from codeharness.scorers.hallucination import _looks_like_a_path

    assert not _looks_like_a_path("codellama/CodeLlama-7b-Instruct-hf")
    assert not _looks_like_a_path("gpt2")
    assert all(_looks_like_a_path(p) for p in ("/models/tok.json", "./tok", "~/x", "a/b/c", "tok.json"))
