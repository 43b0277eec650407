"""The transformers backend, on the real embedded SmolLM2 checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.models import embedded_checkpoint
from codeharness.core.records import GenerationRequest, Prompt, SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

pytestmark = pytest.mark.real_model

CODEHARNESS = [sys.executable, "-m", "codeharness"]
CHAT = Prompt(messages=[{"role": "user", "content": "Write a Python function that adds two numbers."}])
ASSIGNMENTS = Prompt(text="# Python\nx = 1\ny = 2\nz =")


@pytest.fixture(scope="module")
def backend():
    from codeharness.backends.hf import HFBackend

    hf = HFBackend(batch_size=4)
    yield hf
    hf.close()


def run_backend(backend, requests, **sampling):
    completions = []
    backend.generate(requests, SamplingConfig(**sampling), completions.append)
    return {(c.problem_id, c.sample_index): c for c in completions}


def test_chat_prompts_go_through_the_chat_template(backend):
    assert backend.supports_chat
    result = run_backend(backend, [GenerationRequest("add", CHAT, [0])], max_tokens=24)
    completion = result["add", 0]
    assert completion.rendered_prompt.startswith("<|im_start|>system\n")
    assert completion.rendered_prompt.endswith("<|im_start|>user\nWrite a Python function that adds "
                                               "two numbers.<|im_end|>\n<|im_start|>assistant\n")
    assert completion.prompt_tokens == len(backend.engine.tokenizer(completion.rendered_prompt,
                                                             add_special_tokens=False).input_ids)
    assert completion.finish_reason == "length" and completion.completion_tokens == 24
    assert "<|im" not in completion.text and completion.text.strip()


def test_stop_sequence_ends_the_sample_and_is_cut_off(backend):
    free = run_backend(backend, [GenerationRequest("p", ASSIGNMENTS, [0])], max_tokens=16)["p", 0]
    assert "\n" in free.text, "the model should write more than one line when not stopped"
    stopped_prompt = Prompt(text=ASSIGNMENTS.text, stop=["\n"])
    stopped = run_backend(backend, [GenerationRequest("p", stopped_prompt, [0])], max_tokens=16)["p", 0]
    assert stopped.text == free.text.split("\n")[0]
    assert stopped.finish_reason == "stop"
    assert stopped.completion_tokens < free.completion_tokens == 16
    assert free.finish_reason == "length"


def test_stop_sequence_is_matched_in_the_generated_text_only(backend):
    from codeharness.backends._hf_engine import StopSequences

    tokenizer = backend.engine.tokenizer
    prompt = tokenizer("x = 1\n").input_ids
    criterion = StopSequences(tokenizer, [["\ndef"], ["\ndef"]], len(prompt))
    starts_with_def = tokenizer("def f():").input_ids
    defines_later = tokenizer("y = 2\ndef f():").input_ids[:-2]
    width = max(len(starts_with_def), len(defines_later))
    import torch

    rows = [prompt + [tokenizer.pad_token_id] * (width - len(ids)) + ids
            for ids in (starts_with_def, defines_later)]
    assert criterion(torch.tensor(rows), None).tolist() == [False, True]


def test_left_padded_batches_give_the_same_greedy_text_as_one_prompt_alone(backend):
    task = create_task("humaneval")
    problems = task.load()[:3]
    requests = [GenerationRequest(p.id, task.build_prompt(p, "chat"), [0]) for p in problems]
    batched = run_backend(backend, requests, max_tokens=32)
    lengths = {c.prompt_tokens for c in batched.values()}
    assert len(lengths) == 3, "the prompts must differ in length so the batch is padded"
    shortest = min(batched.values(), key=lambda c: c.prompt_tokens)
    alone = backend.engine.model.generate(
        **backend.engine.tokenizer(shortest.rendered_prompt, add_special_tokens=False, return_tensors="pt"),
        max_new_tokens=32, do_sample=False)
    expected = backend.engine.tokenizer.decode(alone[0, shortest.prompt_tokens:], skip_special_tokens=True)
    assert shortest.text == expected


def test_seeded_sampling_depends_on_seed_problem_and_index_not_on_batching(backend):
    requests = [GenerationRequest("chat", CHAT, [0, 1, 2]), GenerationRequest("code", ASSIGNMENTS, [0, 1])]
    sampling = {"temperature": 0.8, "top_p": 0.95, "max_tokens": 20, "seed": 7}
    batched = run_backend(backend, requests, **sampling)
    alone = run_backend(backend, [GenerationRequest("chat", CHAT, [2])], **sampling)
    assert alone["chat", 2].text == batched["chat", 2].text
    assert len({batched["chat", i].text for i in range(3)}) == 3
    reseeded = run_backend(backend, [GenerationRequest("chat", CHAT, [2])], **{**sampling, "seed": 8})
    assert reseeded["chat", 2].text != batched["chat", 2].text


def test_seeded_sampling_draws_each_token_with_its_probability():
    """The hashed Gumbel-max draw is a draw from softmax(logits / temperature), whether the
    randomness varies with the seed (samples) or with the step (tokens of one sample)."""
    import torch
    from codeharness.backends._hf_engine import SeededSampling

    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0, -float("inf")]])
    expected = (logits / 0.7).softmax(-1)[0]
    sampling = SamplingConfig(temperature=0.7, top_p=1.0)

    def draw(seed: int, step: int) -> int:
        ids = torch.zeros(1, 3 + step, dtype=torch.long)
        return int(SeededSampling([seed], sampling, prompt_length=3)(ids, logits.clone()).argmax())

    for drawn in ([draw(seed, 0) for seed in range(4000)], [draw(12345, step) for step in range(4000)]):
        frequencies = torch.bincount(torch.tensor(drawn), minlength=5) / len(drawn)
        assert torch.allclose(frequencies, expected, atol=0.025), (frequencies, expected)
    assert draw(1, 5) == draw(1, 5)


def test_describe_names_the_checkpoint_and_settings(backend):
    described = backend.describe()
    assert described["path"] == str(embedded_checkpoint())
    assert described["revision"].startswith("gguf-sha256:")
    assert (described["dtype"], described["device"], described["batch_size"]) == ("float32", "cpu", 4)
    assert described["versions"]["transformers"]


def test_a_missing_model_path_is_a_clear_error(tmp_path):
    from codeharness.backends.hf import HFBackend

    backend = HFBackend(model=str(tmp_path / "nowhere" / "model"))  # cheap: nothing loaded yet
    with pytest.raises(HarnessError, match="nowhere/model"):
        backend.describe()


def test_eval_on_humaneval_end_to_end(tmp_path):
    run_dir = tmp_path / "run"
    subprocess.run([*CODEHARNESS, "eval", "--task", "humaneval", "--backend", "hf", "--limit", "3",
                    "--max-tokens", "128", "--run-dir", str(run_dir)], check=True, timeout=600)
    generations = [json.loads(line) for line in (run_dir / "generations.jsonl").read_text().splitlines()]
    assert sorted(g["problem_id"] for g in generations) == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    problems = {p.id: p for p in create_task("humaneval").load()[:3]}
    for generation in generations:
        assert generation["finish_reason"] in ("stop", "length")
        assert generation["truncated"] == (generation["finish_reason"] == "length")
        assert 0 < generation["completion_tokens"] <= 128 and generation["prompt_tokens"] > 100
        assert generation["prompt"].endswith("<|im_start|>assistant\n")
        assert f"def {problems[generation['problem_id']].entry_point}(" in generation["program"]
    executions = (run_dir / "executions.jsonl").read_text().splitlines()
    assert len(executions) == 3
    scores = json.loads((run_dir / "scores.json").read_text())
    assert scores["prompt_style"] == "chat"
    assert json.loads((run_dir / "manifest.json").read_text())["model"]["backend"] == "hf"


def test_generation_killed_mid_run_resumes_with_only_the_missing_samples(tmp_path, backend):
    run_dir = tmp_path / "run"
    command = [*CODEHARNESS, "generate", "--task", "humaneval", "--backend", "hf", "--limit", "6",
               "--batch-size", "2", "--max-tokens", "48", "--run-dir", str(run_dir)]
    child = subprocess.Popen(command)
    log = run_dir / "generations.jsonl"
    deadline = time.monotonic() + 300
    while not (log.exists() and log.stat().st_size) and child.poll() is None:
        assert time.monotonic() < deadline, "no generation appeared"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    before = log.read_bytes()
    written = [json.loads(line) for line in before.splitlines()]
    assert 0 < len(written) < 6

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit)
    recording = RecordingBackend(backend)
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, task, problems, recording)
    keys = [(g["problem_id"], g["sample_index"]) for g in run.generations()]
    assert sorted(keys) == [(p.id, 0) for p in problems]
    assert sorted(recording.requested) == sorted(set(keys) - {(g["problem_id"], g["sample_index"])
                                                              for g in written})
    assert log.read_bytes().startswith(before)


class RecordingBackend:
    """The module's backend, noting what it is asked for, and left open for other tests."""

    def __init__(self, inner):
        self.inner = inner
        self.requested = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate(self, requests, sampling, on_completion):
        self.requested += [(r.problem_id, i) for r in requests for i in r.sample_indices]
        self.inner.generate(requests, sampling, on_completion)

    def close(self):
        pass
