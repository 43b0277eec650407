"""Generated tokens/s of `--backend hf` next to a bare `model.generate`, measured in the same
run on the same loaded model: greedy, then sampled (n samples per problem).

- harness: `pipeline.generate` into a fresh run directory (chat template, stop sequences,
  per-sample seeded sampling, each batch's records extracted and written);
- bare: `model.generate` over the same rendered prompts in the same batches, with
  transformers' own sampler and no stop sequences.
Each side runs --rounds times, in alternating order, and its fastest round (in tokens/s) counts (a GPU's
first batch of a new shape is slow). The figure is harness tokens/s over bare tokens/s.
Meant for GPUs as much as for CPUs:

    python benchmarks/hf_throughput.py [--model PATH] [--data-path HumanEval.jsonl]
        [--problems 164] [--max-tokens 256] [--batch-size 64] [--n 10] [--rounds 2]
        [--device auto]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codeharness.backends.hf import HFBackend  # noqa: E402
from codeharness.core.records import GenerationRequest, SamplingConfig  # noqa: E402
from codeharness.pipeline import stages as pipeline  # noqa: E402
from codeharness.tasks import create_task  # noqa: E402

from benchmarks.timed_runs import harness_run  # noqa: E402


def bare_run(backend: HFBackend, requests: list[GenerationRequest],
             sampling: SamplingConfig) -> tuple[float, int]:
    import torch

    samples = backend._samples(requests)
    samples.sort(key=lambda s: len(s.prompt_ids), reverse=True)
    tokenizer, model = backend.tokenizer, backend.model
    extra = {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p} \
        if not sampling.greedy else {"do_sample": False}
    tokens = 0
    started = time.perf_counter()
    for start in range(0, len(samples), backend.batch_size):
        batch = samples[start:start + backend.batch_size]
        inputs = tokenizer.pad({"input_ids": [s.prompt_ids for s in batch]},
                               return_tensors="pt").to(model.device)
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=sampling.max_tokens,
                                    eos_token_id=sorted(backend.eos_ids),
                                    pad_token_id=tokenizer.pad_token_id, **extra)
        generated = output[:, inputs["input_ids"].shape[1]:]
        ended = torch.isin(generated, torch.tensor(sorted(backend.eos_ids), device=generated.device))
        # tokens up to and including the first end token, as the harness counts them
        tokens += int(torch.where(ended.any(1), ended.int().argmax(1) + 1,
                                  torch.full_like(ended[:, 0], generated.shape[1], dtype=torch.long)).sum())
    return time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="default: the embedded SmolLM2")
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--problems", type=int, default=164)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    task = create_task("humaneval", **({"data_path": args.data_path} if args.data_path else {}))
    problems = pipeline.load_problems(task, args.problems)
    backend = HFBackend(args.model, batch_size=args.batch_size, device=args.device).engine
    print(f"{len(problems)} HumanEval chat prompts, max_tokens {args.max_tokens}, batch "
          f"{args.batch_size}, {backend.describe()['device']} {backend.describe()['dtype']}", flush=True)
    settings = [("greedy", SamplingConfig(n=1, temperature=0.0, max_tokens=args.max_tokens)),
                (f"sampled n={args.n}", SamplingConfig(n=args.n, temperature=0.8, top_p=0.95,
                                                       max_tokens=args.max_tokens))]
    with tempfile.TemporaryDirectory(prefix="hf-throughput-") as scratch:
        for label, sampling in settings:
            requests = [GenerationRequest(p.id, task.build_prompt(p, "chat"), list(range(sampling.n)))
                        for p in problems]
            timings = {"bare": [], "harness": []}
            for round_number in range(args.rounds):
                for side in ("bare", "harness") if round_number % 2 == 0 else ("harness", "bare"):
                    timings[side].append(
                        bare_run(backend, requests, sampling) if side == "bare"
                        else harness_run(backend, task, problems, sampling, "hf", Path(scratch)))
            (bare_time, bare_tokens), (harness_time, harness_tokens) = (
                max(timings[side], key=lambda timing: timing[1] / timing[0]) for side in ("bare", "harness"))
            bare_rate, harness_rate = bare_tokens / bare_time, harness_tokens / harness_time
            print(f"{label:12} bare model.generate {bare_rate:8.1f} tok/s ({bare_tokens} tokens, "
                  f"{bare_time:.1f} s); harness {harness_rate:8.1f} tok/s ({harness_tokens} tokens, "
                  f"{harness_time:.1f} s); harness/bare {harness_rate / bare_rate:.2f}", flush=True)


if __name__ == "__main__":
    main()
