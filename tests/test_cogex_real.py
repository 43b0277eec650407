"""CoGEX end to end on the embedded SmolLM2 through the real hf backend and local sandbox."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "instructions.jsonl"
pytestmark = pytest.mark.real_model


def codeharness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True,
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


def test_program_search_and_its_cache(tmp_path):
    args = ["cogex", "search", "--data-path", str(DATA), "--backend", "hf", "--candidates", "2",
            "--train-items", "2", "--test-items", "2", "--max-tokens", "96",
            "--cache", str(tmp_path / "calls.jsonl")]
    codeharness(*args, "--run-dir", str(tmp_path / "first"), cwd=tmp_path)
    first = json.loads((tmp_path / "first" / "scores.json").read_text())
    assert first["budget"]["model_calls"] > 0
    trace = json.loads((tmp_path / "first" / "search_trace.json").read_text())
    assert len(trace["test_items"]) == 2 and len(trace["train_items"]) == 2
    for method in ("cotacs", "fresh_program", "zero_shot"):
        assert first[method]["items"] == 2

    codeharness(*args, "--run-dir", str(tmp_path / "second"), cwd=tmp_path)
    second = json.loads((tmp_path / "second" / "scores.json").read_text())
    assert second["budget"]["model_calls"] == 0
    assert second["budget"]["cache_hits"] == first["budget"]["model_calls"] + first["budget"]["cache_hits"]
    assert {m: second[m] for m in ("cotacs", "fresh_program", "zero_shot")} == \
           {m: first[m] for m in ("cotacs", "fresh_program", "zero_shot")}
