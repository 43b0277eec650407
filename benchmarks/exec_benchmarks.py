"""Execution throughput per benchmark (CRUXEval, LiveCodeBench, BigCodeBench) in the local
sandbox, and for BigCodeBench next to BigCodeBench's own evaluator on the same samples in the
same run, with every per-sample disagreement.

    python benchmarks/exec_benchmarks.py [--benchmarks cruxeval,livecodebench,bigcodebench]
        [--workers 2] [--bigcodebench-limit 100] [--python PATH] [--out FILE]

- CRUXEval: the 16,000 released Code Llama 7B answers (tests/data/cruxeval), one sandboxed
  process per answer, as cruxeval_i / cruxeval_o check them; pass@1 must come out as published.
- LiveCodeBench: the right and wrong programs of tests/data/livecodebench, 25 times over.
- BigCodeBench: --bigcodebench-limit network-free tasks of v0.1.0_hf, evenly spread over
  the set (all of them when the limit is at least 1,035), each with its
  reference solution and a wrong one (the signature with `pass`), through our task (reference
  times measured first, as `prepare` does) and through upstream's `trusted_check` /
  `untrusted_check` (benchmarks/bigcodebench_upstream.py, the PyPI wheel `bigcodebench`
  0.2.5 installed with --no-deps next to, not into, BigCodeBench's environment), both with
  --workers processes and the same interpreter (--python, default: the environment
  `python -m codeharness.tasks.bigcodebench_env` builds). Both phases are timed: ground truth
  and the samples.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
UPSTREAM_WHEEL = "bigcodebench==0.2.5"
SHOWN = 30


def run_jobs(sandbox, task, problems: dict, samples: list[tuple[str, str]]):
    """Our verdicts on (problem id, program) samples, in order, and the seconds it took."""
    jobs, graded = [], {}
    for index, (problem_id, program) in enumerate(samples):
        job = task.build_job(problems[problem_id], program, str(index))
        if job is None:
            graded[index] = task.grade(problems[problem_id], program)
        else:
            jobs.append(job)
    started = time.perf_counter()
    verdicts = dict(graded)
    for outcome in sandbox.run(jobs):
        index = int(outcome.job_id)
        verdicts[index] = task.judge(problems[samples[index][0]], outcome)
    return [verdicts[i] for i in range(len(samples))], time.perf_counter() - started


def cruxeval(sandbox, workers: int) -> dict:
    from codeharness.core.records import Execution
    from codeharness.tasks import create_task
    from codeharness.tasks.cruxeval import CruxEvalPassAtK

    result = {}
    for name, mode in (("cruxeval_i", "input"), ("cruxeval_o", "output")):
        task = create_task(name, data_path=str(DATA / "cruxeval" / "cruxeval.jsonl"))
        problems = {p.id: p for p in task.load()}
        with open(DATA / "cruxeval" / f"generations_codellama-7b_temp0.2_{mode}.json") as f:
            generations = json.load(f)
        samples = [(pid, answer) for pid, answers in generations.items() for answer in answers]
        verdicts, seconds = run_jobs(sandbox, task, problems, samples)
        counts: dict[str, int] = {}
        executions = []
        for (pid, _), judgement in zip(samples, verdicts):
            counts[pid] = counts.get(pid, -1) + 1
            executions.append(Execution(name, pid, counts[pid], judgement.status,
                                        judgement.groups, details=judgement.details))
        scores = CruxEvalPassAtK().score(task, [], [], executions)
        result[name] = {"programs": len(samples), "seconds": round(seconds, 1),
                        "programs_per_s": round(len(samples) / seconds, 1),
                        "pass@1": round(scores["pass@1"]["original_scale"], 2),
                        "pass@5": round(scores["pass@5"]["original_scale"], 2)}
        print(f"{name}: {result[name]}", flush=True)
    return result


def livecodebench(sandbox, workers: int, copies: int = 25) -> dict:
    from codeharness.core.records import Status
    from codeharness.tasks import create_task

    folder = DATA / "livecodebench"
    task = create_task("livecodebench", data_path=str(folder))
    problems = {p.id: p for p in task.load()}
    solutions = [json.loads(line) for line in (folder / "solutions.jsonl").read_text().splitlines()]
    samples = [(s["question_id"], s[kind]) for _ in range(copies) for s in solutions
               for kind in ("right", "wrong")]
    verdicts, seconds = run_jobs(sandbox, task, problems, samples)
    expected = [kind == "right" for _ in range(copies) for s in solutions for kind in ("right", "wrong")]
    wrong = sum((v.status is Status.PASSED) != e for v, e in zip(verdicts, expected))
    tests = sum(len(problems[pid].meta["tests"]) for pid, _ in samples)
    result = {"programs": len(samples), "tests": tests, "seconds": round(seconds, 1),
              "programs_per_s": round(len(samples) / seconds, 1), "unexpected_verdicts": wrong}
    print(f"livecodebench: {result}", flush=True)
    return result


def upstream_evaluator(python: str) -> str:
    """A folder with BigCodeBench's evaluator (the PyPI wheel, no dependencies: its eval and
    gen.util modules need only what the environment has)."""
    from codeharness.core.models import cache_dir

    target = cache_dir() / "bigcodebench-evaluator"
    if not (target / "bigcodebench" / "eval" / "__init__.py").is_file():
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                        UPSTREAM_WHEEL], check=True)
    return str(target)


def bigcodebench(sandbox, workers: int, limit: int, python: str | None) -> dict:
    from codeharness.core.records import Status
    from codeharness.tasks import bigcodebench_env, create_task

    python = python or str(bigcodebench_env.default_python())
    task = create_task("bigcodebench_complete", python=python,
                       data_path=str(DATA / "bigcodebench" / "BigCodeBench-v0.1.0_hf.jsonl.gz"))
    every = task.load()
    chosen = [every[round(i * len(every) / limit)] for i in range(limit)] if limit < len(every) else every
    problems = {p.id: p for p in chosen}
    samples = [(p.id, s) for p in chosen
               for s in (p.canonical_solution, p.meta["code_prompt"] + "    pass\n")]
    started = time.perf_counter()
    task._reference.clear()
    task.prepare(chosen, sandbox)  # the ground truth: every reference timed
    ours_gt = time.perf_counter() - started
    reference_failures = dict(task._reference_errors)
    verdicts, ours = run_jobs(sandbox, task, problems, samples)
    ours_passed = [v.status is Status.PASSED for v in verdicts]

    request = {"workers": workers, "samples": samples,
               "problems": {p.id: {"complete_prompt": p.meta["complete_prompt"],
                                   "canonical_solution": p.canonical_solution[len(p.meta["complete_prompt"]) + 1:],
                                   "test": p.meta["test"], "entry_point": p.entry_point,
                                   "code_prompt": p.meta["code_prompt"]} for p in chosen}}
    env = {**os.environ, "PYTHONPATH": upstream_evaluator(python)}
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([python, str(REPO / "benchmarks" / "bigcodebench_upstream.py")], check=False,
                              input=json.dumps(request), capture_output=True, text=True, env=env,
                              cwd=scratch)
    if done.returncode != 0:
        raise SystemExit(f"BigCodeBench's evaluator failed:\n{done.stderr[-3000:]}")
    upstream = json.loads(done.stdout.strip().splitlines()[-1])
    upstream_passed = [status == "pass" for status, _ in upstream["results"]]
    disagreements = []
    for index, ((pid, _), mine, theirs) in enumerate(zip(samples, verdicts, upstream["results"])):
        if (mine.status is Status.PASSED) != (theirs[0] == "pass"):
            disagreements.append({"task": pid, "sample": "reference" if index % 2 == 0 else "wrong",
                                  "ours": mine.status.value, "ours_reason": mine.details.get("reason", "")[:300],
                                  "upstream": theirs[0], "upstream_failed_tests": theirs[1][:5]})
    result = {
        "tasks": len(chosen), "programs": len(samples),
        "ours": {"ground_truth_seconds": round(ours_gt, 1), "seconds": round(ours, 1),
                 "programs_per_s": round(len(samples) / ours, 2), "passed": sum(ours_passed)},
        "upstream": {"ground_truth_seconds": round(upstream["ground_truth_seconds"], 1),
                     "seconds": round(upstream["seconds"], 1),
                     "programs_per_s": round(len(samples) / upstream["seconds"], 2),
                     "passed": sum(upstream_passed),
                     "ground_truth_passed": sum(t is not None for t in upstream["ground_truth"].values())},
        "ours_reference_failures": reference_failures,
        "failed_references": {pid: {"ours": v.status.value, "reason": v.details.get("reason", "")[:300],
                                    "upstream": theirs[0]}
                              for (pid, _), v, theirs, i in zip(samples, verdicts, upstream["results"],
                                                               range(len(samples)))
                              if i % 2 == 0 and (v.status is not Status.PASSED or theirs[0] != "pass")},
        "upstream_ground_truth_failures": sorted(k for k, v in upstream["ground_truth"].items() if v is None),
        "speedup": round(upstream["seconds"] / ours, 2),
        "agreement": round(1 - len(disagreements) / len(samples), 4),
        "disagreements": disagreements,
    }
    print(f"bigcodebench: {json.dumps({k: v for k, v in result.items() if k != 'disagreements'})}")
    for item in disagreements[:SHOWN]:
        print(f"  differs: {item}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default="cruxeval,livecodebench,bigcodebench")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bigcodebench-limit", type=int, default=100)
    parser.add_argument("--python", default=None, help="BigCodeBench's interpreter")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here (JSON)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from codeharness.sandbox.local import LocalSandbox

    figures = {"workers": args.workers, "machine": f"{os.cpu_count()} cores",
               "load_average": os.getloadavg()[0]}
    wanted = args.benchmarks.split(",")
    with LocalSandbox(workers=args.workers) as sandbox:
        if "cruxeval" in wanted:
            figures["cruxeval"] = cruxeval(sandbox, args.workers)
        if "livecodebench" in wanted:
            figures["livecodebench"] = livecodebench(sandbox, args.workers)
        if "bigcodebench" in wanted:
            figures["bigcodebench"] = bigcodebench(sandbox, args.workers, args.bigcodebench_limit,
                                                   args.python)
    figures["load_average_after"] = os.getloadavg()[0]
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
