"""CoGEX tasks and the CoTACS search, with a deterministic fake model."""

import json
import re
from pathlib import Path

import pytest

from harness import cogex_search, pipeline
from harness.backends.base import SamplingConfig
from harness.rundir import RunDir
from tasks import create_task
from tests.fakes import ScriptedBackend

DATA = Path(__file__).parent / "data" / "instructions.jsonl"
GOLD = {(r["instruction"], r["input"]): r["output"] for r in map(json.loads, DATA.read_text().splitlines())}
GOOD_PROGRAM_FOR = "item03"


def prompt_text(prompt) -> str:
    return prompt.text if prompt.text is not None else prompt.messages[-1]["content"]


def last_item(text: str) -> tuple[str, str]:
    instruction, input_text = re.findall(r"### Instruction\n(.*?)\n### Input\n(.*?)\n### Code", text, re.S)[-1]
    return instruction, input_text


def fake_model(problem_id, index, prompt) -> str:
    """Writes solve_<item>() programs; emulates solve_item03 correctly and every other
    program wrongly; never knows zero-shot answers."""
    text = prompt_text(prompt)
    if "### Code" not in text:
        return "no idea"
    instruction, input_text = last_item(text)
    if text.rstrip().endswith("### Code"):
        item = next(i for i, key in enumerate(GOLD) if key == (instruction, input_text))
        return (f"def solve_item{item:02d}(text):\n    # Step 1: think\n    return {{'answer': think(text)}}\n"
                f">>> solve_item{item:02d}({input_text!r})\n### Output\n{{'answer': None}}")
    calls = re.findall(r">>> (\w+)\(", text)
    gold = GOLD[(instruction, input_text)]
    answer = gold if calls[-1] == f"solve_{GOOD_PROGRAM_FOR}" else "wrong"
    return f"{{'steps': 1, 'answer': {answer!r}}}\nextra words after the dict"


def search(tmp_path, candidates, train_items, cache_path):
    task = create_task("cogex", data_path=str(DATA))
    problems = task.load()
    backend = ScriptedBackend(fake_model)
    cache = cogex_search.CallCache(cache_path, backend.describe(), SamplingConfig())
    config = cogex_search.SearchConfig(candidates=candidates, train_items=train_items, test_items=4, keep=1)
    run = RunDir(tmp_path / f"run-{candidates}-{train_items}")
    scores = cogex_search.run_search(task, problems, backend, SamplingConfig(), cache, config, run,
                                     style="completion")
    return scores, run, backend


def test_search_finds_the_program_that_works_across_items(tmp_path):
    scores, run, backend = search(tmp_path, candidates=12, train_items=6, cache_path=tmp_path / "c.jsonl")
    trace = json.loads((run.path / "search_trace.json").read_text())
    kept = [c for c in trace["candidates"] if c["kept"]]
    assert [c["written_for"] for c in kept] == [GOOD_PROGRAM_FOR]
    assert kept[0]["train_accuracy"] == 1.0
    assert all(c["train_accuracy"] == 0.0 for c in trace["candidates"] if not c["kept"])
    assert scores["cotacs"] == {"accuracy": 1.0, "items": 4}
    assert scores["fresh_program"]["accuracy"] == 0.0
    assert scores["zero_shot"]["accuracy"] == 0.0
    predictions = [json.loads(line) for line in (run.path / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 12 and {p["method"] for p in predictions} == {"cotacs", "fresh_program", "zero_shot"}
    assert scores["budget"]["model_calls"] == len(backend.requested) == 12 + 12 * 6 + 4 + 4 + 4 + 4


def test_reruns_and_larger_budgets_reuse_cached_calls(tmp_path):
    cache = tmp_path / "cache.jsonl"
    first, _, _ = search(tmp_path, candidates=12, train_items=4, cache_path=cache)
    again, _, backend = search(tmp_path, candidates=12, train_items=4, cache_path=cache)
    assert again["budget"]["model_calls"] == 0 and backend.requested == []
    assert again["budget"]["cache_hits"] == first["budget"]["model_calls"]
    larger, _, backend = search(tmp_path, candidates=12, train_items=6, cache_path=cache)
    new_train_pairs = 12 * 6 - 12 * 4
    assert larger["budget"]["model_calls"] == len(backend.requested) <= new_train_pairs


def test_cogex_task_grades_answers_through_the_pipeline(tmp_path, local_sandbox):
    task = create_task("cogex", data_path=str(DATA))
    problems = pipeline.load_problems(task, 4)
    answers = {problems[0].id: "### Output\n{'answer': 3}", problems[1].id: "{'answer': 'FIVE'}",
               problems[2].id: "I think zero", problems[3].id: "{'answer': '4.'}"}
    config = pipeline.RunConfig(task="cogex", task_options={"data_path": str(DATA)},
                                backend="scripted", prompt_style="completion")
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, task, problems, lambda: ScriptedBackend(lambda pid, i, p: answers[pid]))
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
    from harness.errors import HarnessError

    path = tmp_path / "bad.jsonl"
    path.write_text('{"instruction": "x", "input": "y"}\n')
    with pytest.raises(HarnessError, match=r"bad.jsonl record 1: needs 'output'"):
        create_task("cogex", data_path=str(path)).load()
