"""DSTC's closed loop on the embedded SmolLM2, end to end through the real hf backend and
sandbox: preference pairs from MBPP training problems, two DPO steps with LoRA, the trained
checkpoint evaluated on MBPP test problems beside the base model, and the two runs compared.
Small on purpose (a few problems, short samples, two steps on CPU): it proves the loop, not
an improvement."""

import json

import pytest
from codeharness.cli.main import app
from typer.testing import CliRunner

# Short MBPP training problems, on which the embedded model writes some passing and some
# failing code, so that DSTC finds pairs.
TRAINING_PROBLEMS = "Mbpp/624,Mbpp/924,Mbpp/970,Mbpp/654"


def invoke(*arguments):
    result = CliRunner().invoke(app, [str(a) for a in arguments])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.real_model
def test_prefs_train_eval_compare_on_the_embedded_model(tmp_path):
    prefs_dir, checkpoint, runs = tmp_path / "prefs", tmp_path / "dpo-lora", tmp_path / "runs"
    invoke("prefs", "--task", "mbpp", "--problems", TRAINING_PROBLEMS, "--backend", "hf", "--n", 4,
           "--temperature", 0.8, "--max-tokens", 128, "--n-tests", 2, "--test-max-tokens", 96,
           "--test-timeout", 0.5, "--out", prefs_dir)
    manifest = json.loads((prefs_dir / "run" / "manifest.json").read_text())
    assert manifest["config"]["task_options"] == {"split": "train+prompt"}  # the training split by default
    sources = manifest["preference_pairs"]
    statistics = json.loads((prefs_dir / "pair_stats.json").read_text())
    assert statistics["sources"] == sources and not sources["from_test_split"]
    assert set(sources["pair_problems"]) <= set(TRAINING_PROBLEMS.split(","))
    assert statistics["pairs"] == len(sources["pair_problems"]) >= 1, statistics

    result = invoke("train", prefs_dir, "--out", checkpoint, "--method", "dpo", "--lora", "--lora-r", 8,
                    "--learning-rate", 1e-4, "--max-steps", 2, "--batch-size", 2, "--max-length", 384,
                    "--device", "cpu")
    assert "DPO + LoRA (merged): 2 steps" in " ".join(result.output.split())
    record = json.loads((checkpoint / "codeharness_training.json").read_text())
    assert record["preferences"]["sources"]["pair_problems"] == sources["pair_problems"]

    evaluation = ["--task", "mbpp", "--limit", 3, "--backend", "hf", "--max-tokens", 96, "--output-dir", runs]
    invoke("eval", *evaluation, "--run-dir", runs / "base")
    invoke("eval", *evaluation, "--run-dir", runs / "trained", "--model", checkpoint)
    trained = json.loads((runs / "trained" / "manifest.json").read_text())
    assert trained["model"]["model"] == str(checkpoint)

    result = invoke("compare", runs / "base", runs / "trained", "--out", tmp_path / "compare.json")
    comparison = json.loads((tmp_path / "compare.json").read_text())
    assert comparison["problem_ids"] == ["Mbpp/11", "Mbpp/12", "Mbpp/13"]
    (pass1,) = [m for m in comparison["metrics"] if m["metric"] == "base pass@1"]
    assert pass1["difference"] == pytest.approx(pass1["b"] - pass1["a"])
    assert pass1["ci_low"] <= pass1["difference"] <= pass1["ci_high"]
    # The pairs came from training problems: none of the compared ones fed them.
    assert any("trained (dpo) on pairs from no compared problem" in note for note in comparison["notes"])
    assert "base pass@1" in result.output
