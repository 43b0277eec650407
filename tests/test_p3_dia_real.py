"""P3 and DIA end to end on the embedded SmolLM2 through the real hf backend and the local
sandbox; each run's metrics are recomputed here from its records alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.real_model

CODEHARNESS = [sys.executable, "-m", "codeharness"]


def run_eval(run_dir, *arguments):
    subprocess.run([*CODEHARNESS, "eval", "--backend", "hf", "--run-dir", str(run_dir), *arguments],
                   check=True, timeout=900)
    read = lambda name: [json.loads(line) for line in (run_dir / name).read_text().splitlines()]  # noqa: E731
    return read("generations.jsonl"), read("executions.jsonl"), json.loads((run_dir / "scores.json").read_text())


def test_p3_medium_on_the_embedded_model(tmp_path, test_data):
    generations, executions, scores = run_eval(
        tmp_path / "run", "--task", "p3", "--data-path", str(test_data / "p3"), "--prompt", "medium",
        "--limit", "4", "--max-tokens", "48")
    assert len(generations) == len(executions) == 4
    for generation in generations:
        assert generation["prompt"].endswith("def g6():")
        assert generation["program"].endswith("\n\nsol = g\n")
    passed = {e["problem_id"]: e["status"] == "passed" for e in executions}
    assert scores["pass_at_k"]["base"]["pass@1"]["value"] == pytest.approx(sum(passed.values()) / 4)
    assert scores["p3"]["per_module"]["study.py"]["solved"] == sum(passed.values())
    assert {e["details"]["module"] for e in executions} == {"study.py"}


def test_p3_bootstrap_rounds_on_the_embedded_model(tmp_path, test_data):
    generations, executions, scores = run_eval(
        tmp_path / "run", "--task", "p3", "--data-path", str(test_data / "p3"), "--prompt", "bootstrap",
        "--limit", "3", "--n", "2", "--temperature", "0.8", "--bootstrap-round-size", "1", "--max-tokens", "32")
    assert {(e["problem_id"], e["sample_index"]) for e in executions} == \
        {(g["problem_id"], g["sample_index"]) for g in generations}
    first = {}
    for execution in sorted(executions, key=lambda e: e["sample_index"]):
        if execution["status"] == "passed":
            first.setdefault(execution["problem_id"], execution["sample_index"])
    # a puzzle solved in round 0 gets no round-1 sample
    assert all(e["sample_index"] <= first.get(e["problem_id"], 1) for e in executions)
    curve = scores["p3"]["attempts_to_first_success"]
    assert curve["solved_within"]["pass@2"] == pytest.approx(len(first) / 3)
    assert curve["solved_within"]["pass@1"] == pytest.approx(sum(i == 0 for i in first.values()) / 3)


def test_dia_on_the_embedded_model(tmp_path):
    generations, executions, scores = run_eval(
        tmp_path / "run", "--task", "dia", "--k", "2", "--limit", "6", "--max-tokens", "24")
    assert len(generations) == len(executions) == 6
    per_template = {}
    for execution in executions:
        counts = per_template.setdefault(execution["details"]["template_id"], {"correct": 0, "wrong": 0, "skipped": 0})
        counts[execution["details"]["verdict"]] += 1
    assert len(per_template) == 3
    reliability = sum((c["correct"] - 2 * c["wrong"]) / 2 for c in per_template.values())
    assert scores["dia"]["reliability_score"] == pytest.approx(reliability)
    assert scores["dia"]["confidence_index"]["count"] == sum(c["correct"] == 2 for c in per_template.values())
    assert scores["dia"]["k"] == 2
    assert scores["prompt_style"] == "chat"
    assert generations[0]["prompt"].startswith("<|im_start|>system\nYou are a Cybersecurity and math expert")
