"""Execution throughput per language: programs/s through the local sandbox (and the Docker
sandbox with --docker), next to the same programs run bare (each language's own commands in
plain subprocesses, no sandbox: the floor) and, with --multipl-e-src, next to MultiPL-E's own
container-free runner (`evaluation/src/main.py` of a nuprl/MultiPL-E checkout); all in the
same run, with per-sample verdict agreement.

Workloads, per language:
  - HumanEval-X: the canonical solutions of its 164 problems (--humaneval-x-limit to cut);
  - MultiPL-E: the hand-written right and wrong solutions of tests/test_multipl_e.py and
    upstream's smoke completions, each made --copies distinct programs (a comment line differs:
    MultiPL-E's runner caches identical programs).

    python benchmarks/exec_languages.py --workers 2 [--docker] [--languages cpp,go,...]
        [--multipl-e-src PATH/TO/MultiPL-E/evaluation/src]

Programs of both benchmarks come from tests/data (vendored upstream files)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codeharness.core.records import Status  # noqa: E402
from codeharness.sandbox import languages as toolchains  # noqa: E402
from codeharness.tasks import create_task  # noqa: E402
from codeharness.tasks.base import Problem  # noqa: E402
from tests import test_multipl_e as hand  # noqa: E402

DATA = REPO / "tests" / "data"
HUMANEVAL_X = ("cpp", "go", "java", "js", "python", "rust")
COMMENT = {"cpp": "//", "cs": "//", "d": "//", "go": "//", "java": "//", "js": "//", "ts": "//",
           "rs": "//", "scala": "//", "php": "//", "lua": "--", "pl": "#", "py": "#", "r": "#",
           "rb": "#", "sh": "#", "rkt": ";"}


def multipl_e_samples(codes: list[str], copies: int) -> list[tuple]:
    """(sample id, task, problem, program) for each MultiPL-E language."""
    samples = []
    for code in codes:
        tasks = {b: create_task(f"multiple_{b}_{code}",
                                data_path=str(DATA / "multipl-e" / b / f"{b}-{code}-reworded.jsonl.gz"))
                 for b in ("humaneval", "mbpp")}
        problems = {b: {p.id: p for p in t.load()} for b, t in tasks.items()}
        completions = []
        for problem_id, completion in hand.RIGHT[code].items():
            completions.append(("mbpp" if problem_id.startswith("mbpp") else "humaneval", problem_id, completion))
        problem_id, before, after = hand.WRONG_EDITS[code]
        completions.append(("humaneval", problem_id, hand.RIGHT[code][problem_id].replace(before, after)))
        completions.append(("humaneval", hand.B, hand.WRONG_ALWAYS_TRUE[code]))
        smoke = json.loads((DATA / "multipl-e" / "smoke" / f"{code}-davinci-0.2-keep-HumanEval53.json").read_text())
        smoke_problem = Problem(smoke["name"], smoke["prompt"], meta={"tests": smoke["tests"],
                                                                      "stop_tokens": smoke["stop_tokens"]})
        for copy in range(copies):
            mark = f"{COMMENT[code]} copy {copy}\n" if code != "py" else f"    # copy {copy}\n"
            for index, (benchmark, problem_id, completion) in enumerate(completions):
                problem = problems[benchmark][problem_id]
                samples.append((f"multiple-{code}/{index}/{copy}", tasks[benchmark], problem,
                                problem.prompt + "\n" + mark + completion))
            for index, completion in enumerate(smoke["completions"]):
                samples.append((f"multiple-{code}/smoke{index}/{copy}", tasks["humaneval"], smoke_problem,
                                smoke_problem.prompt + "\n" + mark + completion))
    return samples


def humaneval_x_samples(languages: list[str], limit: int | None) -> list[tuple]:
    samples = []
    for language in languages:
        task = create_task(f"humaneval_x_{language}",
                           data_path=str(DATA / "humaneval-x" / f"humaneval_{language}.jsonl.gz"))
        for problem in task.load()[:limit]:
            samples.append((f"humaneval-x-{language}/{problem.id}", task, problem, problem.canonical_solution))
    return samples


def group_of(sample_id: str) -> str:
    return sample_id.split("/")[0]


def run_sandbox(box, samples) -> tuple[dict, dict]:
    """Verdicts (passed or not) per sample, and seconds per group (each group run alone)."""
    verdicts, seconds = {}, {}
    for group in sorted({group_of(s[0]) for s in samples}):
        chosen = [s for s in samples if group_of(s[0]) == group]
        where = {s[0]: s for s in chosen}
        jobs = [task.build_job(problem, program, sample_id) for sample_id, task, problem, program in chosen]
        start = time.perf_counter()
        for outcome in box.run(jobs):
            _, task, problem, _ = where[outcome.job_id]
            verdicts[outcome.job_id] = task.judge(problem, outcome).status is Status.PASSED
        seconds[group] = time.perf_counter() - start
    return verdicts, seconds


def run_bare(samples, workers: int) -> tuple[dict, dict]:
    """The same jobs as plain subprocesses of each language's commands, no sandbox."""
    verdicts, seconds = {}, {}
    for group in sorted({group_of(s[0]) for s in samples}):
        chosen = [s for s in samples if group_of(s[0]) == group]
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            for sample_id, passed in pool.map(_bare_one, chosen):
                verdicts[sample_id] = passed
        seconds[group] = time.perf_counter() - start
    return verdicts, seconds


def _bare_one(sample) -> tuple[str, bool]:
    sample_id, task, problem, program = sample
    job = task.build_job(problem, program, sample_id)
    from codeharness.sandbox.jobs import Outcome

    with tempfile.TemporaryDirectory(prefix="bare-") as folder:
        if job.language == "python":
            source = job.program + "\n" + "\n".join(t.code for t in job.tests)
            result = _run([sys.executable, "-c", source], folder, {}, job.program_timeout_s + 10)
        else:
            chain = toolchains.TOOLCHAINS[job.language]
            name = job.source_name or chain.source
            Path(folder, name).write_text(job.program)
            env, compile_extra, run_extra = _bare_env(chain, job, folder)
            values = {"source": name, "stem": name.rsplit(".", 1)[0],
                      "classpath": ":".join([".", *toolchains._classpath(job.to_wire())]),
                      "heap_mb": str(job.memory_mb), "compile_args": [*compile_extra, *job.compile_args],
                      "run_args": [*run_extra, *job.run_args]}
            if chain.compile:
                built = _run(toolchains._expand(chain.compile, values), folder, env, job.compile_timeout_s)
                if built is None or built.returncode != 0:
                    return sample_id, False
            result = _run(toolchains._expand(chain.run, values), folder, env, job.program_timeout_s)
        if result is None:
            return sample_id, False
        outcome = Outcome(sample_id, Status.PASSED if result.returncode == 0 else Status.ERROR,
                          stdout=result.stdout, stderr=result.stderr, exit_code=result.returncode)
        return sample_id, task.judge(problem, outcome).status is Status.PASSED


def _bare_env(chain, job, folder):
    """The environment and flags sandbox/languages.py gives the job, for a bare run in folder."""
    env = {"PATH": toolchains.SANDBOX_PATH, "HOME": folder, "TMPDIR": folder, "LANG": "C.UTF-8",
           **chain.env}
    compile_extra: list[str] = []
    if chain.name == "rust" and job.libraries:
        crates = toolchains.rust_crates()
        compile_extra += ["-L", f"dependency={crates['deps']}"]
        compile_extra += [arg for crate in job.libraries
                          for arg in ("--extern", f"{crate}={crates['crates'][crate]}")]
    if chain.name == "go":
        env["GOCACHE"] = os.path.join(folder, ".gocache")
        seed = toolchains.go_cache_seed()
        if seed:
            shutil.copytree(seed, env["GOCACHE"], copy_function=shutil.copyfile)
    if chain.name == "js" and "js-md5" in job.libraries:
        env["NODE_PATH"] = ":".join(d for d in toolchains.NODE_MODULE_DIRS if os.path.isdir(d))
    if chain.name == "scala":
        env["JAVA_OPTS"] = " ".join([*toolchains.JVM_FLAGS, f"-Xmx{job.memory_mb}m"])
    return env, compile_extra, []


def _run(argv, cwd, env, timeout):
    try:
        return subprocess.run(argv, cwd=cwd, env=env or None, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None


def run_multipl_e_runner(src: Path, samples, workers: int) -> tuple[dict, dict]:
    """MultiPL-E's own runner: one completions file per problem, as its main.py reads them."""
    verdicts, seconds = {}, {}
    for group in sorted({group_of(s[0]) for s in samples if s[0].startswith("multiple-")}):
        chosen = [s for s in samples if group_of(s[0]) == group]
        with tempfile.TemporaryDirectory(prefix="multipl-e-") as folder:
            inputs, outputs = Path(folder, "in"), Path(folder, "out")
            inputs.mkdir()
            by_problem: dict[str, list] = {}
            for sample in chosen:
                by_problem.setdefault(sample[2].id + "|" + sample[2].prompt[:40], []).append(sample)
            order = {}
            for index, (key, group_samples) in enumerate(by_problem.items()):
                problem = group_samples[0][2]
                language = group_samples[0][1].language
                record = {"name": problem.id, "language": "go_test.go" if language == "go" else language,
                          "prompt": problem.prompt, "tests": problem.meta["tests"],
                          "stop_tokens": problem.meta["stop_tokens"],
                          "completions": [s[3][len(problem.prompt):] for s in group_samples]}
                Path(inputs, f"p{index}.json").write_text(json.dumps(record))
                order[f"p{index}"] = [s[0] for s in group_samples]
            start = time.perf_counter()
            subprocess.run([sys.executable, "main.py", "--dir", str(inputs), "--output-dir", str(outputs),
                            "--max-workers", str(workers)], cwd=src, capture_output=True, text=True)
            seconds[group] = time.perf_counter() - start
            for name, ids in order.items():
                results_file = outputs / f"{name}.results.json"
                results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
                for sample_id, result in zip(ids, results):
                    verdicts[sample_id] = result["status"] == "OK"
    return verdicts, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--languages", default="", help="MultiPL-E codes and HumanEval-X languages "
                        "to run (default: all installed)")
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--humaneval-x-limit", type=int, default=None)
    parser.add_argument("--docker", action="store_true", help="also through the Docker sandbox")
    parser.add_argument("--multipl-e-src", type=Path, help="MultiPL-E's evaluation/src folder")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    wanted = set(filter(None, args.languages.split(",")))
    codes = [c for c in hand.INSTALLED if not wanted or c in wanted]
    hx = [language for language in HUMANEVAL_X if not wanted or language in wanted]
    samples = humaneval_x_samples(hx, args.humaneval_x_limit) + multipl_e_samples(codes, args.copies)
    print(f"{len(samples)} programs in {len({group_of(s[0]) for s in samples})} groups, "
          f"{args.workers} workers", flush=True)

    from contextlib import ExitStack

    from codeharness.sandbox.local import LocalSandbox

    groups = sorted({group_of(s[0]) for s in samples})
    runs: dict[str, tuple[dict, dict]] = {}
    with ExitStack() as stack:
        runners = {"local": lambda chosen, box=stack.enter_context(LocalSandbox(workers=args.workers)):
                   run_sandbox(box, chosen)}
        if args.docker:
            from codeharness.sandbox.docker import DockerSandbox

            docker = stack.enter_context(DockerSandbox(workers=args.workers))
            runners["docker"] = lambda chosen: run_sandbox(docker, chosen)
        runners["bare"] = lambda chosen: run_bare(chosen, args.workers)
        if args.multipl_e_src:
            runners["multipl-e"] = lambda chosen: run_multipl_e_runner(
                args.multipl_e_src.resolve(), chosen, args.workers)
        # Group by group, every runner in turn: a busy machine slows them alike.
        for group in groups:
            chosen = [s for s in samples if group_of(s[0]) == group]
            for name, runner in runners.items():
                verdicts, seconds = runner(chosen)
                runs.setdefault(name, ({}, {}))
                runs[name][0].update(verdicts)
                runs[name][1].update(seconds)

    counts = {g: sum(1 for s in samples if group_of(s[0]) == g) for g in groups}
    figures = {}
    header = ["group", "programs", *(f"{name} prog/s" for name in runs), "passed (local)",
              *(f"agree {name}" for name in runs if name != "local")]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for group in groups:
        ids = [s[0] for s in samples if group_of(s[0]) == group]
        local = runs["local"][0]
        row = {"programs": counts[group], "passed": sum(local[i] for i in ids)}
        cells = [group, str(counts[group])]
        for name, (verdicts, seconds) in runs.items():
            if group in seconds:
                row[f"{name}_per_s"] = round(counts[group] / seconds[group], 2)
                cells.append(f"{row[f'{name}_per_s']:.2f}")
            else:
                cells.append("-")
        cells.append(str(row["passed"]))
        for name, (verdicts, _) in runs.items():
            if name == "local":
                continue
            shared = [i for i in ids if i in verdicts]
            same = sum(verdicts[i] == local[i] for i in shared)
            row[f"agree_{name}"] = f"{same}/{len(shared)}"
            cells.append(row[f"agree_{name}"] if shared else "-")
        figures[group] = row
        print("| " + " | ".join(cells) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
