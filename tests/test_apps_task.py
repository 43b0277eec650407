"""The apps task on real APPS test problems: the 40 CodeHaluEval sample records are APPS test
problems (../shared/data/codehalu/SOURCE.md), turned here back into codeparrot/apps's JSONL
and into the original release's folders. Loading, prompts, reference solutions in the real
sandbox (the same verdicts as the codehalu task's), the CLI, and a run of the embedded model."""

import json

import pytest
from typer.testing import CliRunner

from harness import pipeline
from harness.cli import app
from harness.errors import HarnessError
from tasks import create_task
from tasks.apps import APPS_IMPORTS

SAMPLE = "codehalu/codehalueval_sample_records.jsonl"
STATUSES = {"passed", "failed", "error", "timeout", "out_of_memory", "syntax_error", "sandbox_error"}


def apps_records(codehalu_records) -> list[dict]:
    """codeparrot/apps records: one per APPS problem (task_id), its test cases merged."""
    merged = {}
    for r in codehalu_records:
        problem = merged.setdefault(r["task_id"], {
            "problem_id": r["task_id"], "question": r["question"], "solutions": r["solutions"],
            "difficulty": r["difficulty"], "url": r["url"], "starter_code": r["starter_code"],
            "tests": {"inputs": [], "outputs": [], **({"fn_name": r["fn_name"]} if r["fn_name"] else {})}})
        problem["tests"]["inputs"].append(r["input"])
        problem["tests"]["outputs"].append(r["output"])
    return [{**{k: v for k, v in p.items() if k != "tests"}, "input_output": json.dumps(p["tests"])}
            for p in merged.values()]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_release(root, records):
    """The original APPS release's layout, root/test/NNNN/, with files only where there is data."""
    for r in records:
        folder = root / "test" / f"{r['problem_id']:04d}"
        folder.mkdir(parents=True)
        (folder / "question.txt").write_text(r["question"])
        (folder / "metadata.json").write_text(json.dumps({"difficulty": r["difficulty"], "url": r["url"]}))
        for name, text in (("solutions.json", r["solutions"]), ("input_output.json", r["input_output"]),
                           ("starter_code.py", r["starter_code"])):
            if text:
                (folder / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def codehalu(shared_data):
    task = create_task("codehalu", data_path=str(shared_data / SAMPLE), timeout_s=10)
    return task, task.load()


@pytest.fixture(scope="module")
def records(shared_data):
    return apps_records(json.loads(line) for line in open(shared_data / SAMPLE, encoding="utf-8"))


@pytest.fixture(scope="module")
def apps_jsonl(tmp_path_factory, records):
    return write_jsonl(tmp_path_factory.mktemp("apps") / "test.jsonl", records)


@pytest.fixture(scope="module")
def apps(apps_jsonl):
    task = create_task("apps", data_path=str(apps_jsonl), timeout_s=10)
    return task, task.load()


def view(problems):
    return sorted((p.id, p.prompt, p.entry_point, p.canonical_solution, p.meta) for p in problems)


def test_the_jsonl_file_and_the_release_folders_give_the_same_problems(tmp_path, records, apps, apps_jsonl):
    task, problems = apps
    assert len(problems) == len(records) == 40  # no APPS problem twice among the 40 records
    root = write_release(tmp_path / "APPS", records)
    from_root, from_split = create_task("apps", data_path=str(root)), \
        create_task("apps", data_path=str(root / "test"))
    assert view(from_root.load()) == view(from_split.load()) == view(problems)
    assert [s["path"] for s in task.data_sources()] == [str(apps_jsonl.resolve())]
    assert from_root.data_sources() == from_split.data_sources()
    assert from_split.data_sources()[0]["path"] == str((root / "test").resolve())


def test_the_problems_are_the_codehalu_tasks_with_their_tests_merged(apps, codehalu):
    by_task_id = {p.meta["task_id"]: p for p in codehalu[1]}
    for problem in apps[1]:
        theirs = by_task_id[problem.meta["apps_id"]]
        assert problem.id == f"test/{theirs.meta['task_id']}"
        assert (problem.prompt, problem.canonical_solution, problem.meta["difficulty"]) == \
            (theirs.prompt, theirs.canonical_solution, theirs.meta["difficulty"])
        assert (problem.meta["inputs"], problem.meta["outputs"]) == \
            (theirs.meta["inputs"], theirs.meta["outputs"])


def test_reference_solutions_get_the_codehalu_tasks_verdicts(apps, codehalu, local_sandbox):
    """APPS's own imports before every program change no verdict: 23 of 29 pass, and the
    codehalu task's 6 known-bad references are this task's known-bad ones, each with its reason."""
    task, problems = apps
    ours = pipeline.check_ground_truth(task, problems, local_sandbox)
    theirs = pipeline.check_ground_truth(codehalu[0], codehalu[1], local_sandbox)
    assert task.preamble == APPS_IMPORTS
    assert ours["unexpected"] == theirs["unexpected"] == {}
    assert (ours["total"], ours["passed"]) == (theirs["total"], theirs["passed"]) == (29, 23)
    task_id = {p.id: p.meta["task_id"] for p in codehalu[1]}
    assert ours["known_bad"] == task.known_bad
    assert {f"test/{task_id[pid]}" for pid in theirs["known_bad"]} == set(ours["known_bad"])


def test_difficulty_picks_problems_and_unknown_ones_are_refused(apps_jsonl):
    counts = {level: len(create_task("apps", data_path=str(apps_jsonl), difficulty=level).load())
              for level in ("all", "interview", "competition", "introductory")}
    assert counts == {"all": 40, "interview": 33, "competition": 7, "introductory": 0}
    problems = create_task("apps", data_path=str(apps_jsonl), difficulty="competition").load()
    assert {p.meta["difficulty"] for p in problems} == {"competition"}
    with pytest.raises(HarnessError, match="no difficulty 'hard'; choose one of all, introductory"):
        create_task("apps", data_path=str(apps_jsonl), difficulty="hard").load()


def test_problems_without_tests_are_left_out_and_counted(tmp_path, records):
    untested = [{**r, "input_output": ""} for r in records[:3]]
    path = write_jsonl(tmp_path / "test.jsonl", untested + records[3:])
    task = create_task("apps", data_path=str(path))
    with pytest.warns(UserWarning, match="apps: 3 test problems have no tests and are left out"):
        problems = task.load()
    assert len(problems) == 37
    assert task.data_sources()[0]["left_out_without_tests"] == 3
    root = write_release(tmp_path / "APPS", untested)
    with pytest.warns(UserWarning, match="apps: 3 test problems"):
        assert create_task("apps", data_path=str(root)).load() == []


@pytest.mark.parametrize("change, message", [
    ({"url": None}, r"bad.jsonl line 2: missing field\(s\) url"),
    ({"input_output": "{"}, "bad.jsonl line 2: field input_output is not JSON text"),
    ({"input_output": '{"inputs": ["1"]}'},
     "bad.jsonl line 2: field input_output needs 'inputs' and 'outputs' lists"),
    ({"input_output": '{"inputs": ["1"], "outputs": []}'},
     "bad.jsonl line 2: needs as many expected outputs"),
    ({"solutions": '"print(1)"'}, "bad.jsonl line 2: field solutions is not a JSON list"),
])
def test_malformed_records_are_refused_with_file_line_and_field(tmp_path, records, change, message):
    broken = {k: v for k, v in {**records[1], **change}.items() if v is not None}
    path = write_jsonl(tmp_path / "bad.jsonl", [records[0], broken])
    with pytest.raises(HarnessError, match=message):
        create_task("apps", data_path=str(path)).load()


def test_malformed_release_folders_are_refused_with_folder_and_field(tmp_path, records):
    root = write_release(tmp_path / "APPS", records[:2])
    folder = root / "test" / f"{records[1]['problem_id']:04d}"
    (folder / "question.txt").unlink()
    with pytest.raises(HarnessError, match=rf"{folder}: missing field\(s\) question"):
        create_task("apps", data_path=str(root)).load()
    (folder / "question.txt").write_text("q")
    (folder / "metadata.json").write_text("{")
    with pytest.raises(HarnessError, match=rf"{folder}: field metadata is not JSON text"):
        create_task("apps", data_path=str(root)).load()
    with pytest.raises(HarnessError, match="no APPS problem folders"):
        create_task("apps", data_path=str(tmp_path)).load()


def test_prompts_are_apps(apps, records):
    task, problems = apps
    assert task.build_prompt(problems[0], "completion").text == \
        f"\nQUESTION:\n{records[0]['question']}\nUse Standard Input format\nANSWER:\n"
    call = {**records[0], "starter_code": "class Solution:\n    def solve(self, a):",
            "input_output": json.dumps({"inputs": [[1]], "outputs": [2], "fn_name": "solve"})}
    problem = task._problem(call, "call record")
    assert task.build_prompt(problem, "completion").text == (
        f"\nQUESTION:\n{records[0]['question']}\nclass Solution:\n    def solve(self, a):"
        "\nUse Call-Based format\nANSWER:\n")
    assert "Use Standard Input format" in task.build_prompt(problems[0], "chat").messages[0]["content"]


def test_the_hugging_face_source_is_the_splits_jsonl_file(monkeypatch, apps, apps_jsonl):
    import huggingface_hub

    asked = []
    def download(repo, filename, repo_type):
        asked.append((repo, filename, repo_type))
        return str(apps_jsonl)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    assert view(create_task("apps").load()) == view(apps[1])
    create_task("apps", data_path="hf:someone/apps-copy", split="train").load()
    assert asked == [("codeparrot/apps", "test.jsonl", "dataset"),
                     ("someone/apps-copy", "train.jsonl", "dataset")]


def test_cli_lists_and_shows_apps_problems(apps_jsonl, records):
    runner = CliRunner()
    assert "apps" in runner.invoke(app, ["tasks", "list"]).output.split()
    problem_id = records[1]["problem_id"]
    result = runner.invoke(app, ["tasks", "show", f"apps/test/{problem_id}", "--data-path", str(apps_jsonl)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"# test/{problem_id}  (entry point: None)")
    assert records[1]["question"] in result.output
    assert json.loads(records[1]["solutions"])[0] in result.output
    assert "## tests (1)" in result.output
    assert "apps_program.check(" in result.output


def test_cli_check_gt_runs_first_references_and_names_known_bad_ones(tmp_path, records):
    chosen = [r for r in records if r["problem_id"] in (75, 401, 1970)]
    path = write_jsonl(tmp_path / "test.jsonl", chosen)
    result = CliRunner().invoke(app, ["check-gt", "--task", "apps", "--data-path", str(path),
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "known bad  test/1970: the reference solution uses `nonlocal`" in result.output
    assert "2/3 reference solutions pass" in result.output


@pytest.mark.real_model
def test_eval_on_the_embedded_model_runs_three_problems(tmp_path, apps_jsonl, records):
    result = CliRunner().invoke(app, [
        "eval", "--task", "apps", "--backend", "hf", "--data-path", str(apps_jsonl),
        "--limit", "3", "--max-tokens", "64", "--output-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    generations = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    executions = [json.loads(line) for line in (run / "executions.jsonl").read_text().splitlines()]
    ids = [f"test/{r['problem_id']}" for r in records[:3]]
    assert sorted(g["problem_id"] for g in generations) == sorted(ids)
    assert sorted(e["problem_id"] for e in executions) == sorted(ids)
    assert {e["status"] for e in executions} <= STATUSES
