"""Leaderboard tables from run directories made by the pipeline (scripted model, real sandbox)."""

import json
import shutil

import pandas as pd
import pytest
from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.leaderboard.collect import collect
from codeharness.leaderboard.publish import commit_to_branch, copy_site
from codeharness.leaderboard.render import to_latex, to_markdown, write_tables
from codeharness.leaderboard.site import build_site
from codeharness.leaderboard.table import build_table
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

from tests.fakes import ScriptedBackend


def make_run(root, name, sandbox, correct_every, n=4, temperature=0.8, task_problems=None):
    task = create_task("humaneval")
    problems = pipeline.load_problems(task, 4)
    by_id = {p.id: p for p in problems}
    config = pipeline.RunConfig(task="humaneval", model=name, backend="scripted",
                                sampling=SamplingConfig(n=n, temperature=temperature), limit=4)
    run = RunDir(root / name)
    pipeline.open_run(run, config, overwrite=False, task_problems=task_problems)

    def answer(problem_id, index, prompt):
        problem = by_id[problem_id]
        good = (index + int(problem_id.split("/")[1])) % correct_every == 0
        return problem.canonical_solution[len(problem.prompt):] if good else "    return undefined_name\n"

    pipeline.generate(run, config, task, problems, ScriptedBackend(answer, model=name))
    pipeline.execute(run, task, problems, sandbox)
    pipeline.score(run, task, problems)
    return run


@pytest.fixture(scope="module")
def results(tmp_path_factory, local_sandbox):
    root = tmp_path_factory.mktemp("results")
    make_run(root, "strong", local_sandbox, correct_every=1)
    make_run(root, "medium", local_sandbox, correct_every=2)
    make_run(root, "weak", local_sandbox, correct_every=4)
    make_run(root, "weak-greedy", local_sandbox, correct_every=4, n=1, temperature=0.0)
    (root / "unscored").mkdir()
    (root / "unscored" / "manifest.json").write_text(json.dumps({"config": {"task": "humaneval"}}))
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{not json")
    return root


def test_every_run_is_a_row_and_bad_runs_are_reported_not_fatal(results):
    found = collect([results])
    assert sorted(r.run_id for r in found.runs) == ["medium", "strong", "weak", "weak-greedy"]
    reasons = {path.name: reason for path, reason in found.skipped}
    assert "not scored" in reasons["unscored"] and "not JSON" in reasons["broken"]
    table = build_table(found.runs)
    assert len(table) == 4 and set(table["model"]) == {"strong", "medium", "weak", "weak-greedy"}
    for _, row in table.iterrows():
        scores = json.loads((results / row["run_id"] / "scores.json").read_text())
        assert row["base pass@1"] == scores["pass_at_k"]["base"]["pass@1"]["value"]
        assert row["command"] == json.loads((results / row["run_id"] / "manifest.json").read_text())["command"]
    strong = table[table["model"] == "strong"].iloc[0]
    assert strong["base pass@1"] == 1.0 and strong["rank"] == 1 and strong["primary metric"] == "base pass@1"


def test_ranks_mark_overlapping_intervals_as_ties(results):
    table = build_table(collect([results]).runs).set_index("model")
    for model, row in table.iterrows():
        better = table[table["base pass@1 ci_low"] > row["base pass@1 ci_high"]]
        assert row["rank"] == 1 + len(better)
        overlapping = table[(table["base pass@1 ci_low"] <= row["base pass@1 ci_high"])
                            & (table["base pass@1 ci_high"] >= row["base pass@1 ci_low"])]
        assert row["tied"] == (len(overlapping) > 1)
    assert table.loc["weak", "tied"] and table.loc["weak-greedy", "tied"]


def test_outputs_in_every_format(results, tmp_path):
    table = build_table(collect([results]).runs)
    paths = write_tables(table, tmp_path)
    assert {p.name for p in paths} == {"leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.tex"}
    markdown = to_markdown(table)
    header = next(line for line in markdown.splitlines() if line.startswith("| rank"))
    assert "base pass@1 %" in header and "command" in header
    assert "| 1 " in markdown and "100.0 (100.0–100.0)" in markdown
    latex = to_latex(table)
    assert r"\toprule" in latex and r"\bottomrule" in latex and "pass@1" in latex
    assert pd.read_csv(tmp_path / "leaderboard.csv").shape[0] == 4
    assert len(json.loads((tmp_path / "leaderboard.json").read_text())) == 4


def test_site_files_and_publishing(results, tmp_path):
    found = collect([results])
    table = build_table(found.runs)
    site = tmp_path / "site"
    write_tables(table, site)
    index = build_site(table, found.runs, found.skipped, site)
    html = index.read_text()
    assert "manifests/strong.json" in html and (site / "manifests" / "strong.json").exists()
    assert (site / "models" / "strong.html").exists() and (site / "plots" / "humaneval-pass_at_k.svg").exists()
    assert "unscored" in html
    copied = copy_site(site, tmp_path / "copy")
    assert (copied / "index.html").read_text() == html

    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "start"], check=True)
    sha = commit_to_branch(site, repo, "gh-pages", "publish")
    files = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", sha],
                           capture_output=True, text=True, check=True).stdout.split()
    assert "index.html" in files and "leaderboard.md" in files
    assert subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True,
                          text=True).stdout.count("\n") == 1


def test_a_partial_run_is_shown_with_its_problem_count_but_never_ranked(results, tmp_path, local_sandbox):
    """One perfect sample on 4 of HumanEval's 164 problems must not outrank complete runs."""
    root = tmp_path / "results"
    root.mkdir()
    for name in ("strong", "weak"):
        shutil.copytree(results / name, root / name)
    make_run(root, "lucky-subset", local_sandbox, correct_every=1, task_problems=164)
    table = build_table(collect([root]).runs).set_index("model")
    lucky = table.loc["lucky-subset"]
    assert not lucky["complete"] and pd.isna(lucky["rank"]) and lucky["problems"] == 4
    assert table.loc["strong", "rank"] == 1 and table.loc["strong", "complete"]
    markdown = to_markdown(build_table(collect([root]).runs))
    row = next(line for line in markdown.splitlines() if "lucky-subset" in line)
    assert row.startswith("| partial")
    assert markdown.index("lucky-subset") > markdown.index("| weak ")  # listed after the ranked runs
