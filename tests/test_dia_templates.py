"""The DIA generator's templates: every answer is what its question asks (independent checkers
that read the question text alone), and over 1,000 instances per template no question repeats
within a seed, no answer is common enough to guess, and adversarial hints carry no
information. Generation is deterministic per seed, whatever the hash seed.

The 1,000-instance statistics (bounds below) are measured once per template and shared by
the tests that read them."""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import math
import os
import pathlib
import random
import shutil
import subprocess
import sys
from collections import Counter

import pytest
from codeharness.tasks import dia_templates
from codeharness.tasks.dia_templates import TEMPLATES

from tests import (
    test_dia_answers_crypto,
    test_dia_answers_cs,
    test_dia_answers_ctf,
    test_dia_answers_encoding,
    test_dia_answers_logs,
    test_dia_answers_math,
    test_dia_answers_misc,
    test_dia_answers_reverse,
    test_dia_answers_web,
)

CHECKERS = {name: checker for module in (
    test_dia_answers_math, test_dia_answers_cs, test_dia_answers_crypto, test_dia_answers_encoding,
    test_dia_answers_logs, test_dia_answers_web, test_dia_answers_reverse, test_dia_answers_ctf,
    test_dia_answers_misc) for name, checker in module.CHECKERS.items()}
SEEDS_AND_INSTANCES = [(0, 1), (1, 2), (7, 3), (123, 4), (2024, 5)]
INSTANCES = 1000
MOST_COMMON_ANSWER_SHARE = 0.05  # the best blind guess of a template's answer is right at most this often
REPEATED_QUESTIONS = 0  # among INSTANCES instances of one seed
ORIGINAL_CATEGORIES = {
    "Mathematics", "Computer Science", "Cryptography", "Data Encoding", "Log Analysis", "Web Security",
    "Source Code Analysis", "Reverse Engineering", "CTF-style challenge", "Puzzle Solving", "AWS cloud",
    "Software Security", "Social Engineering", "General cybersecurity", "Instruction following",
    "Program understanding", "Problem Solving and Reasoning", "CAPTCHA solving"}
ids = lambda t: f"{t.id}-{t.name}"  # noqa: E731


@functools.lru_cache(maxsize=None)
def thousand(name: str) -> tuple:
    """INSTANCES questions of a template with seed 0."""
    template = dia_templates.BY_NAME[name]
    return tuple(template.question(0, instance) for instance in range(1, INSTANCES + 1))


# ------------------------------------------------------------------ the set of templates


def test_at_least_150_templates_across_the_original_categories():
    assert len(TEMPLATES) >= 150
    assert [t.id for t in TEMPLATES] == list(range(1, len(TEMPLATES) + 1))
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)
    assert {t.category for t in TEMPLATES} == ORIGINAL_CATEGORIES
    assert sum(t.files for t in TEMPLATES) >= 15 and sum(t.adversarial for t in TEMPLATES) >= 10
    assert sum(t.steps >= 3 for t in TEMPLATES) >= 10


def test_every_template_has_an_independent_checker():
    assert sorted(CHECKERS) == sorted(t.name for t in TEMPLATES)


def test_levels_follow_the_stated_rule():
    for t in TEMPLATES:
        points = 2 * t.code + (t.steps - 1) + (t.search >= 100) + (t.search >= 10_000)
        assert t.level == ("easy" if points <= 1 else "medium" if points <= 3 else "hard"), t.name
    assert {t.level for t in TEMPLATES} == {"easy", "medium", "hard"}
    assert all(t.code for t in TEMPLATES if t.search >= 10_000)


# ------------------------------------------------------------------ answers


@pytest.mark.parametrize("template", TEMPLATES, ids=ids)
def test_answer_is_what_the_question_asks(template):
    checker = CHECKERS[template.name]
    for seed, instance in SEEDS_AND_INSTANCES:
        question = template.question(seed, instance)
        text = dia_templates.describe(question)
        assert checker(text, question.task) == question.answer, (template.name, seed, instance)


# ------------------------------------------------------------------ 1,000 instances per template


@pytest.mark.parametrize("template", TEMPLATES, ids=ids)
def test_thousand_instances_neither_repeat_nor_concentrate(template):
    questions = thousand(template.name)
    texts = Counter(dia_templates.describe(q) + "\n" + dia_templates.instructions(q) for q in questions)
    repeated = INSTANCES - len(texts)
    answers = Counter(q.answer for q in questions)
    top_share = answers.most_common(1)[0][1] / INSTANCES
    assert repeated <= REPEATED_QUESTIONS, f"{repeated} repeated questions"
    assert top_share <= MOST_COMMON_ANSWER_SHARE, f"most common answer {answers.most_common(1)}"
    for q in questions:
        assert q.answer and q.answer == q.answer.strip() and "\n" not in q.answer and "</xml>" not in q.answer
        assert template.raw or not set("&<>") & set(q.answer), q.answer
        assert bool(q.files) == template.files
        assert (q.hint is not None) == template.adversarial
        assert dia_templates.instructions(q).endswith(f"'<xml>{q.answer_format}</xml>'.")


def binomial_upper(n: int, p: float, alpha: float = 1e-4) -> int:
    """The smallest k with P(X > k) <= alpha for X ~ Binomial(n, p)."""
    tail, k = 1.0, -1
    while tail > alpha:
        k += 1
        tail -= math.comb(n, k) * p**k * (1 - p) ** (n - k)
    return k


def binomial_lower(n: int, p: float, alpha: float = 1e-4) -> int:
    """The largest k with P(X < k) <= alpha."""
    cumulative, k = 0.0, 0
    while cumulative + math.comb(n, k) * p**k * (1 - p) ** (n - k) <= alpha:
        cumulative += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        k += 1
    return k


ADVERSARIAL = [t for t in TEMPLATES if t.adversarial]


@pytest.mark.parametrize("template", ADVERSARIAL, ids=ids)
def test_adversarial_hints_score_no_better_than_chance(template):
    """Over 1,000 instances, guessing the hint is right exactly as often as a blind guess:
    1 in n for a hint drawn from the question's n visible candidates (and avoiding the hint
    does no better either); for a hint drawn as an independent instance's answer, no more
    often than two instances share an answer."""
    questions = thousand(template.name)
    right = sum(q.hint == q.answer for q in questions)
    if questions[0].candidates:
        chance = sum(1 / len(q.candidates) for q in questions) / INSTANCES
        assert all(q.hint in q.candidates and q.answer in q.candidates for q in questions)
        assert binomial_lower(INSTANCES, chance) <= right <= binomial_upper(INSTANCES, chance), (right, chance)
        rng = random.Random(0)
        avoid = sum(rng.choice([c for c in q.candidates if c != q.hint]) == q.answer for q in questions)
        assert avoid <= binomial_upper(INSTANCES, chance), (avoid, chance)
    else:
        answers = Counter(q.answer for q in questions)
        collision = sum((c / INSTANCES) ** 2 for c in answers.values())  # P(two instances agree)
        assert right <= binomial_upper(INSTANCES, max(collision, 1 / INSTANCES)), (right, collision)


# ------------------------------------------------------------------ determinism

SNAPSHOT = """
import hashlib, json
from codeharness.tasks import dia_templates
print(hashlib.sha256(json.dumps(dia_templates.generate(2, 11), sort_keys=True).encode()).hexdigest())
"""


def test_generation_does_not_depend_on_the_hash_seed():
    here = hashlib.sha256(json.dumps(dia_templates.generate(2, 11), sort_keys=True).encode()).hexdigest()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", SNAPSHOT], env=env, capture_output=True, text=True,
                             check=True, timeout=300)
        assert out.stdout.strip() == here


def _other_pythons() -> list[str]:
    found = []
    for version in ("3.9", "3.10", "3.12", "3.13"):
        candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
        on_path = shutil.which(f"python{version}")
        if on_path and "shims" not in on_path:
            candidates.append(on_path)
        found += candidates[:1]
    return found


def test_generation_is_identical_on_other_pythons(tmp_path):
    """The generator's modules, alone in a bare `codeharness.tasks` package, give the same
    questions on every Python version present here (3.9 to 3.13)."""
    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no other Python version installed")
    package = tmp_path / "codeharness" / "tasks"
    package.mkdir(parents=True)
    (tmp_path / "codeharness" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for source in pathlib.Path(dia_templates.__file__).parent.glob("dia_templates*.py"):
        shutil.copy(source, package / source.name)
    here = hashlib.sha256(json.dumps(dia_templates.generate(2, 11), sort_keys=True).encode()).hexdigest()
    for python in pythons:
        out = subprocess.run([python, "-c", SNAPSHOT], env={**os.environ, "PYTHONPATH": str(tmp_path)},
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, (python, out.stderr[-2000:])
        assert out.stdout.strip() == here, python


def test_seeds_change_every_template_and_instances_are_stable():
    a, b = dia_templates.generate(1, 5)["questions"], dia_templates.generate(1, 6)["questions"]
    assert all(x != y for x, y in zip(a, b))
    more = dia_templates.generate(3, 5)["questions"]
    assert [q for q in more if q["challenge"]["instance"] == 1] == a
