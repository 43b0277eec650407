"""P3's bootstrap style: rounds whose prompts grow with the puzzles solved so far, driven by
the pipeline from the run's records alone (so a killed run resumes)."""

from __future__ import annotations

import pytest
from codeharness.core.records import Execution, Generation, SamplingConfig, from_dict
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks.base import Problem
from codeharness.tasks.p3 import P3

from tests.fakes import ScriptedBackend


def puzzle(name: str, target: int) -> Problem:
    sat = f"def sat(n: int):\n    return n == {target}"
    meta = {"sat": sat, "ans_type": "int", "sol_header": "def sol():", "sol_docstring": '    """Find n."""',
            "sol_bodies": [f"    return {target}"], "module": "test.py", "weight": 1.0}
    return Problem(id=name, prompt=sat, entry_point="sol", meta=meta)


PUZZLES = [puzzle("Easy:0", 7), puzzle("NeedsExample:0", 11), puzzle("Never:0", 13)]


def answer(problem_id: str, index: int, prompt) -> str:
    """Easy is always solved; NeedsExample only once its prompt shows a solved example (it calls
    the target by its number in the prompt); Never never."""
    if problem_id == "Easy:0":
        return "\n    return 7\n"
    if problem_id == "NeedsExample:0" and "assert f1(g1())" in prompt.text:
        return "\n    return next(i for i in range(100) if f2(i))\n"
    return "\n    return 0\n"


def run_bootstrap(tmp_path, backend, sandbox, name="run"):
    task = P3(bootstrap_round_size=2)
    config = pipeline.RunConfig(task="p3", prompt_style="bootstrap", backend="scripted",
                                sampling=SamplingConfig(n=5, seed=3))
    run = RunDir(tmp_path / name)
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate_in_rounds(run, config, task, PUZZLES, backend, sandbox)
    return task, run


def records(run):
    generations = sorted((from_dict(Generation, g) for g in run.generations()), key=lambda g: g.key)
    executions = sorted((from_dict(Execution, e) for e in run.executions()), key=lambda e: e.key)
    return generations, executions


def test_rounds_grow_the_prompt_with_solved_puzzles(tmp_path, local_sandbox):
    task, run = run_bootstrap(tmp_path, ScriptedBackend(answer), local_sandbox)
    generations, executions = records(run)
    attempts = {p.id: sorted(g.sample_index for g in generations if g.problem_id == p.id) for p in PUZZLES}
    # Round 0: samples 0-1 of all; Easy is solved. Round 1: samples 2-3 of the others, with
    # Easy as the example; NeedsExample is solved. Round 2: sample 4 of Never only.
    assert attempts == {"Easy:0": [0, 1], "NeedsExample:0": [0, 1, 2, 3], "Never:0": [0, 1, 2, 3, 4]}
    round_one = next(g for g in generations if g.key == ("NeedsExample:0", 2))
    assert "def f1(n: int):\n    return n == 7\n\ndef g1():\n    return 7\n\nassert f1(g1())" in round_one.prompt
    assert round_one.prompt.endswith("def f2(n: int):\n    return n == 11\n\ndef g2():")
    assert "return next(i for i in range(100) if f(i))" in round_one.program
    passed = {e.key for e in executions if e.status == "passed"}
    assert passed == {("Easy:0", 0), ("Easy:0", 1), ("NeedsExample:0", 2), ("NeedsExample:0", 3)}

    scores = pipeline.score(run, task, PUZZLES)
    curve = scores["p3"]["attempts_to_first_success"]
    assert curve["solved_within"] == {"pass@1": pytest.approx(1 / 3), "pass@5": pytest.approx(2 / 3)}
    assert curve["curve"] == [[1, pytest.approx(1 / 3)], [3, pytest.approx(2 / 3)]]


def test_a_killed_bootstrap_run_resumes_to_the_same_records(tmp_path, local_sandbox):
    _, whole = run_bootstrap(tmp_path, ScriptedBackend(answer), local_sandbox, "whole")
    killed = ScriptedBackend(answer, fail_after=7)  # in the middle of round 1
    with pytest.raises(KeyboardInterrupt):
        run_bootstrap(tmp_path, killed, local_sandbox, "resumed")
    resumed = ScriptedBackend(answer)
    _, run = run_bootstrap(tmp_path, resumed, local_sandbox, "resumed")
    assert set(resumed.requested).isdisjoint(killed.requested)

    def facts(run):
        generations, executions = records(run)
        return ([(g.key, g.prompt, g.program) for g in generations], [(e.key, e.status) for e in executions])

    assert facts(run) == facts(whole)
