"""The stages end to end with a scripted model and the real local sandbox."""

import json

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

from tests.fakes import ScriptedBackend


def canonical_body(problem_id, index, prompt, problems):
    problem = problems[problem_id]
    body = problem.canonical_solution[len(problem.prompt):]
    return body if index % 2 == 0 else "    return None\n"


@pytest.fixture
def humaneval():
    task = create_task("humaneval")
    problems = pipeline.load_problems(task, 3)
    return task, problems


def test_generate_resumes_after_a_kill_without_losing_or_duplicating(tmp_path, humaneval):
    task, problems = humaneval
    by_id = {p.id: p for p in problems}
    config = pipeline.RunConfig(task="humaneval", sampling=SamplingConfig(n=4), backend="scripted")
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)

    killed = ScriptedBackend(lambda pid, i, p: canonical_body(pid, i, p, by_id), fail_after=5)
    with pytest.raises(KeyboardInterrupt):
        pipeline.generate(run, config, task, problems, killed)
    assert len(run.generations()) == 5

    resumed = ScriptedBackend(lambda pid, i, p: canonical_body(pid, i, p, by_id))
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, task, problems, resumed)
    assert len(resumed.requested) == 12 - 5
    assert set(resumed.requested).isdisjoint(killed.requested)
    keys = [(g["problem_id"], g["sample_index"]) for g in run.generations()]
    assert len(keys) == len(set(keys)) == 12


def test_execute_and_score_give_the_expected_pass_rates(tmp_path, humaneval, local_sandbox):
    task, problems = humaneval
    by_id = {p.id: p for p in problems}
    config = pipeline.RunConfig(task="humaneval", sampling=SamplingConfig(n=4), backend="scripted")
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    backend = ScriptedBackend(lambda pid, i, p: canonical_body(pid, i, p, by_id))
    pipeline.generate(run, config, task, problems, backend)
    pipeline.execute(run, task, problems, local_sandbox)
    executions = list(run.executions())
    assert len(executions) == 12
    assert {e["status"] for e in executions if e["sample_index"] % 2 == 0} == {"passed"}
    assert {e["status"] for e in executions if e["sample_index"] % 2 == 1} == {"failed"}

    pipeline.execute(run, task, problems, local_sandbox)  # nothing left to do: no duplicates
    assert len(list(run.executions())) == 12

    scores = pipeline.score(run, task, problems)
    assert scores["pass_at_k"]["base"]["pass@1"]["value"] == pytest.approx(0.5)
    assert scores["pass_at_k"]["base"]["pass@2"]["value"] == pytest.approx(1 - 1 / 6)
    assert json.loads((run.path / "scores.json").read_text()) == scores
    manifest = run.manifest()
    assert manifest["data"][0]["sha256"]
    assert manifest["versions"]["python"]
    assert manifest["sandbox"]["sandbox"] == "local"


def test_unknown_task_option_is_a_clear_error():
    with pytest.raises(HarnessError, match="has no option --color"):
        create_task("humaneval", color="blue")


def test_runtime_options_do_not_change_the_run_but_decoding_does(tmp_path):
    """A run resumes with a smaller batch or another server address; other samples are
    another run."""
    def config(**changes):
        base = dict(task="humaneval", backend="hf", backend_options={"device": "cpu", "dtype": "auto"},
                    runtime_options={"batch_size": 8})
        return pipeline.RunConfig(**{**base, **changes})

    first = config()
    run = RunDir(tmp_path / first.run_id())
    pipeline.open_run(run, first, overwrite=False)
    smaller_batch = config(runtime_options={"batch_size": 2})
    assert smaller_batch.run_id() == first.run_id()
    pipeline.open_run(run, smaller_batch, overwrite=False)
    hotter = config(sampling=SamplingConfig(temperature=0.8))
    assert hotter.run_id() != first.run_id()
    with pytest.raises(HarnessError, match="config"):
        pipeline.open_run(run, hotter, overwrite=False)
