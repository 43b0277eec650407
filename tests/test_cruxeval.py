"""CRUXEval (cruxeval_o, cruxeval_i, emulate_cruxeval): the paper's prompts, upstream's answer
extraction and skip rules, and the released Code Llama 7B generations replayed to the
published pass@1 / pass@5 (tests/data/cruxeval, facebookresearch/cruxeval, MIT)."""

from __future__ import annotations

import ast
import json
from collections import defaultdict

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import Execution, Status
from codeharness.tasks import create_task
from codeharness.tasks.cruxeval import CruxEvalPassAtK

# upstream's evaluate_generations.py on these files (SOURCE.md; the paper's table)
PUBLISHED = {"cruxeval_i": (35.95, 44.99), "cruxeval_o": (34.21, 40.29)}
GENERATIONS = {"cruxeval_i": "generations_codellama-7b_temp0.2_input.json",
               "cruxeval_o": "generations_codellama-7b_temp0.2_output.json"}


@pytest.fixture(scope="module")
def data(test_data):
    return str(test_data / "cruxeval" / "cruxeval.jsonl")


@pytest.fixture(scope="module")
def tasks(data):
    made = {name: create_task(name, data_path=data) for name in ("cruxeval_o", "cruxeval_i")}
    return {name: (task, {p.id: p for p in task.load()}) for name, task in made.items()}


def test_loads_the_800_functions(tasks):
    _, problems = tasks["cruxeval_o"]
    assert len(problems) == 800 and "sample_0" in problems and "sample_799" in problems
    # three records put assignments before the function: the whole code is the program
    assert not problems["sample_51"].meta["code"].startswith("def f(")


def test_direct_and_cot_prompts_are_the_papers(tasks):
    task, problems = tasks["cruxeval_o"]
    problem = problems["sample_0"]
    code, given = problem.meta["code"], problem.meta["input"]
    direct = task.build_prompt(problem, "direct")
    assert direct.stop == ["[/ANSWER]"]
    assert direct.text.startswith("You are given a Python function and an assertion containing an input")
    assert direct.text.endswith(f"[PYTHON]\n{code}\nassert f({given}) == ??\n[/PYTHON]\n[ANSWER]\n")
    assert 'assert f("x9j") == "x9ja"\n[/ANSWER]' in direct.text
    cot = task.build_prompt(problem, "cot")
    assert cot.text.endswith(f"assert f({given}) == ??\n[/PYTHON]\n[THOUGHT]\n")
    assert "Execute the program step by step" in cot.text
    phind = task.build_prompt(problem, "phind")
    assert phind.stop == ["# done"] and phind.text.endswith(f"{code}\nassert f({given}) ==")
    task_i, problems_i = tasks["cruxeval_i"]
    problem_i = problems_i["sample_0"]
    direct_i = task_i.build_prompt(problem_i, "direct").text
    assert direct_i.endswith(f"{problem_i.meta['code']}\nassert f(??) == {problem_i.meta['output']}\n"
                             "[/PYTHON]\n[ANSWER]\n")
    assert "First, think step by step." in task_i.build_prompt(problem_i, "cot").text
    chat = task_i.build_prompt(problem_i, "chat_cot")
    assert chat.messages[0]["content"] == task_i.build_prompt(problem_i, "cot").text
    with pytest.raises(HarnessError, match="no prompt style 'phind'"):
        task_i.build_prompt(problem_i, "phind")


@pytest.mark.parametrize("name, style, completion, answer", [
    ("cruxeval_o", "direct", "assert f([1, 2]) == [2, 1]\n[/ANSWER]\nmore", "[2, 1]"),
    ("cruxeval_o", "direct", "[3]", "[3]"),  # no assertion: the text itself
    ("cruxeval_o", "cot", "s is 'ab'.\n[/THOUGHT]\n[ANSWER]\nassert f('a') == 'ab'\n[/ANSWER]", "'ab'"),
    ("cruxeval_o", "phind", " 'x' # done", "'x'"),
    ("cruxeval_o", "direct", "assert f(1) == 2 == 3", "2"),  # upstream takes split('==')[1]
    ("cruxeval_i", "direct", "assert f([1, 2]) == 3\n[/ANSWER]", "f([1, 2])"),
    ("cruxeval_i", "cot", "think\n[ANSWER]\nassert f(16) == 17\n[/ANSWER]", "f(16)"),
    ("cruxeval_i", "chat", "Sure.\n[ANSWER]\nassert f('a', 'b') == 'ab'\n[/ANSWER]", "f('a', 'b')"),
    ("cruxeval_i", "program", "f(3)", "f(3)"),  # replayed answers are already extracted
])
def test_answers_are_read_as_upstream_reads_them(tasks, name, style, completion, answer):
    task, problems = tasks[name]
    assert task.extract_program(problems["sample_0"], completion, style) == answer


def test_skip_rules_and_checks(tasks, local_sandbox):
    task_o, problems_o = tasks["cruxeval_o"]
    problem = problems_o["sample_0"]
    call = f"f({problem.meta['input']})"
    assert task_o.build_job(problem, call, "j") is None  # the call instead of the value
    skipped = task_o.grade(problem, call)
    assert skipped.status is Status.FAILED and "call" in skipped.details["skipped"]
    task_i, problems_i = tasks["cruxeval_i"]
    assert task_i.build_job(problems_i["sample_0"], "[1, 2]", "j") is None  # no f(
    jobs = {
        "right output": task_o.build_job(problem, problem.meta["output"], "right output"),
        "wrong output": task_o.build_job(problem, "[]", "wrong output"),
        "broken output": task_o.build_job(problem, "[(1, ", "broken output"),
        "right input": task_i.build_job(problems_i["sample_0"], call, "right input"),
        "slow input": task_i.build_job(problems_i["sample_0"], "f(list(range(10**9)))", "slow input"),
    }
    verdicts = {o.job_id: o.verdict for o in local_sandbox.run(jobs.values())}
    assert verdicts == {"right output": Status.PASSED, "wrong output": Status.FAILED,
                        "broken output": Status.SYNTAX_ERROR, "right input": Status.PASSED,
                        "slow input": verdicts["slow input"]}
    assert verdicts["slow input"] in (Status.TIMEOUT, Status.OUT_OF_MEMORY)


def _execution(problem_id: str, index: int, passed: bool, skipped: bool = False) -> Execution:
    status = Status.PASSED if passed else Status.FAILED
    return Execution("cruxeval_i", problem_id, index, status, {"base": status},
                     details={"skipped": "no call"} if skipped else {})


def test_scorer_drops_skipped_generations_unless_none_passed():
    executions = [
        # a: 2 of 6 skipped, 1 of the other 4 passes -> n = 4, c = 1
        *(_execution("a", i, False, True) for i in range(2)), _execution("a", 2, True),
        *(_execution("a", i, False) for i in range(3, 6)),
        # b: nothing passes -> all 6 count (the skipped one too), c = 0
        _execution("b", 0, False, True), *(_execution("b", i, False) for i in range(1, 6)),
    ]
    result = CruxEvalPassAtK().score(None, [], [], executions)
    assert result["skipped"] == 3 and result["problems"] == 2
    assert result["pass@1"]["value"] == pytest.approx((0.25 + 0.0) / 2)
    # upstream's estimator: 1.0 whenever n - c < k (a: 3 < 5); b: 1 - C(6,5)/C(6,5) = 0
    assert result["pass@5"]["original_scale"] == pytest.approx((1.0 + 0.0) / 2 * 100)


def test_released_generations_reproduce_the_published_scores(tasks, test_data, local_sandbox):
    """Every distinct (sample, answer) of the released files checked once in the sandbox (the
    same answer to the same sample always gets the same verdict), then scored as 10
    generations per sample."""
    for name, (task, problems) in tasks.items():
        with open(test_data / "cruxeval" / GENERATIONS[name], encoding="utf-8") as f:
            generations = json.load(f)
        assert set(generations) == set(problems)
        jobs, graded = {}, {}
        for problem_id, answers in generations.items():
            for answer in dict.fromkeys(answers):
                key = f"{problem_id}\x00{answer}"
                job = task.build_job(problems[problem_id], answer, key)
                if job is None:
                    graded[key] = task.grade(problems[problem_id], answer)
                else:
                    jobs[key] = job
        assert not graded  # the released generations never trip a skip rule
        verdicts = {o.job_id: task.judge(problems[o.job_id.split("\x00")[0]], o).status
                    for o in local_sandbox.run(jobs.values())}
        executions = [_execution(pid, i, verdicts[f"{pid}\x00{a}"] is Status.PASSED)
                      for pid, answers in generations.items() for i, a in enumerate(answers)]
        result = CruxEvalPassAtK().score(task, [], [], executions)
        scores = (round(result["pass@1"]["original_scale"], 2), round(result["pass@5"]["original_scale"], 2))
        assert scores == PUBLISHED[name], name


def test_replay_of_a_released_file_through_the_cli(test_data, tmp_path):
    """`--backend replay` reads upstream's generations.json as it is (a few samples: the
    whole file is the test above)."""
    from codeharness.cli.main import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [
        "eval", "--task", "cruxeval_o", "--data-path", str(test_data / "cruxeval" / "cruxeval.jsonl"),
        "--backend", "replay", "--samples", str(test_data / "cruxeval" / GENERATIONS["cruxeval_o"]),
        "--problems", "sample_1,sample_2,sample_3", "--output-dir", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    scores = json.loads(next(tmp_path.glob("*/scores.json")).read_text())
    assert scores["primary_metric"] == "pass@1"
    assert scores["cruxeval_pass_at_k"]["samples"] == 30
    generations = defaultdict(list)
    for line in next(tmp_path.glob("*/generations.jsonl")).read_text().splitlines():
        record = json.loads(line)
        generations[record["problem_id"]].append(record["program"])
    with open(test_data / "cruxeval" / GENERATIONS["cruxeval_o"], encoding="utf-8") as f:
        released = json.load(f)
    assert all(sorted(generations[p]) == sorted(released[p]) for p in ("sample_1", "sample_2", "sample_3"))


def test_emulation_task_grades_against_real_execution(data, local_sandbox):
    task = create_task("emulate_cruxeval", data_path=data)
    problems = task.load()[:5]
    task.prepare(problems, local_sandbox)
    for problem in problems:
        real = problem.meta["real"]
        assert not real["raised"]
        assert ast.literal_eval(real["value"]) == ast.literal_eval(problem.meta["stated_output"])
        right = task.grade(problem, f"{{'answer': {problem.meta['stated_output']}}}")
        wrong = task.grade(problem, "{'answer': 'not this'}")
        assert right.status is Status.PASSED and wrong.status is Status.FAILED
    assert "fidelity" in " ".join(s.name for s in task.scorers())


def test_bad_data_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"code": "def f(x): return x", "input": "1", "id": "sample_0"}) + "\n")
    with pytest.raises(HarnessError, match="missing field"):
        create_task("cruxeval_o", data_path=str(bad)).load()
    bad.write_text(json.dumps({"code": "x", "input": 1, "output": "1", "id": "s"}) + "\n")
    with pytest.raises(HarnessError, match="must be a string"):
        create_task("cruxeval_i", data_path=str(bad)).load()
