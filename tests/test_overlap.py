"""`eval` runs generation and execution at once: each sample goes to the sandbox as soon as it
is generated. Killed with kill -9 mid-way (samples generated but not executed), the run
resumes without losing or duplicating a record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

from tests.fakes import ScriptedBackend

REPO = Path(__file__).resolve().parents[1]
PROBLEMS, SAMPLES = 30, 5
# Each program sleeps this long when it loads: execution lags far behind the replayed samples.
SLOW = "\nimport time as _time\n_time.sleep(0.05)\n"


def complete_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]


def test_kill_9_mid_overlap_then_resume(tmp_path):
    problems = create_task("humaneval").load()[:PROBLEMS]
    samples = tmp_path / "samples.jsonl"
    with open(samples, "w") as out:
        for problem in problems:
            body = problem.canonical_solution[len(problem.prompt):]
            for index in range(SAMPLES):  # even samples right, odd ones wrong
                completion = (body if index % 2 == 0 else "    return None\n") + SLOW
                out.write(json.dumps({"task_id": problem.id, "completion": completion}) + "\n")
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "codeharness", "eval", "--task", "humaneval", "--backend",
               "replay", "--samples", str(samples), "--limit", str(PROBLEMS), "--workers", "2",
               "--run-dir", str(run_dir)]
    env = {**os.environ, "CODEHARNESS_PROGRESS": "0"}
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while len(complete_lines(run_dir / "executions.jsonl")) < 10:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no execution record in 300 s"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    generated = complete_lines(run_dir / "generations.jsonl")
    executed = complete_lines(run_dir / "executions.jsonl")
    total = PROBLEMS * SAMPLES
    assert 10 <= len(executed) < len(generated) <= total  # killed mid-overlap
    generated_keys = {(g["problem_id"], g["sample_index"]) for g in generated}
    assert all((e["problem_id"], e["sample_index"]) in generated_keys for e in executed)

    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    run = RunDir(run_dir)
    generations, executions = list(run.generations()), list(run.executions())
    for records in (generations, executions):
        keys = [(r["problem_id"], r["sample_index"]) for r in records]
        assert len(keys) == len(set(keys)) == total
    assert {e["status"] for e in executions if e["sample_index"] % 2 == 0} == {"passed"}
    wrong = [e for e in executions if e["sample_index"] % 2 == 1]
    assert {e["status"] for e in wrong} == {"failed", "error"}
    # `return None` fails the asserts, except where a test does arithmetic on it (HumanEval/4)
    assert {e["exception_type"] for e in wrong if e["status"] == "error"} == {"TypeError"}
    scores = json.loads((run_dir / "scores.json").read_text())
    coverage = scores["coverage"]  # of the --limit's problems: the task has more, so not complete
    assert (coverage["problems"], coverage["samples"]) == (PROBLEMS, total)
    assert coverage["problems_missing_samples"] == coverage["unexecuted_generations"] == 0


@pytest.fixture
def humaneval():
    task = create_task("humaneval")
    return task, pipeline.load_problems(task, 3)


def open_run(tmp_path, n: int) -> RunDir:
    run = RunDir(tmp_path / "run")
    config = pipeline.RunConfig(task="humaneval", sampling=SamplingConfig(n=n), backend="scripted")
    pipeline.open_run(run, config, overwrite=False)
    return run


def test_samples_execute_while_later_ones_are_generated(tmp_path, humaneval, local_sandbox):
    """The model answers its third sample only once the first one's execution record exists:
    a run that executed after generating would never get there."""
    task, problems = humaneval
    by_id = {p.id: p for p in problems}
    run = open_run(tmp_path, n=2)

    def answer(problem_id, index, prompt):
        if len(backend.requested) == 3:
            deadline = time.monotonic() + 120
            while not (run.path / "executions.jsonl").exists():
                assert time.monotonic() < deadline, "nothing executed while generating"
                time.sleep(0.01)
        problem = by_id[problem_id]
        return problem.canonical_solution[len(problem.prompt):]

    backend = ScriptedBackend(answer)
    config = pipeline.RunConfig(task="humaneval", sampling=SamplingConfig(n=2), backend="scripted")
    pipeline.generate_and_execute(run, config, task, problems, backend, local_sandbox)
    assert len(list(run.generations())) == len(list(run.executions())) == 6
    assert {e["status"] for e in run.executions()} == {"passed"}
    timestamps = run.manifest()["timestamps"]
    assert timestamps["execution_finished"] >= timestamps["generation_finished"]


class FailingSandbox:
    """A sandbox whose run breaks after its first outcome (a probe found it broken)."""

    def __init__(self, box):
        self.box = box

    def require(self, environment):
        pass

    def describe(self):
        return {"sandbox": "failing"}

    def run(self, jobs):
        for count, outcome in enumerate(self.box.run(jobs)):
            if count == 1:
                raise HarnessError("the sandbox broke")
            yield outcome


def test_an_execution_failure_stops_the_generation(tmp_path, humaneval, local_sandbox):
    task, problems = humaneval
    by_id = {p.id: p for p in problems}
    run = open_run(tmp_path, n=50)

    def answer(problem_id, index, prompt):
        time.sleep(0.01)
        problem = by_id[problem_id]
        return problem.canonical_solution[len(problem.prompt):]

    backend = ScriptedBackend(answer)
    config = pipeline.RunConfig(task="humaneval", sampling=SamplingConfig(n=50), backend="scripted")
    with pytest.raises(HarnessError, match="the sandbox broke"):
        pipeline.generate_and_execute(run, config, task, problems, backend,
                                      FailingSandbox(local_sandbox), queue_size=4)
    assert len(backend.requested) < 150  # the model stopped too
    assert len(list(run.executions())) == 1
