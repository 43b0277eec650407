"""CoGEX tasks with a deterministic fake model (the CoTACS search: tests/test_cotacs.py)."""

import json
from pathlib import Path

import pytest
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.tasks import create_task

from tests.fakes import ScriptedBackend

DATA = Path(__file__).parent / "data" / "instructions.jsonl"


def test_cogex_task_grades_answers_through_the_pipeline(tmp_path, local_sandbox):
    task = create_task("cogex", data_path=str(DATA))
    problems = pipeline.load_problems(task, 4)
    answers = {problems[0].id: "### Output\n{'answer': 3}", problems[1].id: "{'answer': 'FIVE'}",
               problems[2].id: "I think zero", problems[3].id: "{'answer': '4.'}"}
    config = pipeline.RunConfig(task="cogex", task_options={"data_path": str(DATA)},
                                backend="scripted", prompt_style="completion")
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, task, problems, ScriptedBackend(lambda pid, i, p: answers[pid]))
    pipeline.execute(run, task, problems, local_sandbox)
    scores = pipeline.score(run, task, problems)
    metrics = scores["answer_match"]
    assert metrics["exact_match"] == 0.25 and metrics["normalized_match"] == 0.5
    assert metrics["parse_failures"] == 1
    assert scores["pass_at_k"]["normalized"]["pass@1"]["value"] == 0.5


def test_cogex_format_records_in_emulate_mode(tmp_path):
    record = {"instruction": "Reverse the word.", "input": "drawer",
              "code_prompt": "def reverse(word):\n    # Step 1: reverse\n    return {'answer': word[::-1]}\n>>> reverse('drawer')",
              "code_output": "{'answer': 'reward'}"}
    path = tmp_path / "cogex.json"
    path.write_text(json.dumps([record]))
    task = create_task("cogex", data_path=str(path), mode="emulate")
    problem = task.load()[0]
    assert problem.prompt.endswith(">>> reverse('drawer')\n### Output\n")
    assert problem.meta["gold"] == "reward"
    assert task.grade(problem, "{'answer': 'reward'}").status.value == "passed"


def test_bad_records_name_the_file_and_record(tmp_path):
    from codeharness.core.errors import HarnessError

    path = tmp_path / "bad.jsonl"
    path.write_text('{"instruction": "x", "input": "y"}\n')
    with pytest.raises(HarnessError, match=r"bad.jsonl record 1: needs 'output'"):
        create_task("cogex", data_path=str(path)).load()
