"""P3 against the paper's published cushman-codex run (results_397_cushman_codex_1k_full.json.gz):
its prompts, its solutions and its pass@k."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from codeharness.core.records import Execution, Status
from codeharness.pipeline import stages as pipeline
from codeharness.sandbox.jobs import Job, TestCase
from codeharness.scorers.outcomes import PassAtK
from codeharness.scorers.p3 import P3Scorer
from codeharness.tasks import p3_prompts as prompts
from codeharness.tasks.p3 import P3, PRELUDE

ATTEMPTS = 1000
# The paper run's pass@1/10/100/1000 in percent (P3 paper; the file's own "pass@k" entries).
PAPER_PASS_AT_K = {
    "short": (2.24, 8.74, 19.38, 29.97),
    "med": (7.14, 26.66, 51.47, 69.02),
    "long": (14.94, 42.38, 63.84, 76.57),
    "bootstrap": (8.82, 29.22, 51.64, 69.77),
}
# For a listed solution that ran out of the task's time, run again alone: it must finish.
# Generous, since it only bounds a program that never ends: GimmeChars's string grown to
# 999,000 characters takes 22 s on an idle two-core machine and 85 s at a load average of 7
# (where the former limit, 60 s, ran out).
PATIENT_TIMEOUT_S = 600
STYLE_OF = {"short": "short", "med": "medium", "long": "long", "bootstrap": "bootstrap"}


@pytest.fixture(scope="module")
def task(test_data):
    task = P3(data_path=str(test_data / "p3"))
    task.load()
    return task


@pytest.fixture(scope="module")
def puzzles(task):
    return task.load()


@pytest.fixture(scope="module")
def experiments(test_data, puzzles):
    with gzip.open(test_data / "p3" / "results_397_cushman_codex_1k_full.json.gz", "rt") as f:
        experiments = {e["experiment"]: e for e in json.load(f)}
    for experiment in experiments.values():
        assert [s["sat"] for s in experiment["sat_sols"]] == [prompts.as_f(p.meta["sat"]) for p in puzzles]
    return experiments


def listed_program(task, puzzle, experiment: str, solution: str) -> str:
    """Our program for a solution as the paper's file lists it: the answer expression (short),
    the body after the `def g(...):` header (med; long also after the docstring) or the
    whole `g` (bootstrap)."""
    header = prompts.as_g(puzzle.meta["sol_header"])
    solution = {"med": header + solution, "long": f"{header}\n{puzzle.meta['sol_docstring']}{solution}"
                }.get(experiment, solution)
    return task.program(puzzle, STYLE_OF[experiment], solution)


def listed_solutions(experiment: dict) -> list[list[str]]:
    return [[s for s, _count in entry["sol_counts"]] if "sol_counts" in entry else
            ([entry["sol"]] if "sol" in entry else []) for entry in experiment["sat_sols"]]


def batched_job(task, puzzle, programs: list[str], job_id: str) -> Job:
    """All listed solutions of one puzzle in one sandbox job, one test each: the test runs
    the program, then the very check `build_job` makes for it (a fork per puzzle instead of
    one per solution: 29,541 programs in 1,070 jobs)."""
    tests = []
    for index, program in enumerate(programs):
        single = task.build_job(puzzle, program, job_id)
        check = single.tests[0]
        tests.append(TestCase(str(index), f"exec({program!r}, globals())\n{check.code}",
                              group=str(index), timeout_s=check.timeout_s))
    return Job(job_id, "", tests, prelude=single.prelude)


def passing_hash_seeds(task, puzzle, program: str, sandbox) -> list[int]:
    """The PYTHONHASHSEED values (of 0-63) under which a program passes the check, each run
    in a fresh interpreter inside the sandbox."""
    check = task.build_job(puzzle, program, "check").tests[0].code
    source = PRELUDE + program + "\n" + check
    probe = (f"import os, subprocess, sys\n"
             f"for seed in range(64):\n"
             f"    run = subprocess.run([sys.executable, '-c', {source!r}], timeout=60,\n"
             f"                         env={{**os.environ, 'PYTHONHASHSEED': str(seed)}})\n"
             f"    print(seed, run.returncode)\n")
    outcome = next(iter(sandbox.run([Job("probe", probe, [], program_timeout_s=600)])))
    return [int(seed) for seed, code in (line.split() for line in outcome.stdout.splitlines()) if code == "0"]


def test_every_listed_solution_verifies(task, puzzles, experiments, local_sandbox):
    """All four experiments' distinct solutions (29,541 programs) pass our sandboxed check.
    A few answers depend on the order in which a set of strings iterates, which changes with
    the interpreter's hash seed; the paper's judge happened to accept them. Such a solution
    may fail here, but then it must pass under some PYTHONHASHSEED. A few others are slow
    (numeric searches of 2-7 s on this machine, a string grown to 999,000 characters by
    repeated concatenation in 22 s): one that runs out of the task's time must pass alone
    with PATIENT_TIMEOUT_S per unit of puzzle weight."""
    jobs, programs = [], {}
    for name, experiment in experiments.items():
        for puzzle, solutions in zip(puzzles, listed_solutions(experiment)):
            if solutions:
                batch = [listed_program(task, puzzle, name, s) for s in solutions]
                programs[f"{name}|{puzzle.id}"] = (puzzle, batch)
                jobs.append(batched_job(task, puzzle, batch, f"{name}|{puzzle.id}"))
    start = time.perf_counter()
    failures = [(o.job_id, int(t.name), t.status.value) for o in local_sandbox.run(jobs)
                for t in o.tests if t.status.value != "passed"]
    elapsed = time.perf_counter() - start
    verified = sum(len(batch) for _, batch in programs.values())
    print(f"\n{verified} listed solutions verified in {elapsed:.0f} s ({verified / elapsed:.0f}/s); "
          f"failed under this run's hash seed: {failures}")
    assert verified == 29541
    assert all(status in ("failed", "timeout") for _, _, status in failures)
    slow = [(job_id, index) for job_id, index, status in failures if status == "timeout"]
    patient = P3(data_path=task.data_path, timeout_s=PATIENT_TIMEOUT_S)
    retried = patient_verdicts(patient, [(programs[job_id][0], programs[job_id][1][index]) for job_id, index in slow],
                               local_sandbox)
    assert retried == ["passed"] * len(slow), list(zip(slow, retried))
    for job_id, index, status in failures:
        puzzle, batch = programs[job_id]
        if status == "failed":
            assert passing_hash_seeds(task, puzzle, batch[index], local_sandbox), (job_id, index)


def patient_verdicts(task, puzzles_and_programs, sandbox) -> list[str]:
    jobs = [task.build_job(puzzle, program, str(i)) for i, (puzzle, program) in enumerate(puzzles_and_programs)]
    verdicts = {outcome.job_id: outcome.verdict.value for outcome in sandbox.run(jobs)}
    return [verdicts[job.id] for job in jobs]


def executions_of(experiment: dict, puzzles) -> list[Execution]:
    """Execution records as our pipeline would write them for the paper's run: per puzzle,
    n_sols passing samples out of 1000 (short, med, long); or, for bootstrap, failures
    until the first success, and 1000 failures for a puzzle never solved."""
    executions = []
    for puzzle, entry in zip(puzzles, experiment["sat_sols"]):
        if "n_sols" in entry:
            outcomes = [i < entry["n_sols"] for i in range(ATTEMPTS)]
        elif "sol" in entry:
            outcomes = [False] * entry["failures"] + [True]
        else:
            outcomes = [False] * ATTEMPTS
        executions += [Execution("p3", puzzle.id, i, Status.PASSED if ok else Status.FAILED,
                                 {"base": Status.PASSED if ok else Status.FAILED}) for i, ok in enumerate(outcomes)]
    return executions


@pytest.mark.parametrize("name", ["short", "med", "long"])
def test_pass_at_k_reproduces_the_paper(task, puzzles, experiments, name):
    scores = PassAtK().score(task, puzzles, [], executions_of(experiments[name], puzzles))["base"]
    ours = tuple(round(100 * scores[f"pass@{k}"]["value"], 2) for k in (1, 10, 100, 1000))
    assert ours == PAPER_PASS_AT_K[name]


def test_bootstrap_first_success_curve_reproduces_the_paper(task, puzzles, experiments):
    scores = P3Scorer().score(task, puzzles, [], executions_of(experiments["bootstrap"], puzzles))
    curve = scores["attempts_to_first_success"]
    ours = tuple(round(100 * curve["solved_within"][f"pass@{k}"], 2) for k in (1, 10, 100, 1000))
    assert ours == PAPER_PASS_AT_K["bootstrap"]
    assert curve["solved"] == experiments["bootstrap"]["tot_solved"]


def test_bootstrap_prompts_are_the_papers(task, puzzles, experiments):
    """Each recorded bootstrap prompt is rebuilt exactly from the same solved examples."""
    solution_of = {prompts.as_f(p.meta["sat"]): entry["sol"]
                   for p, entry in zip(puzzles, experiments["bootstrap"]["sat_sols"]) if "sol" in entry}
    rebuilt = 0
    for puzzle, entry in zip(puzzles, experiments["bootstrap"]["sat_sols"]):
        if "prompt" not in entry:
            continue
        prompt = entry["prompt"]
        starts = [prompt.index(f"\ndef f{n}(") + 1 for n in range(1, prompt.count("\nassert f") + 1)]
        order = []
        for number, start in enumerate(starts, start=1):
            shown = prompt[start:].replace(f"def f{number}(", "def f(", 1)
            sat = next(sat for sat in solution_of if shown.startswith(sat.strip() + "\n\n"))
            order.append((sat.replace("def f(", "def sat(", 1), solution_of[sat]))
        text, target = prompts.bootstrap_prompt(order, puzzle.meta["sat"], puzzle.meta["sol_header"], 10**9)
        assert text == prompt
        assert target == len(order) + 1
        rebuilt += 1
    assert rebuilt == experiments["bootstrap"]["tot_solved"]


def test_reference_solutions_pass_the_ground_truth_check(task, puzzles, local_sandbox):
    report = pipeline.check_ground_truth(task, puzzles, local_sandbox)
    assert report["unexpected"] == {} and report["known_bad"] == {}
    assert report["passed"] == report["total"] == sum(len(p.meta["sol_bodies"]) for p in puzzles)
