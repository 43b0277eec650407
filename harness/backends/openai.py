"""Any OpenAI-compatible server (`--backend openai`), or vLLM's, started for the run (`--serve`).

Every sample is one request (chat prompts to /chat/completions, text prompts to
/completions, with the first four stop sequences; any others are cut here), sent by an asyncio client with at most `max_concurrency` in flight, and
written the moment its answer arrives, with its own token counts and latency. The openai
client retries connection errors, timeouts, 429 and 5xx answers with exponential backoff
(honouring Retry-After); `request_timeout` bounds each attempt. The API key comes from
OPENAI_API_KEY (a server started with --serve gets a random one); the server's address
from --base-url, else OPENAI_BASE_URL, else OpenAI's.

Sampled requests carry a per-sample seed (`sample_seed`), except to a server that
`--serve` started on a CPU: per-request seeds crash the CPU engine (see vllm.py), so that
server is started with the run's seed instead, when generation starts.

With `--data-parallel-size N`, `--serve` runs N engines behind the one server: as processes
of this machine (`--data-parallel-backend mp`, vLLM's default), or as Ray actors placed by
vLLM on the Ray cluster at RAY_ADDRESS (`--data-parallel-backend ray`, set by `--ray-address`),
one engine per GPU group, across machines. vLLM places those only on GPUs (its Ray placement
asks for the platform's device resource, which its CPU build does not have).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from codeharness.backends.base import BaseBackend
from codeharness.backends.text import has_chat_template, sample_seed
from codeharness.core import registry
from codeharness.core.errors import HarnessError
from codeharness.core.extract import truncate_at_stop
from codeharness.core.extras import require_extra
from codeharness.core.models import describe_model, resolve_model
from codeharness.core.records import Completion, GenerationRequest, SamplingConfig

MAX_RETRIES = 6
MAX_STOP_SEQUENCES = 4  # what OpenAI's API and vLLM's server accept; the rest are cut here
DEFAULT_CONCURRENCY = 64
DEFAULT_TIMEOUT_S = 600.0


@registry.backends.register
class OpenAIBackend(BaseBackend):
    name = "openai"
    identity_options = ("model", "serve", "tensor_parallel_size", "data_parallel_size")
    runtime_options = ("base_url", "max_concurrency", "request_timeout", "data_parallel_backend")

    def __init__(self, model: str | None = None, base_url: str | None = None, serve: bool = False,
                 max_concurrency: int = DEFAULT_CONCURRENCY,
                 request_timeout: float = DEFAULT_TIMEOUT_S, tensor_parallel_size: int = 1,
                 data_parallel_size: int = 1, data_parallel_backend: str | None = None):
        require_extra("the openai backend", "openai", "openai")
        if max_concurrency < 1 or request_timeout <= 0:
            raise HarnessError(f"--max-concurrency must be at least 1 and --request-timeout "
                               f"positive, got {max_concurrency} and {request_timeout}")
        self.model_name = model
        self.max_concurrency = max_concurrency
        self.request_timeout = request_timeout
        self.server = None
        if serve:
            if base_url:
                raise HarnessError("--serve starts its own server; leave out --base-url")
            self.plan = ServedModel(model, tensor_parallel_size, data_parallel_size,
                                    data_parallel_backend)
            self.base_url = None
            self.model = self.plan.model_path
        else:
            if data_parallel_backend:
                raise HarnessError("--data-parallel-backend is for --serve (how its server runs "
                                   "its engines)")
            self.plan = None
            self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
            self.model = model or self._only_served_model()

    @property
    def supports_chat(self) -> bool:
        # A remote server's template cannot be seen; chat is what such servers serve.
        return self.plan.supports_chat if self.plan else True

    def describe(self) -> dict:
        if self.plan:
            return {"backend": self.name, **describe_model(self.model_name),
                    "server": self.plan.describe()}
        return {"backend": self.name, "model": self.model,
                "base_url": self.base_url or "https://api.openai.com/v1",
                "max_concurrency": self.max_concurrency, "request_timeout_s": self.request_timeout}

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        if not requests:
            return
        per_request_seeds = True
        if self.plan:
            self.server = self.plan.server_for(self.server, sampling)
            self.base_url, per_request_seeds = self.server.base_url, not self.plan.on_cpu
        asyncio.run(self._generate(requests, sampling, per_request_seeds, on_completion))

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _client_options(self) -> dict:
        api_key = self.server.api_key if self.server else os.environ.get("OPENAI_API_KEY", "EMPTY")
        return {"base_url": self.base_url, "api_key": api_key, "timeout": self.request_timeout,
                "max_retries": MAX_RETRIES}

    def _only_served_model(self) -> str:
        """Without --model: the server's model, when it serves exactly one."""
        from openai import OpenAI, OpenAIError

        try:
            served = [m.id for m in OpenAI(**self._client_options()).models.list()]
        except OpenAIError as exc:
            raise HarnessError(f"{self.base_url}: could not list the served models ({exc}); "
                               "name one with --model") from exc
        if len(served) != 1:
            raise HarnessError(f"{self.base_url} serves {len(served)} models "
                               f"({', '.join(served) or 'none'}); choose one with --model")
        return served[0]

    async def _generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                        per_request_seeds: bool, on_completion: Callable[[Completion], None]) -> None:
        from openai import AsyncOpenAI

        samples = iter([(request, index) for request in requests for index in request.sample_indices])
        async with AsyncOpenAI(**self._client_options()) as client:
            async def worker() -> None:
                for request, index in samples:  # shared: each sample is taken by one worker
                    seed = (sample_seed(sampling.seed, request.problem_id, index)
                            if per_request_seeds and not sampling.greedy else None)
                    on_completion(await self._sample(client, request, index, sampling, seed))

            workers = [asyncio.ensure_future(worker()) for _ in range(self.max_concurrency)]
            try:
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)

    async def _sample(self, client, request: GenerationRequest, index: int,
                      sampling: SamplingConfig, seed: int | None) -> Completion:
        from openai import APIStatusError, OpenAIError

        prompt = request.prompt
        arguments = {"model": self.model, "max_tokens": sampling.max_tokens,
                     "temperature": sampling.temperature, "top_p": sampling.top_p}
        if prompt.stop:
            arguments["stop"] = prompt.stop[:MAX_STOP_SEQUENCES]
        if seed is not None:
            arguments["seed"] = seed
        started = time.monotonic()
        try:
            if prompt.is_chat:
                response = await client.chat.completions.create(messages=prompt.messages, **arguments)
                text = response.choices[0].message.content or ""
            else:
                response = await client.completions.create(prompt=prompt.text, **arguments)
                text = response.choices[0].text
        except APIStatusError as exc:
            raise HarnessError(f"{client.base_url}: {request.problem_id} sample {index}: "
                               f"HTTP {exc.status_code}: {exc.message}") from exc
        except OpenAIError as exc:
            raise HarnessError(f"{client.base_url}: {request.problem_id} sample {index}: "
                               f"{exc} (after {MAX_RETRIES} retries)") from exc
        text, cut_here = truncate_at_stop(text, prompt.stop)
        usage = response.usage
        return Completion(
            problem_id=request.problem_id,
            sample_index=index,
            text=text,
            finish_reason="stop" if cut_here else response.choices[0].finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            latency_s=round(time.monotonic() - started, 3),
        )


class ServedModel:
    """What `--serve` will run: the checkpoint, its tokenizer, and the engine settings that
    the offline backend uses too."""

    def __init__(self, model: str | None, tensor_parallel_size: int, data_parallel_size: int,
                 data_parallel_backend: str | None = None):
        if data_parallel_backend not in (None, "mp", "ray"):
            raise HarnessError(f"--data-parallel-backend must be mp or ray, got {data_parallel_backend!r}")
        if data_parallel_backend == "ray":
            require_extra("--data-parallel-backend ray", "ray", "ray")
        require_extra("--serve", "cpu|gpu", "vllm")
        from codeharness.backends import vllm as offline

        offline.check_torch_companions()

        offline.check_parallel_sizes(tensor_parallel_size, data_parallel_size)
        self.model_path = resolve_model(model)
        self.on_cpu = offline.prepare_environment(self.model_path)
        self.tensor_parallel_size = tensor_parallel_size
        self.data_parallel_size = data_parallel_size
        self.data_parallel_backend = data_parallel_backend
        # vLLM's own data parallelism binds rank r to the r-th group of "a|b|..." on the CPU.
        self.env = offline.device_environments(tensor_parallel_size * data_parallel_size, 1,
                                               self.on_cpu)[0]
        self.tokenizer = offline.load_tokenizer(self.model_path)
        self.seed: int | None = None

    @property
    def supports_chat(self) -> bool:
        return has_chat_template(self.tokenizer)

    def engine(self) -> dict:
        from codeharness.backends.vllm import engine_options

        options = engine_options(self.tensor_parallel_size, self.on_cpu)
        if self.data_parallel_size > 1:
            options["data_parallel_size"] = self.data_parallel_size
            if self.data_parallel_backend:
                options["data_parallel_backend"] = self.data_parallel_backend
        return options

    def describe(self) -> dict:
        from codeharness.backends.vllm import vllm_version

        return {"kind": "vllm.entrypoints.openai.api_server on 127.0.0.1, started by --serve",
                "device": "cpu" if self.on_cpu else "gpu", "engine": self.engine(),
                "env": self.env, "versions": {"vllm": vllm_version()}}

    def server_for(self, running, sampling: SamplingConfig):
        """The running server, or a new one when none runs yet or a CPU server must be
        reseeded for this sampling."""
        from codeharness.backends.serve import VLLMServer

        reseed = self.on_cpu and not sampling.greedy and sampling.seed != self.seed
        if running is not None and not reseed:
            return running
        if running is not None:
            running.stop()
        self.seed = sampling.seed
        return VLLMServer(self.model_path, self.engine() | {"seed": sampling.seed}, self.env).start()
