"""The codehalu task on 40 CodeHaluEval-format records made from real APPS test problems
(tests/codehalu_records.py: the sub-categories and ids are this project's own): loading from
files, folders and the Hugging Face dataset's shape, the benchmark's prompts, reference
solutions in the real sandbox, and a scored run in both classifier modes."""

import json
from collections import Counter
from pathlib import Path

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import Execution, Status
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.scorers.hallucination import SUBCATEGORIES, HallucinationRates
from codeharness.tasks import create_task
from codeharness.tasks.base import Problem

from tests.codehalu_records import (
    HALU_TYPES,
    apps_known_bad,
    codehalu_file,
    codehalu_records,
    problem_id,
)
from tests.fakes import ScriptedBackend


@pytest.fixture(scope="module")
def records(test_data):
    return codehalu_records(test_data)


@pytest.fixture(scope="module")
def sample(test_data, tmp_path_factory):
    """The records as one CodeHaluEval JSONL file."""
    return codehalu_file(test_data, tmp_path_factory.mktemp("codehalu"))


@pytest.fixture(scope="module")
def codehalu(sample):
    task = create_task("codehalu", data_path=str(sample), timeout_s=10)
    return task, task.load()


def test_the_40_records_load_one_test_each_in_their_own_halu_type_file(codehalu, records):
    task, problems = codehalu
    assert len(problems) == len(records) == 40
    assert Counter(p.meta["halu_category"] for p in problems) == Counter({s.key: 5 for s in SUBCATEGORIES})
    # The file interleaves the sub-categories: each record's own halu_type names its file.
    assert [p.meta["halu_category"] for p in problems[:9]] == [s.key for s in SUBCATEGORIES] + ["data_compliance"]
    assert [p.id for p in problems[:9]] == [f"{s.key}/{i}" for i, s in enumerate(SUBCATEGORIES)] + ["data_compliance/8"]
    assert [(p.meta["task_id"], p.meta["test_case_id"]) for p in problems] == \
        [(r["task_id"], 0) for r in records]
    big = next(p for p in problems if p.meta["task_id"] == 541)  # APPS 541's test has a 1.2 MB stdin
    assert big.id == "logic_deviation/14"
    assert len(big.meta["inputs"]) == 1 and len(big.meta["inputs"][0]) == 1214859
    assert [s["path"] for s in task.data_sources()] == [str(Path(task.data_path).resolve())]


def test_hugging_face_rows_give_the_same_problems(monkeypatch, codehalu, records):
    import datasets

    hub = datasets.DatasetDict({"train": datasets.Dataset.from_list(records, split="train")})
    asked = []
    monkeypatch.setattr(datasets, "load_dataset",
                        lambda name, config=None, split=None: asked.append((name, split)) or hub)
    task = create_task("codehalu")
    problems = task.load()
    assert asked == [("Yuchen111/CodeHaluEval", None)]
    assert [(p.id, p.prompt, p.meta) for p in problems] == \
        [(p.id, p.prompt, p.meta) for p in codehalu[1]]
    assert task.data_sources()[0]["split"] == "train"


def test_a_folder_of_benchmark_files_loads_every_file(tmp_path, records):
    assert {r["halu_type"] for r in records} == set(HALU_TYPES)
    for halu_type in HALU_TYPES:
        name = halu_type.lower().replace(" ", "_") + ".json"
        (tmp_path / name).write_text(json.dumps([r for r in records if r["halu_type"] == halu_type]))
    problems = create_task("codehalu", data_path=str(tmp_path)).load()
    assert len(problems) == 40


def test_bad_records_are_refused_with_file_and_line(tmp_path, records):
    broken = dict(records[0])
    del broken["output"]
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(records[1]) + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(HarnessError, match=r"bad.jsonl line 2: missing field\(s\) output"):
        create_task("codehalu", data_path=str(path)).load()
    path.write_text(json.dumps({**records[0], "halu_type": "Spelling Hallucination"}) + "\n")
    with pytest.raises(HarnessError, match="bad.jsonl line 1: unknown halu_type 'Spelling"):
        create_task("codehalu", data_path=str(path)).load()
    path.write_text(json.dumps({**records[0], "fn_name": "f", "input": "[1,"}) + "\n")
    with pytest.raises(HarnessError, match="bad.jsonl line 1 input 1: not a JSON value"):
        create_task("codehalu", data_path=str(path)).load()


def test_prompts_are_the_benchmarks(codehalu, records):
    task, problems = codehalu
    stdin = task.build_prompt(problems[0], "chat").messages[0]["content"]
    assert stdin == ("You are required to solve a programming problem with python. Please enclose "
                     "your code inside a ```python``` block. \nQUESTION:\n" + records[0]["question"]
                     + "\nPlease write your code using Standard Input, i.e. input() and print().")
    call = {**records[0], "fn_name": "solve", "starter_code": "def solve(a):\n",
            "input": "[1]", "output": "[2]"}
    problem = task._problem(call, "call record")
    text = task.build_prompt(problem, "completion").text
    assert text.endswith(records[0]["question"] + "def solve(a):\n\\Please write your code using "
                         "Call-Based format.The starter code is provided as below. Please finish "
                         "the code.\n<starter_coder>def solve(a):\n<starter_coder>\n\nANSWER:\n")


def test_reference_solutions_pass_except_the_documented_ones(codehalu, local_sandbox):
    """29 of the 40 APPS problems have a reference solution; the six that cannot run on
    Python >= 3.9 (the apps task's known-bad ones, keyed by APPS problem id) fail here too and
    are reported as known bad, with their reasons, once the task documents them under these
    records' ids. (The task's own `known_bad` names the real dataset's record ids.)"""
    task = create_task("codehalu", data_path=codehalu[0].data_path, timeout_s=10)
    problems = codehalu[1]
    task.known_bad = apps_known_bad(problems)
    assert len(task.known_bad) == 6
    report = pipeline.check_ground_truth(task, problems, local_sandbox)
    with_solution = [p for p in problems if p.canonical_solution]
    assert report["total"] == len(with_solution) == 29
    assert report["unexpected"] == {}
    assert report["known_bad"] == task.known_bad
    assert report["passed"] == 29 - 6


# A program per file that shows that file's hallucination (for "read input, print answer").
SHOWS = {
    "data_compliance": "print(int('x' + input()))",
    "structure_access": "print([][len(input())])",
    "identity": "print(undefined_name)",
    "external_source": "import numpyy\nprint(numpyy.answer())",
    "physical_constraint": "def down(n):\n    return down(n + 1)\nprint(down(0))",
    "computational_boundary": "import math\nprint(math.exp(1000))",
    "logic_deviation": "print('no answer')",
    "logic_breakdown": "x = 0\n" + "x = x + 1\n" * 500 + "print(x)",
}


def test_a_run_scores_hallucination_rates_in_both_modes(tmp_path, codehalu, local_sandbox):
    from codeharness.core.models import embedded_checkpoint

    task = create_task("codehalu", data_path=codehalu[0].data_path, timeout_s=5,
                       breakdown_tokenizer=str(embedded_checkpoint()))
    problems = codehalu[1]
    category = {p.id: p.meta["halu_category"] for p in problems}
    config = pipeline.RunConfig(task="codehalu", backend="scripted", task_options=task.options())
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    backend = ScriptedBackend(lambda problem_id, index, prompt: SHOWS[category[problem_id]])
    pipeline.generate(run, config, task, problems, backend)
    pipeline.execute(run, task, problems, local_sandbox)
    scores = pipeline.score(run, task, problems)["hallucination_rates"]
    assert scores["breakdown"]["error"] is None
    assert {k: f["rate"] for k, f in scores["strict"]["files"].items()} == {s.key: 1.0 for s in SUBCATEGORIES}
    # compat: a failing leading import is the reference's UnboundLocalError, and breakdown
    # outcomes count nowhere.
    assert {k: f["rate"] for k, f in scores["compat"]["files"].items()} == {
        s.key: 0.0 if s.key in ("external_source", "logic_breakdown") else 1.0 for s in SUBCATEGORIES}
    assert scores["compat"]["files"]["external_source"]["outcomes"] == {"UnboundLocalError": 5}
    assert scores["strict"]["mean_rate"] == 1.0 and scores["compat"]["mean_rate"] == 0.75
    assert scores["strict"]["correct_rate"] == scores["compat"]["correct_rate"] == 0.0


def test_compat_counts_each_test_case_once_but_divides_by_all_samples():
    problems = [Problem(f"identity/{i}", "q", meta={"halu_category": "identity", "case_key": key,
                                                    "fn_name": None})
                for i, key in enumerate(("7:a", "7:a", "8:b"))]
    statuses = {("identity/0", 0): ("error", "NameError"), ("identity/0", 1): ("passed", None),
                ("identity/1", 0): ("error", "NameError"), ("identity/2", 0): ("failed", "WrongOutput")}
    executions = [Execution("codehalu", pid, index, Status(status), {"base": Status(status)},
                            exception_type=kind, exception_chain=[kind] if kind else [],
                            tests=[{"status": status}])
                  for (pid, index), (status, kind) in statuses.items()]
    scores = HallucinationRates().score(None, problems, [], executions)
    compat, strict = scores["compat"]["files"]["identity"], scores["strict"]["files"]["identity"]
    assert (compat["count"], compat["samples"]) == (1, 4)  # problems 0 and 1 share a test case
    assert (strict["count"], strict["samples"]) == (2, 4)
    assert scores["per_sample"] == {
        "identity/0#0": {"strict": "identity", "compat": "NameError"},
        "identity/0#1": {"strict": "correct", "compat": None},
        "identity/1#0": {"strict": "identity", "compat": None},
        "identity/2#0": {"strict": "logic_deviation", "compat": "Logic_Deviation"}}


def test_replayed_programs_are_classified_per_sample(tmp_path, sample, records):
    from codeharness.cli.main import app
    from typer.testing import CliRunner

    first, second = [problem_id(r) for r in records if r["halu_type"] == HALU_TYPES[0]][:2]
    programs = {first: "import numpyy\nprint(1)", second: "print(x)"}
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": pid, "solution": program}) + "\n"
                               for pid, program in programs.items()))
    result = CliRunner().invoke(app, [
        "eval", "--task", "codehalu", "--backend", "replay", "--samples", str(samples),
        "--data-path", str(sample), "--problems", ",".join(programs),
        "--output-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    scores = json.loads((run / "scores.json").read_text())
    assert scores["hallucination_rates"]["per_sample"] == {
        f"{first}#0": {"strict": "external_source", "compat": "UnboundLocalError"},
        f"{second}#0": {"strict": "identity", "compat": "NameError"}}


@pytest.mark.real_model
def test_eval_on_the_embedded_model_scores_rates_and_profile(tmp_path, sample):
    """The README's kind of command, on two records, through the real hf backend."""
    from codeharness.cli.main import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [
        "eval", "--task", "codehalu", "--backend", "hf", "--data-path", str(sample),
        "--limit", "2", "--max-tokens", "160", "--output-dir", str(tmp_path), "--timeout-s", "5"])
    assert result.exit_code == 0, result.output
    assert "hallucination rate (HR) per sub-category file" in result.output
    (run,) = tmp_path.iterdir()
    scores = json.loads((run / "scores.json").read_text())
    generations = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    assert len(generations) == 2 and all(g["program"].strip() for g in generations)
    strict = scores["hallucination_rates"]["strict"]
    # The first two records: one in each of the first two sub-category files.
    assert list(strict["files"]) == ["data_compliance", "structure_access"]
    assert [f["samples"] for f in strict["files"].values()] == [1, 1]
    passed = scores["status_counts"]["status"].get("passed", 0)
    assert strict["correct_rate"] == passed / 2
    assert scores["hallucination_profile"]["failed"] == 2 - passed
