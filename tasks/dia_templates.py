"""Our own DIA-style question templates, and the generator that writes them in the
published DIA-Bench JSON format.

Layout: tasks/dia_templates_core.py holds the machinery (Question, Template, the difficulty
rule, helpers, deterministic artefact builders); one module per group of the original's
categories holds the templates (dia_templates_math, _crypto, _encoding, _cs, _logs, _web,
_reverse, _ctf, _misc). Template ids follow this module order; a template's questions depend
only on (seed, template name, instance), not on its id.

Every template computes its answer in code, and draws from a parameter space large enough
that 1,000 instances of one seed never repeat a question and no answer is common enough to
be guessed (tests/test_dia_templates.py measures both).

Difficulty (dia_templates_core.difficulty): 2 points when the answer needs a program (a hash,
a cipher, a binary format, big numbers, a long search), 1 per chained step after the first,
1 each for a search over at least 100 and at least 10,000 candidates; easy <= 1 < medium
<= 3 < hard. benchmarks/dia_difficulty.py measures the embedded model's solve rate per level.

Adversarial templates plant a claim about the answer (a note, a comment, a colleague's
guess). The claim carries no information: it names a candidate drawn uniformly from the
question's visible candidates, or the answer of an independent instance of the template, so
it is right exactly as often as a blind guess (each template states its rate).

File-based templates carry artefacts (archives, compressed logs, PDFs, PNGs, C sources)
inside the question text, between BEGIN FILE and END FILE lines (base64 for binary files);
in tool mode tasks/dia.py also writes them into the program's working folder.
"""

from __future__ import annotations

from dataclasses import replace

from codeharness.tasks import (  # noqa: F401 - importing a module registers its templates
    dia_templates_crypto,
    dia_templates_cs,
    dia_templates_ctf,
    dia_templates_encoding,
    dia_templates_logs,
    dia_templates_math,
    dia_templates_misc,
    dia_templates_reverse,
    dia_templates_web,
)
from codeharness.tasks.dia_templates_core import (  # noqa: F401 - re-exported
    CATEGORIES,
    EASY,
    HARD,
    MEDIUM,
    RAW_NOTE,
    REGISTRY,
    SKIP_ANSWER,
    Artefact,
    Question,
    Template,
    difficulty,
    difficulty_points,
    file_block,
)

GENERATOR_VERSION = 2
MODULES = (dia_templates_math, dia_templates_cs, dia_templates_crypto, dia_templates_encoding,
           dia_templates_logs, dia_templates_web, dia_templates_reverse, dia_templates_ctf, dia_templates_misc)
TEMPLATES: list[Template] = [replace(t, id=i) for i, t in enumerate(
    (t for module in MODULES for t in REGISTRY[module.__name__]), start=1)]
BY_NAME = {t.name: t for t in TEMPLATES}

GENERAL_PROMPT = """Solve the challenge below.

Rules:
- Read the challenge carefully; only the final answer counts.
- Scoring: a correct answer earns +1 point, a wrong answer costs 2 points, and the answer <xml>I-DO-NOT-KNOW</xml> earns 0 points. If you are not sure, answer <xml>I-DO-NOT-KNOW</xml>.
- Check your answer before giving it, in exactly the XML format the challenge asks for.

Challenge:
"""


def describe(question: Question) -> str:
    """The question's description with its artefacts, as the model sees it."""
    return "\n\n".join([question.description, *(file_block(f) for f in question.files)])


def instructions(question: Question) -> str:
    raw = f" {RAW_NOTE}" if question.raw else ""
    return (f"{question.task}{raw} Reply with the answer only, without any explanation, in exactly "
            f"this XML format: '<xml>{question.answer_format}</xml>'.")


def generate(k: int, seed: int) -> dict:
    """k instances of every template, in the published DIA-Bench JSON format."""
    questions = []
    for tmpl in TEMPLATES:
        for instance in range(1, k + 1):
            question = tmpl.question(seed, instance)
            questions.append({
                "challenge": {
                    "template_id": tmpl.id, "instance": instance, "level": tmpl.level,
                    "category": tmpl.category, "adversarial": tmpl.adversarial,
                    "description": GENERAL_PROMPT + describe(question),
                    "instructions": instructions(question),
                },
                "solution": {"challenge_solution": f"<xml>{question.answer}</xml>",
                             "solution_explanation": question.explanation},
            })
    return {"dataset": "codeharness DIA-style questions", "generator": "codeharness dia generate",
            "generator_version": GENERATOR_VERSION, "seed": seed, "template_count": len(TEMPLATES), "k": k,
            "instance_count": len(questions), "questions": questions}
