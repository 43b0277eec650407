"""The apps task on 40 real APPS test problems (tests/data/apps/test_problems.jsonl, in
codeparrot/apps's JSONL format, one test case each), also written here into the original
release's folders. Loading, prompts, reference solutions in the real sandbox (the same verdicts
as the codehalu task's on records made from the same problems), the CLI, and a run of the
embedded model."""

import json

import pytest
from codeharness.cli.main import app
from codeharness.core.errors import HarnessError
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task
from codeharness.tasks.apps import APPS_IMPORTS
from typer.testing import CliRunner

from tests.codehalu_records import (
    APPS_TEST_PROBLEMS,
    apps_test_problems,
    codehalu_file,
    write_jsonl,
)

STATUSES = {"passed", "failed", "error", "timeout", "out_of_memory", "syntax_error", "sandbox_error"}


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
def codehalu(test_data, tmp_path_factory):
    """The codehalu task on CodeHaluEval-format records made from the same APPS problems."""
    path = codehalu_file(test_data, tmp_path_factory.mktemp("codehalu"))
    task = create_task("codehalu", data_path=str(path), timeout_s=10)
    return task, task.load()


@pytest.fixture(scope="module")
def records(test_data):
    return apps_test_problems(test_data)


@pytest.fixture(scope="module")
def apps_jsonl(test_data):
    return test_data / APPS_TEST_PROBLEMS


@pytest.fixture(scope="module")
def apps(apps_jsonl):
    task = create_task("apps", data_path=str(apps_jsonl), timeout_s=10)
    return task, task.load()


def view(problems):
    return sorted((p.id, p.prompt, p.entry_point, p.canonical_solution, p.meta) for p in problems)


def test_the_jsonl_file_and_the_release_folders_give_the_same_problems(tmp_path, records, apps, apps_jsonl):
    task, problems = apps
    assert len(problems) == len(records) == 40
    assert [p.id for p in problems] == [f"test/{r['problem_id']}" for r in records]
    root = write_release(tmp_path / "APPS", records)
    from_root, from_split = create_task("apps", data_path=str(root)), \
        create_task("apps", data_path=str(root / "test"))
    assert view(from_root.load()) == view(from_split.load()) == view(problems)
    assert [s["path"] for s in task.data_sources()] == [str(apps_jsonl.resolve())]
    assert from_root.data_sources() == from_split.data_sources()
    assert from_split.data_sources()[0]["path"] == str((root / "test").resolve())


def test_the_problems_are_the_codehalu_tasks_made_from_them(apps, codehalu):
    by_task_id = {p.meta["task_id"]: p for p in codehalu[1]}
    assert set(by_task_id) == {p.meta["apps_id"] for p in apps[1]}
    for problem in apps[1]:
        theirs = by_task_id[problem.meta["apps_id"]]
        assert problem.id == f"test/{theirs.meta['task_id']}"
        assert (problem.prompt, problem.canonical_solution, problem.meta["difficulty"]) == \
            (theirs.prompt, theirs.canonical_solution, theirs.meta["difficulty"])
        assert (problem.meta["inputs"], problem.meta["outputs"]) == \
            (theirs.meta["inputs"], theirs.meta["outputs"])


def test_reference_solutions_get_the_codehalu_tasks_verdicts(apps, codehalu, local_sandbox):
    """APPS's own imports before every program change no verdict: 23 of 29 pass, the 6 that
    fail are this task's known-bad references, each with its reason, and the codehalu task
    fails exactly the records made from those 6 problems (its own `known_bad` names the real
    dataset's record ids, not these records')."""
    task, problems = apps
    ours = pipeline.check_ground_truth(task, problems, local_sandbox)
    theirs = pipeline.check_ground_truth(codehalu[0], codehalu[1], local_sandbox)
    assert task.preamble == APPS_IMPORTS
    assert ours["unexpected"] == {}
    assert (ours["total"], ours["passed"]) == (theirs["total"], theirs["passed"]) == (29, 23)
    assert ours["known_bad"] == task.known_bad
    task_id = {p.id: p.meta["task_id"] for p in codehalu[1]}
    failed = {**theirs["known_bad"], **theirs["unexpected"]}
    assert {f"test/{task_id[pid]}" for pid in failed} == set(ours["known_bad"])


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
    ({"url": None}, r"bad.jsonl:2: missing field\(s\) url"),
    ({"input_output": "{"}, "bad.jsonl:2: field input_output is not JSON text"),
    ({"input_output": '{"inputs": ["1"]}'},
     "bad.jsonl:2: field input_output needs 'inputs' and 'outputs' lists"),
    ({"input_output": '{"inputs": ["1"], "outputs": []}'},
     "bad.jsonl:2: needs as many expected outputs"),
    ({"solutions": '"print(1)"'}, "bad.jsonl:2: field solutions is not a JSON list"),
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
