"""DSTC preference pairs: the choice on hand-built matrices, the records, and TRL loading."""

import json

import numpy as np
import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import Prompt
from codeharness.pipeline import prefs
from codeharness.tasks.base import CHAT, COMPLETION


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
    from codeharness.core.models import prepare_embedded_model
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

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


def test_a_test_every_code_passes_is_never_the_rejected_test():
    # t0 is passed by every code, t1 by one: the easiest test some code fails is t1.
    assert choice([1, 1], [1, 0], [1, 0]) == prefs.DstcChoice(
        chosen_code=0, chosen_test=1, rejected_code=1, rejected_test=1)


def test_statistics_of_each_truth_count():
    pairs = [pair(0, True, False), pair(1, True, False), pair(2, True, True), pair(3, False, False),
             pair(4, False, True)]
    truth = prefs.pair_statistics(pairs, 5, {})["ground_truth"]["base"]
    assert truth["chosen_code_correct"]["count"] == 3
    assert truth["rejected_code_incorrect"]["count"] == 3
    assert truth["both"] == {"count": 2, "share": 2 / 5}
    empty = prefs.pair_statistics([], 0, {})
    assert empty["yield"] is None and empty["pairs"] == 0 and empty["ground_truth"] == {}


def test_dpo_and_kto_records():
    pairs = [pair(0, True, False), pair(1, True, False)]
    assert prefs.dpo_records(pairs) == [{"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"]}
                                        for p in pairs]
    assert prefs.kto_records(pairs) == [
        {"prompt": p["prompt"], "completion": p[side], "label": side == "chosen"}
        for p in pairs for side in ("chosen", "rejected")]


class Run:
    def __init__(self, style):
        self.style = style

    def manifest(self):
        return {"prompt_style": self.style}


class Task:
    def build_prompt(self, problem, style):
        text = f"def {problem.id}():\n"
        return Prompt(messages=[{"role": "user", "content": text}]) if style == CHAT else Prompt(text=text)


@pytest.mark.parametrize("style", [CHAT, COMPLETION])
def test_preference_pairs_from_a_runs_matrices(monkeypatch, style):
    """One pair per problem DSTC does not skip, with its provenance; each skip counted."""
    from types import SimpleNamespace

    from codeharness.pipeline.matrix import ProblemMatrix

    def matrix(pid, rows, correct):
        passes = np.array(rows, dtype=bool)
        return ProblemMatrix(pid, np.array([10, 11, 12][:len(rows)]), ["ta", "tb"][:passes.shape[1]],
                             passes, np.ones(len(rows), bool), {"base": np.array(correct, bool)})

    matrices = {"f": matrix("f", [[1, 1], [1, 0], [0, 0]], [1, 0, 0]),
                "g": matrix("g", [[0, 0], [0, 0]], [0, 0]),  # nothing passed
                "h": matrix("h", [[1, 1], [1, 1]], [1, 1]),  # all passed
                "i": matrix("i", [[1, 0], [0, 1], [0, 0]], [0, 1, 0]),
                "j": matrix("j", [[0, 0], [0, 0]], [0, 0])}
    problems = [SimpleNamespace(id=pid) for pid in matrices]
    monkeypatch.setattr(prefs, "load_matrices", lambda run, problems: matrices)
    monkeypatch.setattr(prefs, "problem_tests", lambda run, problems: {
        pid: [SimpleNamespace(id=t, code=f"assert {pid}() == '{t}'") for t in ("ta", "tb")] for pid in matrices})
    monkeypatch.setattr(prefs, "distinct_candidates", lambda run, problems: {
        pid: [SimpleNamespace(index=i, program=f"def {pid}():\n    return {i}\n") for i in (10, 11, 12)]
        for pid in matrices})
    pairs, statistics = prefs.preference_pairs(Run(style), Task(), problems)
    assert [p["problem_id"] for p in pairs] == ["f", "i"]
    assert statistics["skipped"] == {prefs.SKIP_EMPTY: 0, prefs.SKIP_NOTHING_PASSED: 2, prefs.SKIP_ALL_PASSED: 1}
    assert statistics["pairs"] == 2 and statistics["problems"] == 5
    f = pairs[0]
    # f: codes pass 2, 1, 0; tests 2, 1. Chosen: row 0 with its hardest test tb; rejected
    # test: ta (the easiest some code fails), with the weakest code failing it, row 2.
    assert (f["chosen_candidate"], f["chosen_test"], f["rejected_candidate"], f["rejected_test"]) == (10, "tb", 12, "ta")
    assert f["chosen_correct"] == {"base": True} and f["rejected_correct"] == {"base": False}
    if style == CHAT:
        assert f["prompt"] == [{"role": "user", "content": "def f():\n"}]
        assert f["chosen"][0]["content"] == "```python\ndef f():\n    return 10\n\nassert f() == 'tb'\n```"
    else:
        assert f["prompt"] == "def f():\n"
        assert f["chosen"] == "    return 10\n\nassert f() == 'tb'\n"
        assert f["rejected"] == "    return 12\n\nassert f() == 'ta'\n"
    assert pairs[1]["chosen_correct"] == {"base": False} and pairs[1]["rejected_candidate"] == 12


# ---------------------------------------------------------------- which problems feed pairs


def test_mbpps_training_problems_are_its_train_and_prompt_splits():
    from codeharness.tasks import create_task

    test_split = create_task("mbpp")
    training = prefs.training_problem_ids(test_split)
    assert len(training) == 374 + 10
    assert {"Mbpp/1", "Mbpp/10", "Mbpp/601", "Mbpp/974"} <= training
    assert not training & {p.id for p in test_split.load()}
    assert prefs.evaluation_problems(test_split, test_split.load()[:3]) == ["Mbpp/11", "Mbpp/12", "Mbpp/13"]
    train = create_task("mbpp", split="train")
    assert prefs.check_pair_sources(train, train.load(), from_test_split=False) == []
    with pytest.raises(HarnessError, match=r"3 of the 3 problems are not among task 'mbpp''s training "
                                           r"problems \(--split train\+prompt\), e.g. Mbpp/11"):
        prefs.check_pair_sources(test_split, test_split.load()[:3], from_test_split=False)
    assert prefs.check_pair_sources(test_split, test_split.load()[:3], from_test_split=True) == [
        "Mbpp/11", "Mbpp/12", "Mbpp/13"]
    humaneval = create_task("humaneval")
    with pytest.raises(HarnessError, match="declares no training split"):
        prefs.check_pair_sources(humaneval, humaneval.load(), from_test_split=False)


@pytest.mark.parametrize("arguments, message", [
    (["--task", "mbpp", "--split", "test"], "not among task 'mbpp''s training problems"),
    (["--task", "mbpp", "--split=validation"], "not among task 'mbpp''s training problems"),
    (["--task", "humaneval"], "declares no training split"),
])
def test_prefs_refuses_evaluation_problems_before_sampling_anything(tmp_path, arguments, message):
    from codeharness.cli.main import app
    from typer.testing import CliRunner

    out = tmp_path / "prefs"
    result = CliRunner().invoke(app, ["prefs", *arguments, "--out", str(out), "--backend", "replay",
                                      "--samples", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert message in " ".join(result.output.split()).replace("\\[", "[")
    assert not out.exists()


def test_prefs_samples_the_training_split_unless_told():
    from codeharness.cli import selection

    assert selection._training_defaults("mbpp", ["--limit", "3"], False) == ["--split", "train+prompt"]
    assert selection._training_defaults("mbpp", ["--split", "train"], False) == []
    assert selection._training_defaults("mbpp", ["--split", "test"], True) == []
    assert selection._training_defaults("humaneval", [], True) == []
