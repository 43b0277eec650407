"""DSTC preference pairs: the choice on hand-built matrices, the records, and TRL loading."""

import json

import numpy as np
import pytest

from harness import prefs
from harness.records import Prompt
from tasks.base import CHAT, COMPLETION


def choice(*rows):
    return prefs.dstc_choice(np.array(rows, dtype=bool))


def test_the_dstc_choice():
    # Code passes: 3, 1, 3, 0 (c0 and c2 tie: the first wins). Test passes: 3, 2, 1, 1.
    picked = choice([1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 0, 1], [0, 0, 0, 0])
    assert picked == prefs.DstcChoice(chosen_code=0, chosen_test=2, rejected_code=3, rejected_test=0)


def test_ties_go_to_the_first_and_the_rejected_code_is_the_weakest_failing_code():
    # Every test is passed by 3 of 5 codes: the hardest test c4 passes and the easiest
    # test some code fails are both t0, the first. c2 and c3 fail t0; c2 passes fewer.
    picked = choice([1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1], [1, 1, 1])
    assert picked == prefs.DstcChoice(chosen_code=4, chosen_test=0, rejected_code=2, rejected_test=0)


@pytest.mark.parametrize("rows, reason", [
    ([[0, 0], [0, 0]], prefs.SKIP_NOTHING_PASSED),
    ([[1, 1], [1, 1]], prefs.SKIP_ALL_PASSED),
    (np.zeros((2, 0)), prefs.SKIP_EMPTY),
    (np.zeros((0, 2)), prefs.SKIP_EMPTY),
])
def test_problems_dstc_skips(rows, reason):
    assert prefs.dstc_choice(np.array(rows, dtype=bool)) == reason


def test_responses_concatenate_code_and_test_in_the_prompts_format():
    completion = Prompt(text="def f(x):\n")
    assert prefs._response(completion, COMPLETION, "def f(x):\n    return x\n", "assert f(1) == 1") == (
        "    return x\n\nassert f(1) == 1\n")
    chat = Prompt(messages=[{"role": "user", "content": "Write f."}])
    assert prefs._response(chat, CHAT, "def f(x):\n    return x\n", "assert f(1) == 1") == [
        {"role": "assistant", "content": "```python\ndef f(x):\n    return x\n\nassert f(1) == 1\n```"}]


def pair(index, chosen_right, rejected_right):
    return {"problem_id": f"p{index}", "prompt": [{"role": "user", "content": f"Write f{index}."}],
            "chosen": [{"role": "assistant", "content": f"```python\ndef f{index}(): return 1\n```"}],
            "rejected": [{"role": "assistant", "content": f"```python\ndef f{index}(): return 2\n```"}],
            "chosen_candidate": 0, "rejected_candidate": index % 2, "chosen_test": "t-a",
            "rejected_test": "t-b", "chosen_correct": {"base": chosen_right},
            "rejected_correct": {"base": rejected_right}}


def test_statistics_count_yield_and_ground_truth():
    pairs = [pair(0, True, False), pair(1, True, True), pair(2, False, False)]
    statistics = prefs.pair_statistics(pairs, 4, {prefs.SKIP_ALL_PASSED: 1})
    assert statistics["yield"] == 0.75
    assert statistics["same_code_in_both"] == 2
    truth = statistics["ground_truth"]["base"]
    assert truth["chosen_code_correct"] == {"count": 2, "share": 2 / 3}
    assert truth["rejected_code_incorrect"] == {"count": 2, "share": 2 / 3}
    assert truth["both"] == {"count": 1, "share": 1 / 3}


def test_written_datasets_load_and_go_through_trls_collators(tmp_path):
    import datasets

    pairs = [pair(i, True, False) for i in range(2)]
    prefs.write_preferences(tmp_path, pairs, prefs.pair_statistics(pairs, 2, {}))
    dpo = datasets.load_from_disk(str(tmp_path / "dpo"))
    kto = datasets.load_from_disk(str(tmp_path / "kto"))
    assert dpo.column_names == ["prompt", "chosen", "rejected"]
    assert kto.column_names == ["prompt", "completion", "label"]
    assert kto["label"] == [True, False, True, False]
    assert [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()] == dpo.to_list()
    assert json.loads((tmp_path / "pair_stats.json").read_text())["pairs"] == 2
    assert_trl_takes(tmp_path)


def assert_trl_takes(folder):
    """DPOTrainer and KTOTrainer prepare the datasets as saved and collate a batch."""
    import datasets
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

    from harness.models import prepare_embedded_model

    tokenizer = AutoTokenizer.from_pretrained(prepare_embedded_model())
    tiny = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2,
                                        num_key_value_heads=2))
    model_dir = folder / "tiny-model"
    tiny.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    common = dict(output_dir=str(folder / "trainer"), per_device_train_batch_size=2, report_to=[],
                  use_cpu=True, save_strategy="no")
    for trainer_class, config_class, name in ((DPOTrainer, DPOConfig, "dpo"), (KTOTrainer, KTOConfig, "kto")):
        dataset = datasets.load_from_disk(str(folder / name))
        trainer = trainer_class(model=str(model_dir), args=config_class(**common),
                                train_dataset=dataset, processing_class=tokenizer)
        batch = next(iter(trainer.get_train_dataloader()))
        assert batch["input_ids"].shape[0] >= 2
        assert batch["completion_mask"].sum() > 0
