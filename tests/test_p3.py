"""P3: data variants, prompts, answer extraction and the sandboxed verification."""

from __future__ import annotations

import gzip
import json

import pytest
from codeharness.core.errors import HarnessError
from codeharness.tasks import p3 as p3_module
from codeharness.tasks import p3_prompts as prompts
from codeharness.tasks.base import Problem
from codeharness.tasks.p3 import PROGRAM_PREFIX, P3, P3All, P3Test228


@pytest.fixture(scope="module")
def p3_data(test_data):
    return test_data / "p3"


@pytest.fixture(scope="module")
def task(p3_data):
    task = P3(data_path=str(p3_data))
    task.load()
    return task


@pytest.fixture(scope="module")
def puzzles(task):
    return {p.id: p for p in task.load()}


def puzzle(sat: str, ans_type: str, weight: float = 1.0, header: str = "def sol():") -> Problem:
    meta = {"sat": sat, "ans_type": ans_type, "sol_header": header, "sol_docstring": '    """Solve it."""',
            "sol_bodies": [], "module": "test.py", "weight": weight}
    return Problem(id="Test:0", prompt=sat, entry_point="sol", meta=meta)


INT_PUZZLE = puzzle("def sat(n: int):\n    return n * n == 49 and n > 0", "int")


def verdict(task, local_sandbox, problem, program):
    outcome = next(iter(local_sandbox.run([task.build_job(problem, program, "job")])))
    return task.judge(problem, outcome)


# ------------------------------------------------------------------ data


def test_variants_load_their_puzzles(p3_data):
    assert len(P3(data_path=str(p3_data)).load()) == 397
    assert len(P3All(data_path=str(p3_data / "puzzles.json")).load()) == 1715
    test228 = P3Test228(data_path=str(p3_data)).load()
    split = json.loads((p3_data / "split.json").read_text())
    assert sorted(p.id.split(":")[0] for p in test228) == sorted(split["test"])
    assert all(p.id.endswith(":0") for p in test228)


def test_bad_data_names_file_and_record(tmp_path):
    path = tmp_path / "puzzles.json"
    path.write_text(json.dumps([{"name": "A:0", "sat": "def sat(x: int): return True"}]))
    with pytest.raises(HarnessError, match=r"puzzles\.json record 1: missing field\(s\) ans_type"):
        P3All(data_path=str(path)).load()
    with pytest.raises(HarnessError, match="P3 data file not found"):
        P3(data_path=str(tmp_path)).load()
    record = {"name": "A:0", "sat": "def sat(x): return True", "ans_type": "Dict[str, int]", "sol_header": "def sol():",
              "sol_docstring": "", "sol_bodies": [], "module": "m.py", "weight": 1.0}
    path.write_text(json.dumps([record, {**record, "ans_type": "List[List[int]"}]))
    with pytest.raises(HarnessError, match=r"record 1: field ans_type 'Dict\[str, int\]'"):
        P3All(data_path=str(path)).load()
    path.write_text(json.dumps([{**record, "ans_type": "List[int]"}, {**record, "ans_type": "List[List[int]"}]))
    with pytest.raises(HarnessError, match=r"record 2: field ans_type"):
        P3All(data_path=str(path)).load()


def test_release_files_download_once_and_are_checked(p3_data, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "solvers" / "codex").mkdir(parents=True)
    (mirror / "solvers" / "codex" / "397puzzles.json").write_bytes((p3_data / "397puzzles.json").read_bytes())
    monkeypatch.setenv("CODEHARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(p3_module, "RELEASE", mirror.as_uri() + "/")
    assert len(P3().load()) == 397
    (mirror / "solvers" / "codex" / "397puzzles.json").write_text("[]")
    assert len(P3().load()) == 397  # the verified copy in the cache is used
    (tmp_path / "cache" / "data" / "p3" / "397puzzles.json").unlink()
    with pytest.raises(HarnessError, match="does not match its sha256"):
        P3().load()


# ------------------------------------------------------------------ prompts


def test_few_shot_prefix_is_the_papers(task, p3_data):
    """The medium and long prompts' tutorial part matches the prefixes the paper's run
    recorded, up to spacing inside the solution expressions."""
    with gzip.open(p3_data / "results_397_cushman_codex_1k_full.json.gz", "rt") as f:
        recorded = {e["experiment"]: e["prefix"] for e in json.load(f)}
    for style, experiment in (("medium", "med"), ("long", "long")):
        ours = prompts.tutorial_prefix(task._tutorial, with_docstrings=style == "long")
        assert ours.replace(" ", "") == recorded[experiment].replace(" ", "")
        assert ours.count("\n") == recorded[experiment].count("\n")


def test_prompt_styles_end_where_the_model_continues(task, puzzles):
    study = puzzles["Study_1:0"]
    short = task.build_prompt(study, "short")
    assert short.text.endswith("== 0\n\nassert True == f(") and short.stop == ["\n"]
    medium = task.build_prompt(study, "medium").text
    assert medium.count("assert f") == 5 and medium.endswith("def f6(s: str):\n    return s.count('o') == 1000 and s.count('oo') == 0\n\ndef g6():")
    long = task.build_prompt(study, "long").text
    assert long.endswith("def g6():\n" + study.meta["sol_docstring"]) and '"""Find a list of two' in long
    chat = task.build_prompt(study, "chat").messages[0]["content"]
    assert "def sat(s: str)" in chat and "def sol():" in chat


def test_short_answers_are_cut_at_the_closing_parenthesis():
    assert prompts.answer_expression("'ab' * (2 + 1)) and more") == "'ab' * (2 + 1)"
    assert prompts.answer_expression("')' + \"(\")") == "')' + \"(\""
    assert prompts.answer_expression("[1, 2") is None


def test_function_body_stops_at_the_next_top_level_line():
    completion = "\n    x = 3\n\n    return x\nprint('after')\n    junk"
    assert prompts.function_body(completion) == "\n    x = 3\n\n    return x"
    assert prompts.function_body("\n    return 1\nassert f6(g6())") == "\n    return 1"


def test_renaming_leaves_docstrings_alone():
    source = 'def g():\n    """Use f and g."""\n    return f(g)'
    assert prompts.rename_word(source, "g", "g3") == 'def g3():\n    """Use f and g."""\n    return f(g3)'


# ------------------------------------------------------------------ verification


@pytest.mark.parametrize("style, completion", [
    ("short", "7)"),
    ("medium", "\n    return next(i for i in range(1, 100) if f6(i))\n"),
    ("long", "\n    return 7\n"),
    ("chat", "Here:\n```python\nimport math\ndef sol():\n    print('searching')\n    return math.isqrt(49)\n```"),
])
def test_each_style_verifies_a_correct_answer(task, local_sandbox, style, completion):
    program = task.extract_program(INT_PUZZLE, completion, style)
    judgement = verdict(task, local_sandbox, INT_PUZZLE, program)
    assert judgement.status.value == "passed", program
    assert judgement.details["answer"] == "7"


@pytest.mark.parametrize("problem, program_body, expected", [
    (INT_PUZZLE, "return -7", "failed"),
    (puzzle("def sat(n: int):\n    return n == 1", "int"), "return True", "failed"),  # bool is not int
    (puzzle("def sat(x: float):\n    return x == 3", "float"), "return 3", "failed"),  # int is not float
    (puzzle("def sat(x: List[List[int]]):\n    return len(x) == 2", "List[List[int]]"),
     "return [[1], [2, True]]", "failed"),  # a bool deep inside
    (puzzle("def sat(x: List[List[int]]):\n    return len(x) == 2", "List[List[int]]"),
     "return [[1], [2, 3]]", "passed"),
    (puzzle("def sat(s: str):\n    return len(s) == 3", "str"), "return ('abc', 1)", "failed"),
    (INT_PUZZLE, "1/0", "error"),
])
def test_answers_are_type_checked_exactly(task, local_sandbox, problem, program_body, expected):
    program = f"{PROGRAM_PREFIX}{problem.meta['sat']}\n\ndef sol():\n    {program_body}\n"
    assert verdict(task, local_sandbox, problem, program).status.value == expected


LENGTH_PUZZLE = puzzle("def sat(s: str):\n    return len(s) == 1000", "str")


@pytest.mark.parametrize("problem, program", [
    # redefining sat, patching a builtin sat uses, or an int subclass cannot pass a wrong answer
    (INT_PUZZLE, "def sat(n):\n    return True\n\ndef sol():\n    return 5\n"),
    (LENGTH_PUZZLE, "import builtins\n\ndef sol():\n    builtins.len = lambda x: 1000\n    return 'a'\n"),
    (INT_PUZZLE, "def sol():\n    class Sneaky(int):\n        def __mul__(self, other):\n"
                 "            return 49\n    return Sneaky(5)\n"),
])
def test_programs_cannot_fake_a_pass(task, local_sandbox, problem, program):
    assert verdict(task, local_sandbox, problem, program).status.value == "failed"


def test_timeout_scales_with_weight(local_sandbox):
    task = P3(timeout_s=0.5)
    light, heavy = (puzzle("def sat(n: int):\n    return n == 1", "int", weight=w) for w in (0.2, 4.0))
    assert task.puzzle_timeout(light) == 0.5 and task.puzzle_timeout(heavy) == 2.0
    slow = "import time\n\ndef sol():\n    time.sleep(1)\n    return 1\n"
    assert verdict(task, local_sandbox, light, slow).status.value == "timeout"
    assert verdict(task, local_sandbox, heavy, slow).status.value == "passed"


def test_an_unclosed_short_answer_is_a_syntax_error(task, local_sandbox):
    program = task.extract_program(INT_PUZZLE, "7 + ", "short")
    assert verdict(task, local_sandbox, INT_PUZZLE, program).status.value == "syntax_error"
