"""DIA tool conversations end to end on the embedded SmolLM2 through the real hf backend and
the local sandbox; the metrics and the turn counts are recomputed from the records alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from codeharness.scorers.dia import dia_metrics

pytestmark = pytest.mark.real_model


def test_tool_conversations_on_the_embedded_model(tmp_path):
    run_dir = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "codeharness", "eval", "--task", "dia", "--tools", "true", "--turns", "2",
                    "--k", "1", "--limit", "3", "--max-tokens", "96", "--backend", "hf", "--run-dir", str(run_dir)],
                   check=True, timeout=900)
    read = lambda name: [json.loads(line) for line in (run_dir / name).read_text().splitlines()]  # noqa: E731
    generations, executions = read("generations.jsonl"), read("executions.jsonl")
    scores = json.loads((run_dir / "scores.json").read_text())
    finals = [e for e in executions if "~turn" not in e["problem_id"]]
    turns = [e for e in executions if "~turn" in e["problem_id"]]
    assert len(finals) == 3 and scores["coverage"]["samples"] == 3 and scores["coverage"]["problems"] == 3
    for final in finals:
        details = final["details"]
        assert 1 <= details["turns"] <= details["turn_budget"] == 2
        used = [e for e in turns if e["problem_id"].startswith(final["problem_id"] + "~turn")]
        assert len(used) == details["turns"]  # one record per reply, none beyond the end
        assert details["ended"] == ("budget" if details["turns"] == 2 and used[-1]["status"] != "not_run" else "answer")
    # Every reply is recorded with the conversation it answered; turn 2 shows turn 1's output.
    assert len(generations) == len(finals) + len(turns)
    for generation in generations:
        if generation["problem_id"].endswith("~turn2"):
            assert "Your program" in generation["prompt"]
    assert scores["dia"] == dia_metrics([e["details"] for e in finals])
    assert scores["dia_turns"]["mean_turns"] == pytest.approx(sum(e["details"]["turns"] for e in finals) / 3)
