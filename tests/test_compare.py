"""`codeharness compare`: the paired difference of two runs per metric, with a bootstrap
interval over problems, on run directories whose verdicts are known by construction."""

import json

import numpy as np
import pytest
from codeharness.cli.main import app
from codeharness.core.errors import HarnessError
from codeharness.core.passk import pass_at_k
from codeharness.core.records import Execution, SamplingConfig, Status, to_dict
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.pipeline.compare import compare_runs
from typer.testing import CliRunner


def make_run(path, verdicts, task="humaneval", model=None, groups=("base",), n=None):
    """A run whose executions are `verdicts`: problem id -> list of passed flags per sample
    (the same for every group)."""
    samples = n or max(len(v) for v in verdicts.values())
    config = pipeline.RunConfig(task=task, backend="replay", model=model,
                                sampling=SamplingConfig(n=samples))
    run = RunDir(path)
    with run.writer():
        pipeline.open_run(run, config, overwrite=False)
        log = run.executions()
        for problem_id, passed in verdicts.items():
            for index, ok in enumerate(passed):
                status = Status.PASSED if ok else Status.FAILED
                log.append(to_dict(Execution(task, problem_id, index, status,
                                             {group: status for group in groups})))
    return path


def ids(count):
    return [f"HumanEval/{i}" for i in range(count)]


def test_the_difference_per_problem_is_averaged_and_its_interval_is_paired(tmp_path):
    # 40 problems of very different difficulty; B solves one more sample in 10 on each, so
    # every problem's difference is +0.1: a paired interval has no width, while the runs'
    # own intervals (problems resampled separately) span tens of points.
    rng = np.random.default_rng(3)
    solved = rng.integers(0, 10, size=40)
    a = make_run(tmp_path / "a", {p: [i < c for i in range(10)] for p, c in zip(ids(40), solved)})
    b = make_run(tmp_path / "b", {p: [i < c + 1 for i in range(10)] for p, c in zip(ids(40), solved)})
    result = compare_runs(a, b)
    first = result["metrics"][0]
    assert first["metric"] == "base pass@1" and result["problems"] == 40
    assert first["a"] == pytest.approx(solved.mean() / 10)
    assert first["b"] == pytest.approx((solved.mean() + 1) / 10)
    assert first["difference"] == pytest.approx(0.1)
    assert first["ci_low"] == pytest.approx(0.1) and first["ci_high"] == pytest.approx(0.1)
    assert (first["problems_b_better"], first["problems_a_better"]) == (40, 0)
    # every k up to the samples per problem, each from Chen et al.'s estimator per problem
    assert [m["k"] for m in result["metrics"]] == list(range(1, 11))
    pass5 = result["metrics"][4]
    assert pass5["a"] == pytest.approx(np.mean([pass_at_k(10, int(c), 5) for c in solved]))


def test_a_mixed_difference_gets_an_interval_around_it_from_resampled_problems(tmp_path):
    # 30 problems: B gains a problem on 12, loses one on 3, ties on 15 (one sample each).
    a_passed = [False] * 12 + [True] * 3 + [True] * 8 + [False] * 7
    b_passed = [True] * 12 + [False] * 3 + [True] * 8 + [False] * 7
    a = make_run(tmp_path / "a", {p: [x] for p, x in zip(ids(30), a_passed)})
    b = make_run(tmp_path / "b", {p: [x] for p, x in zip(ids(30), b_passed)})
    (metric,) = compare_runs(a, b)["metrics"]
    assert metric["difference"] == pytest.approx(9 / 30)
    assert metric["ci_low"] < 9 / 30 < metric["ci_high"]
    # The percentile bootstrap is close to the normal interval of the mean difference.
    differences = np.array(b_passed, float) - np.array(a_passed, float)
    half = 1.96 * differences.std() / np.sqrt(30)
    assert metric["ci_low"] == pytest.approx(9 / 30 - half, abs=0.03)
    assert metric["ci_high"] == pytest.approx(9 / 30 + half, abs=0.03)
    assert (metric["problems_b_better"], metric["problems_a_better"]) == (12, 3)
    # The same comparison the other way round is its mirror image.
    (mirror,) = compare_runs(b, a)["metrics"]
    assert mirror["difference"] == pytest.approx(-9 / 30)
    assert (mirror["problems_b_better"], mirror["problems_a_better"]) == (3, 12)


def test_runs_of_different_tasks_or_problems_are_refused(tmp_path):
    a = make_run(tmp_path / "a", {p: [True] for p in ids(3)})
    fewer = make_run(tmp_path / "b", {p: [True] for p in ids(2)})
    other = make_run(tmp_path / "c", {f"Mbpp/{i}": [True] for i in range(3)}, task="mbpp")
    with pytest.raises(HarnessError, match=r"different problems \(3 in A, 2 in B; 1 only in A, e.g. HumanEval/2\)"):
        compare_runs(a, fewer)
    with pytest.raises(HarnessError, match="different tasks \\('humaneval' in .*, 'mbpp' in"):
        compare_runs(a, other)
    with pytest.raises(HarnessError, match="not a run directory"):
        compare_runs(a, tmp_path / "nothing")


def test_groups_in_one_run_only_are_noted_and_unequal_sample_counts_share_the_smaller_ks(tmp_path):
    a = make_run(tmp_path / "a", {p: [True, False, True] for p in ids(4)}, groups=("base", "plus"))
    b = make_run(tmp_path / "b", {p: [True, True] for p in ids(4)})
    result = compare_runs(a, b)
    assert [m["metric"] for m in result["metrics"]] == ["base pass@1", "base pass@2"]
    assert result["metrics"][0]["a"] == pytest.approx(2 / 3) and result["metrics"][0]["b"] == 1.0
    assert any("'plus' is in only one run" in note for note in result["notes"])


def test_a_trained_models_pair_problems_among_the_compared_ones_are_noted(tmp_path):
    model = tmp_path / "trained"
    model.mkdir()
    (model / "codeharness_training.json").write_text(json.dumps({
        "method": "dpo", "preferences": {"sources": {"task": "humaneval", "pair_problems": ["HumanEval/1", "HumanEval/9"]}}}))
    a = make_run(tmp_path / "a", {p: [False] for p in ids(3)})
    b = make_run(tmp_path / "b", {p: [True] for p in ids(3)}, model=str(model))
    notes = compare_runs(a, b)["notes"]
    assert any("run B's model was trained on preference pairs from 1 of the 3 compared problems" in n for n in notes)


def test_the_command_prints_the_table_writes_json_and_refuses_in_one_line(tmp_path):
    a = make_run(tmp_path / "a", {p: [i % 2 == 0] for i, p in enumerate(ids(6))})
    b = make_run(tmp_path / "b", {p: [True] for p in ids(6)})
    out = tmp_path / "compare.json"
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())
    assert "B - A over 6 problems" in printed and "base pass@1" in printed and "+50.00" in printed
    saved = json.loads(out.read_text())
    assert saved["metrics"][0]["difference"] == 0.5 and saved["problem_ids"] == ids(6)
    other = make_run(tmp_path / "c", {p: [True] for p in ids(5)})
    refused = CliRunner().invoke(app, ["compare", str(a), str(other)])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "error: the runs cover different problems" in " ".join(refused.output.split())
