"""End to end on the embedded SmolLM2 through the real hf backend: solutions, generated
tests, the pass matrix, the selection table and a preference dataset TRL accepts."""

import json

import pytest
from codeharness.cli.main import app
from typer.testing import CliRunner

from tests.test_prefs import assert_trl_takes


@pytest.mark.real_model
def test_prefs_then_select_on_the_embedded_model(tmp_path):
    run, out = tmp_path / "run", tmp_path / "prefs"
    result = CliRunner().invoke(app, [
        "prefs", "--task", "humaneval", "--limit", "4", "--backend", "hf", "--n", "4",
        "--temperature", "0.8", "--max-tokens", "192", "--n-tests", "3", "--test-max-tokens", "160",
        "--test-timeout", "0.5", "--from-test-split", "--run-dir", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (run / "matrix.jsonl").read_text().splitlines()]
    assert {r["problem_id"] for r in rows} == {f"HumanEval/{i}" for i in range(4)}
    assert all(len(r["passes"]) == len(r["test_ids"]) for r in rows)
    assert any(r["test_ids"] for r in rows), "the model wrote no usable test at all"

    result = CliRunner().invoke(app, ["select", str(run)])
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "selection.json").read_text())["summary"]["base"]
    assert set(summary) == {"b4", "codet", "mbr_exec", "maxpass", "random"}
    assert all(totals["all"]["problems"] == 4 for totals in summary.values())

    statistics = json.loads((out / "pair_stats.json").read_text())
    assert statistics["problems"] == 4
    if statistics["pairs"]:
        assert_trl_takes(out)
