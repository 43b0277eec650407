"""The matrix stage in the real local sandbox, then selection and DSTC pairs on its output."""

import json

import pytest
from codeharness.cli.main import app
from codeharness.core.errors import HarnessError
from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import prefs, testgen
from codeharness.pipeline import stages as pipeline
from codeharness.pipeline.matrix import (
    MatrixSettings,
    build_matrix,
    load_matrices,
    matrix_log,
)
from codeharness.pipeline.selection import SelectionOptions, evaluate_selection
from codeharness.sandbox.local import LocalSandbox
from codeharness.tasks import create_task
from typer.testing import CliRunner

from tests.fakes import ScriptedBackend

# Solutions for HumanEval/0 and /1: 0 and 1 are the same right program, 2 is wrong, 3 does
# not compile.
WRONG_BODY = "    return None\n"
BROKEN_BODY = "    return (\n"
# Tests for HumanEval/0, in sample order. The hanging and the crashing test must cost only
# themselves.
TESTS_0 = [
    "has_close_elements([1.0, 2.0], 1.5) == True",  # right
    "has_close_elements([1.0, 3.0], 1.5) == True",  # wrong
    "has_close_elements([1.0], 0.5) == any(iter(int, 1))",  # hangs
    "has_close_elements([1.0], 0.5) == __import__('os')._exit(3)",  # kills the process
    "has_close_elements([], 1.0) == False",  # right
]
TESTS_1 = ["separate_paren_groups('(()) ()') == ['(())', '()']"]


def solution(problems):
    def answer(problem_id, index, prompt):
        reference = problems[problem_id].canonical_solution[len(problems[problem_id].prompt):]
        return {0: reference, 1: reference, 2: WRONG_BODY, 3: BROKEN_BODY}[index]
    return answer


def scripted_tests(problem_id, index, prompt):
    tests = TESTS_0 if problem_id == "HumanEval/0" else TESTS_1
    return "\nassert ".join(tests) + "\n" if index == 0 else tests[0] + "\n"


class KilledSandbox:
    """Passes the first `after` outcomes of the real sandbox through, then is killed."""

    def __init__(self, box, after):
        self.box, self.after = box, after

    def describe(self):
        return self.box.describe()

    def run(self, jobs):
        jobs = list(jobs)
        for count, outcome in enumerate(self.box.run(jobs)):
            if count == self.after:
                raise KeyboardInterrupt("simulated kill")
            yield outcome


class CountingSandbox(KilledSandbox):
    def __init__(self, box):
        super().__init__(box, after=None)
        self.jobs = []

    def run(self, jobs):
        jobs = list(jobs)
        self.jobs += [job for job in jobs if job.tests and job.tests[0].group == "generated"]
        return self.box.run(jobs)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, local_sandbox):
    task = create_task("humaneval")
    problems = pipeline.load_problems(task, 2)
    by_id = {p.id: p for p in problems}
    config = pipeline.RunConfig(task="humaneval", sampling=SamplingConfig(n=4), backend="scripted")
    run = RunDir(tmp_path_factory.mktemp("matrix") / "run")
    pipeline.open_run(run, config, overwrite=False)
    run.update_manifest({"prompt_style": "completion"})
    pipeline.generate(run, config, task, problems, ScriptedBackend(solution(by_id)))
    settings = testgen.TestGenerationSettings(SamplingConfig(n=2), prompt_style="completion")
    testgen.generate_tests(run, task, problems, settings, ScriptedBackend(scripted_tests))

    pipeline.execute(run, task, problems, local_sandbox)
    matrix_settings = MatrixSettings(test_timeout_s=0.5)
    with LocalSandbox(workers=1) as doomed, pytest.raises(KeyboardInterrupt):
        build_matrix(run, task, problems, KilledSandbox(doomed, after=2), matrix_settings)
    rows_before = len(matrix_log(run))
    counting = CountingSandbox(local_sandbox)
    build_matrix(run, task, problems, counting, matrix_settings)
    return run, task, problems, rows_before, counting.jobs


def test_the_matrix_resumes_with_only_the_missing_solutions(finished_run):
    run, _, _, rows_before, resumed_jobs = finished_run
    assert rows_before == 2
    assert len(resumed_jobs) == 6 - 2  # 3 distinct programs for each problem
    rows = [json.loads(line) for line in (run.path / "matrix.jsonl").read_text().splitlines()]
    assert len({(r["problem_id"], r["program_sha256"]) for r in rows}) == len(rows) == 6


def test_each_test_is_isolated_and_ground_truth_sits_beside_it(finished_run):
    run, _, problems, _, _ = finished_run
    matrix = load_matrices(run, problems)["HumanEval/0"]
    codes = {t.id: t.code for t in testgen.problem_tests(run, problems)["HumanEval/0"]}
    assert [codes[i] for i in matrix.test_ids] == ["assert " + t for t in TESTS_0]
    assert matrix.passes.astype(int).tolist() == [
        [1, 0, 0, 0, 1],  # the right program: the hang and the crash cost only their tests
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ]
    assert matrix.runnable.tolist() == [True, True, False]
    assert matrix.correct["base"].tolist() == [True, False, False]
    rows = {r["candidate"]: r for r in map(json.loads, (run.path / "matrix.jsonl").read_text().splitlines())
            if r["problem_id"] == "HumanEval/0"}
    assert rows[0]["sample_indices"] == [0, 1]
    assert rows[0]["test_statuses"] == {"passed": 2, "failed": 1, "timeout": 1, "error": 1}
    assert rows[2]["program_status"] == "syntax_error"


def test_selection_and_preference_pairs_on_the_matrix(finished_run):
    run, task, problems, _, _ = finished_run
    result = evaluate_selection(load_matrices(run, problems), SelectionOptions())
    for method in ("b4", "codet", "maxpass"):
        assert result["summary"]["base"][method]["all"]["pass@1"] == 1.0
    # Each problem has 3 programs, one of which does not load: left out, 1 of 2 is right.
    assert result["summary"]["base"]["random"]["all"]["pass@1"] == pytest.approx(1 / 2)
    kept = evaluate_selection(load_matrices(run, problems), SelectionOptions(keep_unrunnable=True))
    assert kept["summary"]["base"]["random"]["all"]["pass@1"] == pytest.approx(1 / 3)
    assert result["summary"]["base"]["b4"]["selection_matters"]["problems"] == 2

    pairs, statistics = prefs.preference_pairs(run, task, problems)
    first = next(p for p in pairs if p["problem_id"] == "HumanEval/0")
    assert first["chosen_candidate"] == 0 and first["chosen_correct"] == {"base": True}
    assert first["chosen"].endswith(f"\n\nassert {TESTS_0[0]}\n")  # hardest passed: ties -> first
    assert first["rejected"].endswith(f"\n\nassert {TESTS_0[0]}\n")  # easiest failed by some code
    assert first["rejected_candidate"] == 1  # fewest passes among the codes failing it: first
    assert statistics["pairs"] == 2 and statistics["yield"] == 1.0


def test_select_command_prints_and_writes_the_table(finished_run):
    run, *_ = finished_run
    result = CliRunner().invoke(app, ["select", str(run.path), "--method", "b4,random",
                                      "--keep-unrunnable", "--beta0", "100"])
    assert result.exit_code == 0, result.output
    assert "random" in result.output and "kept as candidates" in " ".join(result.output.split())
    selection = json.loads((run.path / "selection.json").read_text())
    assert selection["options"] == {"methods": ["b4", "random"], "keep_unrunnable": True,
                                    "alpha_xy": 1000.0, "beta0": 100.0}
    assert selection["candidates"]["dropped"] == 0 and selection["candidates"]["unrunnable"] == 2

    result = CliRunner().invoke(app, ["select", str(run.path), "--method", "b4,codet", "--beta0", "1e4,1e5,1e6"])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())
    assert "left out, as in B4's authors' code" in printed
    assert all(f"b4 beta0={b}" in printed for b in ("1e4", "1e5", "1e6"))
    assert "β0=1e4,1e5,1e6" in printed
    selection = json.loads((run.path / "selection.json").read_text())
    assert selection["options"]["keep_unrunnable"] is False and selection["options"]["beta0"] == [1e4, 1e5, 1e6]
    assert selection["candidates"] == {"total": 6, "unrunnable": 2, "dropped": 2,
                                       "problems_left_without_candidates": 0}
    assert list(selection["summary"]["base"]) == ["b4 beta0=1e4", "b4 beta0=1e5", "b4 beta0=1e6", "codet"]

    result = CliRunner().invoke(app, ["select", str(run.path), "--beta0", "1e4,many"])
    assert result.exit_code != 0 and "--beta0 takes a number or comma-separated numbers" in result.output
    assert "Traceback" not in result.output


def test_a_matrix_line_with_a_bad_field_names_file_and_line(finished_run, tmp_path):
    run, task, problems, _, _ = finished_run
    copy = RunDir(tmp_path / "copy")
    copy.path.mkdir()
    for name in ("manifest.json", "generations.jsonl", "matrix.jsonl"):
        (copy.path / name).write_text((run.path / name).read_text())
    lines = (copy.path / "matrix.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["passes"] = bad["passes"][:-1]
    lines[1] = json.dumps(bad)
    (copy.path / "matrix.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(HarnessError, match=r"matrix.jsonl:2: field passes"):
        load_matrices(copy, problems)


def test_pairs_from_an_evaluation_task_are_refused_unless_asked_for_and_the_manifest_names_their_problems(
        finished_run, tmp_path):
    import shutil

    run = RunDir(tmp_path / "run")  # a copy whose config names its two problems
    shutil.copytree(finished_run[0].path, run.path)
    run.update_manifest({"limit": 2}, section="config")
    out = tmp_path / "prefs"
    refused = CliRunner().invoke(app, ["prefs", "--run-dir", str(run.path), "--out", str(out)])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "declares no training split" in " ".join(refused.output.split())
    assert not out.exists() and "preference_pairs" not in run.manifest()

    result = CliRunner().invoke(app, ["prefs", "--run-dir", str(run.path), "--out", str(out), "--from-test-split"])
    assert result.exit_code == 0, result.output
    assert "2 pair(s) come from evaluation problems" in " ".join(result.output.split())
    sources = run.manifest()["preference_pairs"]
    assert sources["pair_problems"] == ["HumanEval/0", "HumanEval/1"]
    assert sources["evaluation_problems_in_pairs"] == ["HumanEval/0", "HumanEval/1"]
    assert sources["from_test_split"] is True and sources["training_options"] == {}
    assert sources["task"] == "humaneval" and sources["out"] == str(out.resolve())
    assert json.loads((out / "pair_stats.json").read_text())["sources"] == sources
