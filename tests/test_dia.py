"""DIA-Bench: the generator, the loader of the published format, prompting, answer
extraction, grading (text and tool mode) and the metrics."""

from __future__ import annotations

import json

import pytest
from codeharness.cli.main import app
from codeharness.core.errors import HarnessError
from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.scorers.dia import dia_metrics
from codeharness.tasks import dia_templates
from codeharness.tasks.dia import SKIP, SYSTEM_PROMPT, Dia, extract_answer, grade_answer
from typer.testing import CliRunner

from tests.fakes import ScriptedBackend


@pytest.fixture
def generated(tmp_path):
    """A question file written by `codeharness dia generate`."""
    path = tmp_path / "questions.json"
    result = CliRunner().invoke(app, ["dia", "generate", "--k", "3", "--seed", "11", "--output", str(path)])
    assert result.exit_code == 0, result.output
    return path


# ------------------------------------------------------------------ generator


def test_generator_is_deterministic_per_seed():
    assert dia_templates.generate(2, 5) == dia_templates.generate(2, 5)
    first, other = dia_templates.generate(1, 5), dia_templates.generate(1, 6)
    differing = [a for a, b in zip(first["questions"], other["questions"]) if a != b]
    assert len(differing) == len(dia_templates.TEMPLATES)


def test_generator_covers_the_required_areas():
    templates = dia_templates.TEMPLATES
    assert len(templates) >= 40
    assert [t.id for t in templates] == list(range(1, len(templates) + 1))
    categories = {t.category for t in templates}
    assert {"Mathematics", "Cryptography", "Computer Science", "Log Analysis", "Web Security"} <= categories
    names = {t.name for t in templates}
    assert {"sha256_hash", "base64_decode", "caesar_decrypt", "single_byte_xor", "decimal_to_binary",
            "popcount", "shortest_path", "busiest_ip", "basic_auth_credentials"} <= names


def test_generated_file_is_in_the_published_format(generated):
    data = json.loads(generated.read_text(encoding="utf-8"))
    assert data["k"] == 3 and data["instance_count"] == 3 * len(dia_templates.TEMPLATES)
    record = data["questions"][0]
    assert set(record["challenge"]) == {"template_id", "instance", "level", "category", "adversarial",
                                        "description", "instructions"}
    assert set(record["solution"]) == {"challenge_solution", "solution_explanation"}
    assert [q["challenge"]["instance"] for q in data["questions"][:3]] == [1, 2, 3]
    assert record["solution"]["challenge_solution"].startswith("<xml>")
    assert record["challenge"]["description"].startswith(dia_templates.GENERAL_PROMPT)


# ------------------------------------------------------------------ loader


def test_loader_reads_a_generated_file(generated):
    data = json.loads(generated.read_text(encoding="utf-8"))
    problems = Dia(data_path=str(generated), k=3).load()
    assert len(problems) == len(data["questions"])
    first, record = problems[0], data["questions"][0]
    assert first.id == "1/1"
    assert first.prompt == f"{record['challenge']['description']}\n{record['challenge']['instructions']}"
    assert first.meta["solution"] == record["solution"]["challenge_solution"]
    assert first.meta["category"] == record["challenge"]["category"]
    # Without a file the task generates the same questions itself.
    assert [p.prompt for p in Dia(k=3, question_seed=11).load()] == [p.prompt for p in problems]


def test_loader_accepts_the_older_template_key(generated, tmp_path):
    data = json.loads(generated.read_text(encoding="utf-8"))
    for record in data["questions"]:
        record["challenge"]["Q template"] = record["challenge"].pop("template_id")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    assert Dia(data_path=str(old)).load()[4].id == "2/2"


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("questions"), "not a DIA-Bench file"),
    (lambda d: d["questions"][3]["challenge"].pop("category"), r"question 4: field challenge\.category"),
    (lambda d: d["questions"][0]["challenge"].update(adversarial="no"), r"question 1: field challenge\.adversarial"),
    (lambda d: d["questions"][1]["solution"].update(challenge_solution=5), r"question 2: field solution\.challenge_solution"),
    (lambda d: d["questions"][2].pop("solution"), "question 3: expected 'challenge' and 'solution'"),
])
def test_bad_files_name_the_question_and_field(generated, tmp_path, change, message):
    data = json.loads(generated.read_text(encoding="utf-8"))
    change(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(HarnessError, match=message):
        Dia(data_path=str(bad)).load()


def test_k_must_match_the_file(generated):
    with pytest.raises(HarnessError, match="--k 5 does not match"):
        Dia(data_path=str(generated), k=5).load()


def test_malformed_json_names_the_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"questions": [\n  {"challenge": ,}\n]}')
    with pytest.raises(HarnessError, match=r"bad\.json:2: malformed JSON"):
        Dia(data_path=str(bad)).load()


# ------------------------------------------------------------------ prompting and grading


def test_prompt_is_the_official_evaluators():
    problem = Dia(k=1).load()[0]
    messages = Dia().build_prompt(problem, "chat").messages
    assert messages == [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": problem.prompt}]
    assert "```python" in Dia(tools=True).build_prompt(problem, "chat").messages[1]["content"]


@pytest.mark.parametrize("response, answer", [
    ("<xml>42</xml>", "<xml>42</xml>"),
    ("Sure.\n```xml\n<xml>42</xml>\n```\nDone.", "<xml>42</xml>"),
    ("``XML <xml>a\nb</xml>``", "<xml>a\nb</xml>"),
    ("The answer is <xml>42</xml>", "The answer is <xml>42</xml>"),  # no fence: graded whole
])
def test_answer_extraction(response, answer):
    assert extract_answer(response) == answer


def test_grading_is_exact_unless_whitespace_is_normalized():
    assert grade_answer("<xml>42</xml>", "<xml>42</xml>", False) == "correct"
    assert grade_answer("<xml>42</xml>\n", "<xml>42</xml>", False) == "correct"  # whitespace around: issue 19
    assert grade_answer("<xml>42 </xml>", "<xml>42</xml>", False) == "wrong"
    assert grade_answer(" <xml>42</xml>\n", "<xml>42</xml>", True) == "correct"
    assert grade_answer("<xml>a  b</xml>", "<xml>a b</xml>", True) == "correct"
    assert grade_answer(SKIP, "<xml>42</xml>", False) == "skipped"
    assert grade_answer("<xml>i-do-not-know</xml>", "<xml>42</xml>", False) == "wrong"


def test_tool_mode_runs_the_program_and_grades_its_output(local_sandbox):
    task = Dia(k=1, tools=True)
    problem = task.load()[1]
    solution = problem.meta["solution"]
    cases = {
        f"```python\nprint({solution!r})\n```": "correct",  # the trailing newline is dropped
        "```python\nprint('<xml>', 1 // 0)\n```": "wrong",
        f"No program, just {solution}": "wrong",
        solution: "correct",
        f"```python\nprint({SKIP!r})\n```": "skipped",
    }
    for response, expected in cases.items():
        program = task.extract_program(problem, response, "chat")
        job = task.build_job(problem, program, "job")
        judgement = task.judge(problem, next(iter(local_sandbox.run([job]))))
        assert judgement.details["verdict"] == expected, response


# ------------------------------------------------------------------ metrics


def answers(template_id: int, category: str, level: str, verdicts: str) -> list[dict]:
    names = {"c": "correct", "w": "wrong", "s": "skipped"}
    return [{"template_id": template_id, "category": category, "level": level, "verdict": names[v]}
            for v in verdicts]


def test_metrics_follow_the_definitions():
    records = (answers(1, "Math", "easy", "ccccc") + answers(2, "Math", "hard", "ccccw")
               + answers(3, "Crypto", "easy", "ccsww") + answers(4, "Crypto", "easy", "sssss"))
    metrics = dia_metrics(records)
    # RS@5 = (1/5) * sum(c - 2w) = (5 + (4 - 2) + (2 - 4) + 0) / 5
    assert metrics["reliability_score"] == pytest.approx(1.0)
    assert metrics["k"] == 5 and metrics["templates"] == 4
    assert metrics["confidence_index"] == {"count": 1, "percent": 25.0}
    assert metrics["near_miss"] == {"count": 1, "percent": 25.0}
    assert metrics["task_success_rate"] == {"1": 1.0, "2": 0.8, "3": 0.4, "4": 0.0}
    assert (metrics["correct"], metrics["wrong"], metrics["skipped"]) == (11, 3, 6)
    assert metrics["by_category"]["Math"]["reliability_score"] == pytest.approx(7 / 5)
    assert metrics["by_category"]["Crypto"]["reliability_score"] == pytest.approx(-2 / 5)
    assert metrics["by_level"]["easy"]["confidence_index"] == {"count": 1, "percent": pytest.approx(100 / 3)}
    assert metrics["by_level"]["hard"]["near_miss"]["count"] == 1


def test_near_miss_starts_at_80_percent():
    # Near-Miss Score: 0.8 <= TSR < 1. Templates of 20 answers at 70%, 75%, 79%... (not near
    # misses), 80% and 95% (near misses) and 100% (confident, not a near miss).
    rates = {1: 14, 2: 15, 3: 16, 4: 19, 5: 20}
    records = [a for t, c in rates.items() for a in answers(t, "Math", "easy", "c" * c + "w" * (20 - c))]
    records += answers(6, "Math", "hard", "c" * 79 + "s" * 21)  # 0.79
    metrics = dia_metrics(records)
    assert metrics["task_success_rate"] == {"1": 0.7, "2": 0.75, "3": 0.8, "4": 0.95, "5": 1.0, "6": 0.79}
    assert metrics["near_miss"] == {"count": 2, "percent": pytest.approx(100 * 2 / 6)}
    assert metrics["confidence_index"]["count"] == 1
    assert metrics["by_level"]["easy"]["near_miss"]["count"] == 2
    assert metrics["by_level"]["hard"]["near_miss"]["count"] == 0


def test_run_metrics_are_recomputed_from_the_records(tmp_path, local_sandbox):
    """A scripted model answers right, wrong or skips; scores.json equals the metrics
    recomputed from executions.jsonl alone."""
    task = Dia(k=2, question_seed=4)
    problems = task.load()
    by_id = {p.id: p for p in problems}

    def respond(problem_id, index, prompt):
        template = by_id[problem_id].meta["template_id"]
        if template % 3 == 0:
            return SKIP
        if template % 3 == 1:
            return f"```xml\n{by_id[problem_id].meta['solution']}\n```"
        return "<xml>not an answer</xml>"  # "0" is some templates' answer

    config = pipeline.RunConfig(task="dia", task_options={"k": 2, "question_seed": 4}, backend="scripted",
                                sampling=SamplingConfig(n=1))
    run = RunDir(tmp_path / "run")
    pipeline.open_run(run, config, overwrite=False)
    pipeline.generate(run, config, task, problems, ScriptedBackend(respond, supports_chat=True))
    pipeline.execute(run, task, problems, local_sandbox)
    scores = pipeline.score(run, task, problems)
    recomputed = dia_metrics([e["details"] for e in run.executions()])
    assert scores["dia"] == recomputed
    thirds = [len([t for t in dia_templates.TEMPLATES if t.id % 3 == r]) for r in (0, 1, 2)]
    assert (recomputed["skipped"], recomputed["correct"], recomputed["wrong"]) == tuple(2 * n for n in thirds)
    assert recomputed["reliability_score"] == pytest.approx(thirds[1] - 2 * thirds[2])


@pytest.mark.parametrize("tools", [False, True])
def test_reference_answers_pass_the_ground_truth_check(local_sandbox, tools):
    task = Dia(k=1, tools=tools)
    problems = task.load()
    report = pipeline.check_ground_truth(task, problems, local_sandbox)
    assert report["passed"] == report["total"] == len(problems)


def test_an_answers_file_is_scored_by_the_definitions(tmp_path):
    """Third-party answers replayed from a JSONL file (task_id = template/instance)."""
    problems = Dia(k=2, question_seed=9).load()
    solution = {p.id: p.meta["solution"] for p in problems}
    answers = {"1/1": solution["1/1"], "1/2": f"```xml\n{solution['1/2']}\n```",  # template 1: c c
               "2/1": solution["2/1"], "2/2": SKIP,  # template 2: c s
               "3/1": "<xml>0</xml>", "3/2": solution["3/2"].replace("</xml>", " </xml>")}  # template 3: w w (exact match)
    samples = tmp_path / "answers.jsonl"
    samples.write_text("".join(json.dumps({"task_id": i, "completion": a}) + "\n" for i, a in answers.items()))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", "--task", "dia", "--k", "2", "--question-seed", "9", "--backend", "replay",
                                      "--samples", str(samples), "--problems", "1/*,2/*,3/*",
                                      "--run-dir", str(run_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run_dir / "scores.json").read_text())["dia"]
    assert metrics["reliability_score"] == pytest.approx((2 - 0) / 2 + (1 - 0) / 2 + (0 - 2 * 2) / 2)
    assert metrics["confidence_index"]["count"] == 1 and metrics["templates"] == 3
    assert metrics["task_success_rate"] == {"1": 1.0, "2": 0.5, "3": 0.0}
    assert (metrics["correct"], metrics["skipped"], metrics["wrong"]) == (3, 1, 2)


def test_metrics_of_no_answers_are_zeros():
    metrics = dia_metrics([])
    assert metrics["k"] == 0 and metrics["short_templates"] == {}
    assert metrics["templates"] == 0 and metrics["reliability_score"] == 0.0
    assert metrics["confidence_index"] == {"count": 0, "percent": 0.0}
    assert metrics["near_miss"] == {"count": 0, "percent": 0.0}
    assert metrics["mean_task_success_rate"] == 0.0
    assert metrics["by_category"] == {} and metrics["task_success_rate"] == {}
    # Templates answered fewer times than the most answered are listed, and keep their rates.
    mixed = dia_metrics(answers(1, "Math", "easy", "cc") + answers(2, "Math", "easy", "ccw"))
    assert mixed["k"] == 3 and mixed["short_templates"] == {"1": 2}
    assert mixed["mean_task_success_rate"] == pytest.approx((1 + 2 / 3) / 2)


def test_metrics_columns_report_and_chart():
    from codeharness.core import registry
    from codeharness.scorers.dia import DiaScorer

    assert registry.scorers.get("dia") is DiaScorer
    scorer = DiaScorer()
    mixed = dia_metrics(answers(1, "Math", "easy", "ccc") + answers(2, "Math", "easy", "cw"))
    assert [(c.name, c.value, c.percent) for c in scorer.columns(mixed)] == [
        ("DIA RS@k", pytest.approx(1 + (1 - 2) / 2), False), ("DIA k", "3", False),
        ("DIA CI %", 50.0, False), ("DIA NMS %", 0.0, False), ("DIA mean TSR", 0.75, True)]
    assert scorer.primary_metric(mixed) == "DIA RS@k"
    summary, short = scorer.report(mixed)
    assert summary.startswith("DIA: RS@3 0.50 over 2 templates")
    assert short == ("[yellow]1 template(s) answered fewer than k=3 times (their metrics use their "
                     "own counts): 2[/]")
    assert len(scorer.report(dia_metrics(answers(1, "Math", "easy", "cc")))) == 1
    [chart] = scorer.charts(mixed)
    assert chart.kind == "point" and chart.points == [[75.0, pytest.approx(0.5)]]
