"""`check-gt` on the real benchmark files through the real local sandbox: every reference
solution passes its own task's tests, except the task's documented known-bad problems.
The expected outputs of HumanEval+ and MBPP+ are computed afresh (empty cache), so this also
checks that they survive the trip out of the sandbox and back into test programs."""

import pytest
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

# Each task's default source: the release file packaged with codeharness (tasks/data/).
TASKS = {
    "humaneval": {},
    "humaneval_plus": {},
    "mbpp": {"split": "all"},
    "mbpp_sanitized": {},
    "mbpp_plus": {},
}


@pytest.mark.parametrize("name", TASKS)
def test_every_reference_solution_passes(name, local_sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEHARNESS_CACHE", str(tmp_path))
    task = create_task(name, **TASKS[name])
    problems = task.load()
    report = pipeline.check_ground_truth(task, problems, local_sandbox)
    assert report["unexpected"] == {}
    assert report["passed"] + len(report["known_bad"]) == report["total"] == len(problems)
    assert set(report["known_bad"]) <= set(task.known_bad)
