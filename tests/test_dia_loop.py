"""DIA tool mode as a conversation (issue 18): the model runs a program, sees its output, runs
more, answers, within --turns replies; the pipeline plays it in rounds from the records alone,
so a killed run rebuilds the same conversations; RS@k and TSR are over the final answers."""

from __future__ import annotations

import json
import re

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import Execution, Generation, SamplingConfig, from_dict
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.scorers.dia import dia_metrics
from codeharness.tasks import create_task
from codeharness.tasks.dia import FINAL_MARKER, LOOP_NOTE, TOOLS_NOTE, Dia

from tests.fakes import ScriptedBackend

QUESTIONS = {"k": 1, "question_seed": 7}


def problems_of(task):
    return task.load()[:4]


def solution(problem) -> str:
    return problem.meta["solution"]


def last_message(prompt) -> str:
    return prompt.messages[-1]["content"] if prompt.messages is not None else prompt.text


def program(text: str) -> str:
    return f"Let me compute it.\n```python\n{text}\n```"


def run_loop(tmp_path, respond, turns=3, name="run", n=1, style=None, fail_after=None, chat=True):
    task = Dia(tools=True, turns=turns, **QUESTIONS)
    problems = problems_of(task)
    config = pipeline.RunConfig(task="dia", task_options={"tools": True, "turns": turns, **QUESTIONS},
                                backend="scripted", prompt_style=style, sampling=SamplingConfig(n=n, seed=1))
    run = RunDir(tmp_path / name)
    pipeline.open_run(run, config, overwrite=False)
    backend = ScriptedBackend(respond, supports_chat=chat, fail_after=fail_after)
    return task, problems, config, run, backend


def play(task, problems, config, run, backend, sandbox):
    assert pipeline.plays_in_rounds(task, config)
    pipeline.generate_in_rounds(run, config, task, problems, backend, sandbox)
    return pipeline.score(run, task, problems)


def records(run):
    generations = {g.key: g for g in (from_dict(Generation, g) for g in run.generations())}
    executions = {e.key: e for e in (from_dict(Execution, e) for e in run.executions())}
    return generations, executions


def by_problem(problems):
    return {p.id: p for p in problems}


# ------------------------------------------------------------------ conversations


def test_code_then_output_then_answer(tmp_path, local_sandbox):
    """Turn 1 runs a program; turn 2 sees what it printed and answers with it."""
    task, problems, config, run, backend = run_loop(tmp_path, None)
    answers = by_problem(problems)

    def respond(problem_id, index, prompt):
        question = problem_id.split("~")[0]
        if problem_id.endswith("~turn1"):
            return program(f"print({solution(answers[question])[5:-6]!r} + '!')")
        shown = re.search(r"output:\n```\n(.*)!\n```", last_message(prompt))
        return f"<xml>{shown.group(1)}</xml>" if shown else "<xml>lost</xml>"

    backend.answer = respond
    scores = play(task, problems, config, run, backend, local_sandbox)
    generations, executions = records(run)
    for problem in problems:
        final = executions[(problem.id, 0)]
        assert final.details["verdict"] == "correct", final.details
        assert (final.details["turns"], final.details["ended"], final.details["tool_runs"]) == (2, "answer", 1)
        assert final.details["turn_budget"] == 3
        turn1, turn2 = executions[(f"{problem.id}~turn1", 0)], executions[(f"{problem.id}~turn2", 0)]
        assert turn1.status.value == "passed" and turn1.stdout.endswith("!\n")
        assert turn2.status.value == "not_run" and (f"{problem.id}~turn3", 0) not in generations
        conversation = generations[(f"{problem.id}~turn2", 0)].prompt
        assert [m["role"] for m in conversation] == ["system", "user", "assistant", "user"]
        assert "You have 2 replies left" in conversation[-1]["content"]
        final_record = generations[(problem.id, 0)]
        assert final_record.prompt == conversation and final_record.program.startswith(FINAL_MARKER)
        assert json.loads(final_record.program[len(FINAL_MARKER):])["answer"] == solution(problem)
        assert final_record.prompt_tokens == 20 and final_record.completion_tokens == 10  # both turns
    # Only the questions' own records are scored: 4 answers, all right.
    assert scores["coverage"]["samples"] == 4 and scores["coverage"]["complete"] is True
    assert scores["dia"]["correct"] == 4 and scores["dia_turns"]["mean_turns"] == 2
    assert scores["dia"] == dia_metrics([executions[(p.id, 0)].details for p in problems])


def test_the_budget_ends_a_conversation_and_the_last_output_is_the_answer(tmp_path, local_sandbox):
    """Every reply is a program: after --turns 2 the second program's output is the response,
    right for the first two questions, wrong (and a failed run, no answer) for the others."""
    task, problems, config, run, backend = run_loop(tmp_path, None, turns=2)
    answers = by_problem(problems)
    right = {p.id for p in problems[:2]}

    def respond(problem_id, index, prompt):
        question = problem_id.split("~")[0]
        if problem_id.endswith("~turn1"):
            return program("print('just looking')")
        assert "This is your last reply" in last_message(prompt)
        if question in right:
            return program(f"print({solution(answers[question])!r})")
        return program("raise SystemExit('no idea')")

    backend.answer = respond
    scores = play(task, problems, config, run, backend, local_sandbox)
    _, executions = records(run)
    for problem in problems:
        details = executions[(problem.id, 0)].details
        assert (details["turns"], details["ended"], details["tool_runs"]) == (2, "budget", 2)
        assert details["verdict"] == ("correct" if problem.id in right else "wrong")
        assert details["answer"] == (solution(problem) if problem.id in right else None)
    assert (scores["dia"]["correct"], scores["dia"]["wrong"]) == (2, 2)
    assert scores["dia_turns"]["ended_by_budget"] == 4 and scores["dia_turns"]["turns_used"] == {"2": 4}


def test_an_answer_in_the_first_reply_ends_the_conversation(tmp_path, local_sandbox):
    task, problems, config, run, backend = run_loop(tmp_path, None, style="completion")
    answers = by_problem(problems)
    skipped = problems[0].id

    def respond(problem_id, index, prompt):
        question = problem_id.split("~")[0]
        assert prompt.text is not None and LOOP_NOTE.format(turns=3).strip() in prompt.text
        return "<xml>I-DO-NOT-KNOW</xml>" if question == skipped else f"```xml\n{solution(answers[question])}\n```"

    backend.answer = respond
    scores = play(task, problems, config, run, backend, local_sandbox)
    generations, executions = records(run)
    assert len(backend.requested) == 4 and all(pid.endswith("~turn1") for pid, _ in backend.requested)
    assert (scores["dia"]["correct"], scores["dia"]["skipped"]) == (3, 1)
    for problem in problems:
        assert executions[(problem.id, 0)].details["turns"] == 1
        assert executions[(f"{problem.id}~turn1", 0)].status.value == "not_run"
    assert scores["dia_turns"]["tool_runs"] == 0 and run.manifest()["prompt_style"] == "completion"


def test_one_turn_is_the_single_program_run(tmp_path, local_sandbox):
    task, problems, config, run, backend = run_loop(tmp_path, None, turns=1)
    backend.answer = lambda pid, index, prompt: program(f"print({solution(by_problem(problems)[pid[:-6]])!r})")
    assert TOOLS_NOTE in backend_prompt(task, problems[0])
    scores = play(task, problems, config, run, backend, local_sandbox)
    assert scores["dia"]["correct"] == 4 and scores["dia_turns"]["turns_used"] == {"1": 4}


def backend_prompt(task, problem) -> str:
    return task.build_prompt(problem, "chat").messages[1]["content"]


# ------------------------------------------------------------------ resume


def scripted(problems):
    answers = by_problem(problems)

    def respond(problem_id, index, prompt):
        question, turn = problem_id.split("~turn")
        if turn == "1":
            return program(f"print({index} * 10 + {len(question)})")
        if turn == "2":
            return program("import os; print(sorted(os.listdir('.')))")
        return f"<xml>{solution(answers[question])[5:-6]}</xml>" if index % 2 else "<xml>a guess</xml>"

    return respond


@pytest.mark.parametrize("fail_after", [3, 9, 17])
def test_a_killed_run_resumes_with_the_same_conversations(tmp_path, local_sandbox, fail_after):
    """Killed after some replies, the same command asks only for what is missing and ends with
    the records of an uninterrupted run (prompts, programs, outputs, verdicts)."""
    task, problems, config, whole, backend = run_loop(tmp_path, None, n=2, name="whole")
    backend.answer = scripted(problems)
    play(task, problems, config, whole, backend, local_sandbox)
    asked = len(backend.requested)
    assert asked == 4 * 2 * 3

    task, problems, config, killed, first = run_loop(tmp_path, scripted(problems), n=2, name="killed",
                                                     fail_after=fail_after)
    with pytest.raises(KeyboardInterrupt):
        pipeline.generate_in_rounds(killed, config, task, problems, first, local_sandbox)
    task = create_task("dia", tools=True, turns=3, **QUESTIONS)  # a fresh process
    second = ScriptedBackend(scripted(problems), supports_chat=True)
    scores = play(task, problems, config, killed, second, local_sandbox)
    assert len(first.requested) == fail_after and len(first.requested) + len(second.requested) == asked
    assert not set(first.requested) & set(second.requested)

    def comparable(run):
        generations, executions = records(run)
        return ({k: (g.prompt, g.completion, g.program) for k, g in generations.items()},
                {k: (e.status, e.stdout, e.details) for k, e in executions.items()})

    assert comparable(killed) == comparable(whole)
    assert (scores["dia"]["correct"], scores["dia"]["wrong"]) == (4, 4)  # odd samples are right


# ------------------------------------------------------------------ options and records


def test_turns_must_be_a_positive_whole_number():
    for bad in (0, -1, 2.5):
        with pytest.raises(HarnessError, match="--turns must be a whole number of at least 1"):
            Dia(tools=True, turns=bad)


def test_without_tools_nothing_plays_in_rounds():
    task = Dia(**QUESTIONS)
    config = pipeline.RunConfig(task="dia", task_options=QUESTIONS)
    assert not pipeline.plays_in_rounds(task, config) and task.step_problems(problems_of(task)) == []
    with pytest.raises(HarnessError, match="only in tool mode"):
        task.plan_round(problems_of(task), [], [], SamplingConfig(), style="chat")


def test_steps_are_never_scored_and_finals_grade_as_text(tmp_path):
    task = Dia(tools=True, turns=2, **QUESTIONS)
    problem = problems_of(task)[0]
    steps = task.step_problems([problem])
    assert [s.id for s in steps] == [f"{problem.id}~turn1", f"{problem.id}~turn2"]
    final = FINAL_MARKER + json.dumps({"answer": solution(problem), "turns": 2, "turn_budget": 2,
                                       "ended": "answer", "tool_runs": 1})
    assert task.build_job(problem, final, "x") is None and task.build_job(steps[0], "", "x") is None
    assert task.build_job(steps[0], "print(1)", "x") is not None
    judgement = task.grade(problem, final)
    assert judgement.details["verdict"] == "correct" and judgement.details["turns"] == 2
