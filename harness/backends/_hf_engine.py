"""The transformers engine behind the hf backend: batched `generate` on any causal-LM
checkpoint (imported when the backend first generates: torch loads slowly).

All samples of a run are sorted by prompt length and generated in left-padded batches;
each finished batch is reported at once, so a killed run loses at most one batch.

Sampling is reproducible per (seed, problem, sample index): every sample's random numbers
are a hash of its own seed, its step and the token, so neither the batch size nor the order
of the batches changes them. (Its logits may still differ in the last bits with the padding
around it, which can flip a draw that sits on a knife's edge.)
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import torch
from codeharness.backends.text import has_chat_template, render_prompt, sample_seed
from codeharness.core.errors import HarnessError
from codeharness.core.extract import truncate_at_stop
from codeharness.core.models import describe_model, resolve_model
from codeharness.core.records import Completion, GenerationRequest, SamplingConfig
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


@dataclass
class _Sample:
    """One sample to generate, with its prompt already rendered and tokenized."""

    problem_id: str
    sample_index: int
    rendered_prompt: str
    prompt_ids: list[int]
    stop: list[str]


class HFEngine:
    name = "hf"

    def __init__(self, model: str | None = None, batch_size: int = 8, device: str = "auto",
                 dtype: str = "auto"):
        if batch_size < 1:
            raise HarnessError(f"--batch-size must be at least 1, got {batch_size}")
        self.model_name = model
        self.batch_size = batch_size
        self.device = choose_device(device)
        self.dtype = choose_dtype(dtype, self.device)
        self.tokenizer, self.model = load_checkpoint(resolve_model(model), self.device, self.dtype)
        self.eos_ids = end_token_ids(self.tokenizer, self.model)

    @property
    def supports_chat(self) -> bool:
        return has_chat_template(self.tokenizer)

    def describe(self) -> dict:
        return {
            "backend": self.name,
            **describe_model(self.model_name),
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.model.device),
            "batch_size": self.batch_size,
            "versions": {package: metadata.version(package)
                         for package in ("torch", "transformers", "accelerate")},
        }

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        check_sampling(sampling)
        samples = self._samples(requests)
        samples.sort(key=lambda s: len(s.prompt_ids), reverse=True)  # longest first: an OOM shows early
        for start in range(0, len(samples), self.batch_size):
            for completion in self._generate_batch(samples[start:start + self.batch_size], sampling):
                on_completion(completion)

    def close(self) -> None:
        self.model = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def _samples(self, requests: list[GenerationRequest]) -> list[_Sample]:
        samples = []
        for request in requests:
            rendered = render_prompt(self.tokenizer, request.prompt, self.model_name or "default")
            # a chat template writes its own special tokens into the text
            ids = self.tokenizer(rendered, add_special_tokens=not request.prompt.is_chat).input_ids
            samples += [_Sample(request.problem_id, index, rendered, ids, list(request.prompt.stop))
                        for index in request.sample_indices]
        return samples

    def _generate_batch(self, batch: list[_Sample], sampling: SamplingConfig) -> list[Completion]:
        inputs = self.tokenizer.pad({"input_ids": [s.prompt_ids for s in batch]},
                                    return_tensors="pt").to(self.model.device)
        prompt_length = inputs["input_ids"].shape[1]
        started = time.perf_counter()
        output = self.model.generate(
            **inputs,
            generation_config=GenerationConfig(max_new_tokens=sampling.max_tokens, do_sample=False,
                                               eos_token_id=sorted(self.eos_ids),
                                               pad_token_id=self.tokenizer.pad_token_id),
            logits_processor=self._sampler(batch, sampling, prompt_length),
            stopping_criteria=self._stopper(batch, prompt_length),
        )
        latency = time.perf_counter() - started
        return [self._completion(sample, generated.tolist(), sampling, latency)
                for sample, generated in zip(batch, output[:, prompt_length:])]

    def _sampler(self, batch: list[_Sample], sampling: SamplingConfig,
                 prompt_length: int) -> LogitsProcessorList:
        if sampling.greedy:
            return LogitsProcessorList()
        seeds = [sample_seed(sampling.seed, s.problem_id, s.sample_index) for s in batch]
        return LogitsProcessorList([SeededSampling(seeds, sampling, prompt_length)])

    def _stopper(self, batch: list[_Sample], prompt_length: int) -> StoppingCriteriaList:
        if not any(s.stop for s in batch):
            return StoppingCriteriaList()
        return StoppingCriteriaList([StopSequences(self.tokenizer, [s.stop for s in batch], prompt_length)])

    def _completion(self, sample: _Sample, generated: list[int], sampling: SamplingConfig,
                    latency: float) -> Completion:
        ends = self.eos_ids | {self.tokenizer.pad_token_id}
        length = next((i for i, token in enumerate(generated) if token in ends), len(generated))
        text = self.tokenizer.decode(generated[:length], skip_special_tokens=True)
        text, stopped = truncate_at_stop(text, sample.stop)
        if stopped:
            finish, tokens = "stop", length
        elif length < len(generated):  # the model ended its answer; count its end token
            finish, tokens = "stop", length + 1
        else:
            finish, tokens = "length", length
        return Completion(sample.problem_id, sample.sample_index, text, finish,
                          prompt_tokens=len(sample.prompt_ids), completion_tokens=tokens,
                          latency_s=round(latency, 4), rendered_prompt=sample.rendered_prompt)


class SeededSampling(LogitsProcessor):
    """Draws every row's next token at once by the Gumbel-max trick (after temperature and
    top-p), with noise hashed from the row's seed, its step and the token id, and leaves
    only that token possible, so generate's greedy choice takes it. One generator per row
    cost a quarter of the throughput on a GPU (a draw per row per step)."""

    def __init__(self, seeds: list[int], sampling: SamplingConfig, prompt_length: int):
        self.warpers = LogitsProcessorList([TemperatureLogitsWarper(sampling.temperature)])
        if sampling.top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(sampling.top_p))
        self.row_keys = [hash32(seed & MASK32) ^ hash32((seed >> 32) ^ 0x9E3779B9) for seed in seeds]
        self.prompt_length = prompt_length  # the batch's padded prompt: generation starts here
        self.token_keys = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_length
        rows = hash32(torch.tensor(self.row_keys, device=scores.device) ^ step)
        if self.token_keys is None:
            self.token_keys = hash32(torch.arange(scores.shape[1], device=scores.device))
        bits = hash32(rows[:, None] ^ self.token_keys[None, :])
        uniform = ((bits >> 8).float() + 0.5) / 2 ** 24
        gumbel = -torch.log(-torch.log(uniform))
        drawn = (self.warpers(input_ids, scores).float() + gumbel).argmax(dim=-1, keepdim=True)
        return torch.full_like(scores, -float("inf")).scatter_(1, drawn, 0.0)


MASK32 = 0xFFFFFFFF


def hash32(x):
    """A 32-bit integer hash (Wellons' lowbias32) of an int or an int64 tensor of values
    below 2**32, in arithmetic that never overflows int64."""
    x = x ^ (x >> 16)
    x = _times(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _times(x, 0x846CA68B)
    return x ^ (x >> 16)


def _times(x, constant: int):
    """x * constant modulo 2**32, one 16-bit half of the constant at a time."""
    return (x * (constant & 0xFFFF) + (((x * (constant >> 16)) & 0xFFFF) << 16)) & MASK32


class StopSequences(StoppingCriteria):
    """Ends a row once its generated text contains one of its stop sequences.

    transformers' own `stop_strings` also match across the end of the prompt, which would
    end a completion that starts with `def` before it began.
    """

    def __init__(self, tokenizer, stops: list[list[str]], prompt_length: int):
        self.tokenizer = tokenizer
        self.stops = stops
        self.prompt_length = prompt_length
        # every token is at least one character, so this many tokens hold any stop sequence
        self.window = max(len(stop) for row in stops for stop in row) + 1

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        tails = self.tokenizer.batch_decode(input_ids[:, self.prompt_length:][:, -self.window:],
                                            skip_special_tokens=True)
        return torch.tensor([any(stop in tail for stop in row) for tail, row in zip(tails, self.stops)],
                            device=input_ids.device)


def choose_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise HarnessError(f"--device {device}: no CUDA device is available")
    return device


def choose_dtype(dtype: str, device: str) -> torch.dtype:
    if dtype == "auto":
        if not device.startswith("cuda"):
            # Measured on a 2-core AVX-512 CPU with left-padded batches of 8: bfloat16 was
            # 3.6x slower than float32 and changed 4 of 8 greedy answers against the same
            # prompts generated alone; float32 changed none.
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype not in DTYPES:
        raise HarnessError(f"unknown dtype {dtype!r}; choose auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def load_checkpoint(path: str, device: str, dtype: torch.dtype):
    if not os.path.exists(path) and not HUB_ID.match(path):
        raise HarnessError(f"model {path!r}: no such checkpoint folder")
    # "auto" lets accelerate spread a large model over every visible GPU
    device_map = "auto" if device == "cuda" else device
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, device_map=device_map)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"model {path!r} could not be loaded: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model.eval()


def end_token_ids(tokenizer, model) -> set[int]:
    """Tokens that end an answer: the model's generation config may list several."""
    configured = model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, list) else [configured])
    ids.add(tokenizer.eos_token_id)
    return {i for i in ids if i is not None}


def check_sampling(sampling: SamplingConfig) -> None:
    if sampling.temperature < 0:
        raise HarnessError(f"--temperature must be 0 (greedy) or more, got {sampling.temperature}")
    if not 0 < sampling.top_p <= 1:
        raise HarnessError(f"--top-p must be in (0, 1], got {sampling.top_p}")
    if sampling.max_tokens < 1:
        raise HarnessError(f"--max-tokens must be at least 1, got {sampling.max_tokens}")
