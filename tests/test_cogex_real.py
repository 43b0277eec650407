"""CoGEX end to end on the embedded SmolLM2 through the real hf backend and local sandbox."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

CRUXEVAL = Path(__file__).parent / "data" / "cruxeval" / "cruxeval.jsonl"
pytestmark = pytest.mark.real_model


def codeharness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "codeharness", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_emulation_fidelity_on_humaneval(tmp_path):
    run_dir = tmp_path / "run"
    codeharness("eval", "--task", "emulate_humaneval", "--limit", "3", "--backend", "hf",
                "--max-tokens", "64", "--run-dir", str(run_dir), cwd=tmp_path)
    executions = [json.loads(line) for line in (run_dir / "executions.jsonl").read_text().splitlines()]
    assert len(executions) == 3
    for execution in executions:
        assert execution["details"]["raised"] is False and execution["details"]["real"]
    scores = json.loads((run_dir / "scores.json").read_text())
    fidelity = scores["emulation_fidelity"]["all"]
    assert fidelity["samples"] == 3
    recomputed = sum(e["status"] == "passed" for e in executions) / 3
    assert fidelity["accuracy"] == recomputed


def test_program_search_per_task_and_its_cache(tmp_path):
    """CoTACS on a DIA template and a CRUXEval function family: per-task and macro results,
    the model calls counted, the SFT export; the same command again makes no model call."""
    args = ["cogex", "search", "--battery", "dia:gcd_of_two,cruxeval:sample_103", "--cruxeval-path", str(CRUXEVAL),
            "--backend", "hf", "--candidates", "2", "--train-items", "3", "--test-items", "2", "--max-tokens", "80",
            "--cache", str(tmp_path / "calls.jsonl")]
    codeharness(*args, "--run-dir", str(tmp_path / "first"), cwd=tmp_path)
    first = json.loads((tmp_path / "first" / "scores.json").read_text())
    assert set(first["families"]) == {"dia/gcd_of_two", "cruxeval/sample_103"}
    predictions = [json.loads(line) for line in (tmp_path / "first" / "predictions.jsonl").read_text().splitlines()]
    for name, family in first["families"].items():
        for method in ("cotacs", "zero_shot", "few_shot", "program_per_item"):
            rows = [p for p in predictions if p["family"] == name and p["method"] == method]
            assert len(rows) == 2 and family[method] == sum(p["correct"] for p in rows) / 2
        usable = family["usable_candidates"]
        assert family["model_calls"]["search"] == 2 + usable * 2  # 2 programs, each usable one on 2 other items
    for method, value in first["macro"].items():
        assert value == sum(f[method] for f in first["families"].values()) / 2
    assert first["model_calls"]["made"] > 0 and first["sft"]["examples"] >= 0
    trace = json.loads((tmp_path / "first" / "search_trace.json").read_text())
    for family in trace["families"].values():
        assert not set(family["train_items"]) & set(family["test_items"])

    codeharness(*args, "--run-dir", str(tmp_path / "second"), cwd=tmp_path)
    second = json.loads((tmp_path / "second" / "scores.json").read_text())
    assert second["model_calls"]["made"] == 0
    assert second["families"] == first["families"] and second["macro"] == first["macro"]
