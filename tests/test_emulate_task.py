"""Emulation fidelity: emulated answers graded against real execution in the sandbox."""



from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

from tests.fakes import ScriptedBackend


def run_emulation(tmp_path, sandbox, answer, limit, **options):
    task = create_task("emulate_humaneval", **options)
    problems = pipeline.load_problems(task, limit)
    config = pipeline.RunConfig(task="emulate_humaneval", task_options=options, backend="scripted",
                                prompt_style="completion", limit=limit)
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, task, problems, ScriptedBackend(answer))
    pipeline.execute(run, task, problems, sandbox)
    return pipeline.score(run, task, problems), list(run.executions()), problems


def test_calls_come_from_the_benchmark_tests():
    problems = create_task("emulate_humaneval").load()
    first = problems[0]
    assert first.id == "HumanEval/0/call0"
    assert first.meta["call"] == "has_close_elements([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)"
    assert first.prompt.endswith(">>> has_close_elements([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)\n### Output\n")
    assert len(problems) > 150


def test_emulations_are_graded_against_the_real_return_values(tmp_path, local_sandbox):
    scores, executions, problems = run_emulation(
        tmp_path, local_sandbox, lambda pid, i, p: "{'answer': True}" if pid.endswith("0/call0") else "no dict", limit=3)
    by_id = {e["problem_id"]: e for e in executions}
    assert by_id["HumanEval/0/call0"]["details"]["real"] == "True"
    assert by_id["HumanEval/0/call0"]["status"] == "passed"
    assert by_id["HumanEval/1/call0"]["details"]["parse_error"]
    fidelity = scores["emulation_fidelity"]
    assert fidelity["all"] == {"samples": 3, "accuracy": 1 / 3, "parse_failures": 2}
    assert fidelity["real_raised"]["samples"] == 0


def test_model_written_solutions_that_raise_are_split_out(tmp_path, local_sandbox):
    solutions = RunDir(tmp_path / "solutions")
    solutions.open({}, {"config": {}, "timestamps": {"created": "t"}}, overwrite=False)
    log = solutions.generations()
    for index, body in enumerate(["    return 1 / 0\n", "    return False\n"]):
        problem = create_task("humaneval").load()[0]
        log.append({"problem_id": problem.id, "sample_index": index, "program": problem.prompt + body})
    scores, executions, _ = run_emulation(
        tmp_path, local_sandbox, lambda pid, i, p: "{'answer': 'ZeroDivisionError'}", limit=None,
        solutions=str(solutions.path))
    by_id = {e["problem_id"]: e for e in executions}
    assert by_id["HumanEval/0#0/call0"]["details"] == {
        "raised": True, "real": "ZeroDivisionError", "predicted": "'ZeroDivisionError'"}
    assert by_id["HumanEval/0#0/call0"]["status"] == "passed"
    assert by_id["HumanEval/0#1/call0"]["status"] == "failed"
    fidelity = scores["emulation_fidelity"]
    assert fidelity["real_raised"]["accuracy"] == 1.0 and fidelity["real_returned"]["accuracy"] == 0.0
