"""`codeharness train`: settings, refusals, and TRL's DPO and KTO trainers writing a
checkpoint that transformers loads (a tiny Llama here; the embedded model's whole loop is in
tests/test_train_loop.py)."""

import json

import pytest
from codeharness.cli.main import app
from codeharness.core.errors import HarnessError
from codeharness.pipeline import prefs
from codeharness.pipeline.train import TRAINING_RECORD, TrainSettings, train, training_record
from typer.testing import CliRunner


def pair(index):
    return {"problem_id": f"Mbpp/{601 + index}",
            "prompt": [{"role": "user", "content": f"Write f{index}, which returns {index}."}],
            "chosen": [{"role": "assistant", "content": f"```python\ndef f{index}():\n    return {index}\n\nassert f{index}() == {index}\n```"}],
            "rejected": [{"role": "assistant", "content": f"```python\ndef f{index}():\n    return -1\n\nassert f{index}() == -1\n```"}],
            "chosen_candidate": 0, "rejected_candidate": 1, "chosen_test": "t0", "rejected_test": "t1",
            "chosen_correct": {"base": True}, "rejected_correct": {"base": False}}


@pytest.fixture(scope="module")
def preferences(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prefs")
    pairs = [pair(i) for i in range(4)]
    prefs.write_preferences(folder, pairs, prefs.pair_statistics(pairs, 4, {}),
                            {"task": "mbpp", "pair_problems": [p["problem_id"] for p in pairs]})
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A one-layer Llama with the embedded model's tokenizer and chat template."""
    from codeharness.core.models import prepare_embedded_model
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny")
    tokenizer = AutoTokenizer.from_pretrained(prepare_embedded_model())
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                         pad_token_id=tokenizer.pad_token_id))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.parametrize("method, lora", [("dpo", False), ("kto", False), ("dpo", True)])
def test_a_few_steps_write_a_checkpoint_with_its_record(tmp_path, preferences, tiny_model, method, lora):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "trained"
    settings = TrainSettings(method=method, model=str(tiny_model), lora=lora, lora_r=4, max_steps=2,
                             learning_rate=1e-2, max_length=96, device="cpu")
    record = train(preferences, out, settings)
    assert record["steps"] == 2 and record["method"] == method and record["dtype"] == "float32"
    assert record["preferences"]["records"] == (4 if method == "dpo" else 8)
    assert record["preferences"]["sources"]["pair_problems"] == [f"Mbpp/{601 + i}" for i in range(4)]
    assert [entry["step"] for entry in record["log"] if "loss" in entry] == [1, 2]
    assert training_record(str(out)) == json.loads((out / TRAINING_RECORD).read_text()) == record
    # A plain checkpoint: LoRA merged (no adapter files), the tokenizer and chat template kept,
    # and the weights moved away from the base model's.
    assert not (out / "adapter_config.json").exists()
    AutoModelForCausalLM.from_pretrained(out)
    assert AutoTokenizer.from_pretrained(out).chat_template
    before, after = weights(tiny_model), weights(out)
    assert set(before) == set(after)
    assert any(not (before[name] == after[name]).all() for name in before)
    assert not list(tmp_path.glob(".trained.partial*"))


def test_the_command_trains_and_refuses_to_overwrite(tmp_path, preferences, tiny_model):
    out = tmp_path / "ckpt"
    arguments = ["train", str(preferences), "--out", str(out), "--model", str(tiny_model), "--max-steps", "1",
                 "--max-length", "64", "--device", "cpu"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "DPO: 1 steps on 4 records" in " ".join(result.output.split())
    again = CliRunner().invoke(app, arguments)
    assert again.exit_code == 2 and "exists and is not empty; use --overwrite" in again.output


@pytest.mark.parametrize("options, message", [
    (dict(method="ppo"), "--method must be one of dpo, kto"),
    (dict(method="kto", batch_size=1), "KTO needs --batch-size 2"),
    (dict(max_steps=0), "--max-steps must be at least 1"),
    (dict(learning_rate=0.0), "--learning-rate must be positive"),
    (dict(lora_dropout=1.0), "--lora-dropout must be in"),
    (dict(device="tpu"), "--device must be auto, cpu or cuda"),
])
def test_bad_settings_are_one_clear_line(options, message):
    with pytest.raises(HarnessError, match=message):
        TrainSettings(**options)


def test_a_folder_without_pairs_is_refused(tmp_path, preferences):
    with pytest.raises(HarnessError, match="no DPO dataset"):
        train(tmp_path, tmp_path / "out", TrainSettings())
    empty = tmp_path / "empty"
    prefs.write_preferences(empty, [], prefs.pair_statistics([], 3, {}))
    with pytest.raises(HarnessError, match="no preference pairs to train on"):
        train(empty, tmp_path / "out", TrainSettings())
