"""Harness overhead of `generate --backend vllm` next to a bare vLLM call, measured in the
same run on the same engine, and generated tokens/s of the hf and vllm backends.

Both sides use one engine started beforehand, so engine start is excluded from both, and
the same HumanEval chat prompts with the same sampling settings; the prefix cache is emptied
before every timing, and the order alternates between rounds.
- harness: `pipeline.generate` into a fresh run directory, which is what
  `codeharness generate --backend vllm` does once the task is loaded (prompts, chat template,
  one queued submission, each record extracted and written as its request finishes);
- bare: `LLM.chat(conversations, SamplingParams)`, vLLM's own one-call path.
The figure is the ratio of the median times. Target: at most 1.05.

Then tokens/s: the hf backend and the vllm backend, each through the harness, on the first
--hf-problems problems (hf on 2 cores is slow).

    python benchmarks/generation_overhead.py [--problems 64] [--max-tokens 128] [--rounds 2]
                                             [--hf-problems 16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codeharness.backends.vllm import VLLMBackend  # noqa: E402
from codeharness.core.records import SamplingConfig  # noqa: E402
from codeharness.pipeline import stages as pipeline  # noqa: E402
from codeharness.tasks import create_task  # noqa: E402

from benchmarks.timed_runs import harness_run  # noqa: E402

TARGET_RATIO = 1.05


def bare_run(llm, conversations: list, sampling: SamplingConfig) -> tuple[float, int]:
    from vllm import SamplingParams

    params = SamplingParams(n=sampling.n, temperature=sampling.temperature, top_p=sampling.top_p,
                            max_tokens=sampling.max_tokens)
    started = time.perf_counter()
    outputs = llm.chat(conversations, params, use_tqdm=False)
    elapsed = time.perf_counter() - started
    return elapsed, sum(len(choice.token_ids) for output in outputs for choice in output.outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--hf-problems", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="generation-overhead-") as scratch:
        measure(args, Path(scratch))


def measure(args, scratch: Path) -> None:
    task = create_task("humaneval")
    problems = pipeline.load_problems(task, args.problems)
    conversations = [task.build_prompt(p, "chat").messages for p in problems]
    sampling = SamplingConfig(n=1, temperature=0.0, max_tokens=args.max_tokens)
    print(f"{len(problems)} HumanEval chat prompts, greedy, max_tokens {args.max_tokens}; "
          f"{args.rounds} round(s)", flush=True)

    backend = VLLMBackend()
    llm = backend.engine(sampling)
    harness_run(backend, task, problems[:2], sampling, "vllm", scratch)  # warm-up
    times = {"bare": [], "harness": []}
    tokens = {}
    for round_number in range(args.rounds):
        order = ["bare", "harness"] if round_number % 2 == 0 else ["harness", "bare"]
        for side in order:
            llm.reset_prefix_cache()
            if side == "bare":
                elapsed, tokens[side] = bare_run(llm, conversations, sampling)
            else:
                elapsed, tokens[side] = harness_run(backend, task, problems, sampling, "vllm", scratch)
            times[side].append(elapsed)
        print(f"round {round_number + 1}: bare {times['bare'][-1]:.2f} s, "
              f"harness {times['harness'][-1]:.2f} s", flush=True)
    for side, label in (("bare", "bare LLM.chat"), ("harness", "harness generate")):
        median = statistics.median(times[side])
        print(f"{label:18} median {median:7.2f} s  {tokens[side]:6d} tokens  "
              f"{tokens[side] / median:7.1f} tok/s")
    ratio = statistics.median(times["harness"]) / statistics.median(times["bare"])
    print(f"overhead ratio harness/bare: {ratio:.3f} (target <= {TARGET_RATIO})")

    subset = problems[:args.hf_problems]
    llm.reset_prefix_cache()
    vllm_time, vllm_tokens = harness_run(backend, task, subset, sampling, "vllm", scratch)
    backend.close()
    from codeharness.backends.hf import HFBackend

    hf_time, hf_tokens = harness_run(HFBackend(), task, subset, sampling, "hf", scratch)
    hf_rate, vllm_rate = hf_tokens / hf_time, vllm_tokens / vllm_time
    print(f"generated tokens/s on {len(subset)} problems: hf {hf_rate:.1f} ({hf_tokens} tokens, "
          f"{hf_time:.1f} s), vllm {vllm_rate:.1f} ({vllm_tokens} tokens, {vllm_time:.1f} s); "
          f"vllm/hf {vllm_rate / hf_rate:.2f}x")


if __name__ == "__main__":
    main()
