"""Prompts for P3 puzzles and the extraction of an answer from a model's continuation.

The completion styles follow the structure of the P3 paper's Codex experiments (Schuster et
al., 2021): the puzzle is shown as `f`, the answer is asked for as `g`.

- short: the puzzle, then `assert True == f(`; the model writes the answer expression and
  the closing parenthesis (one line).
- medium: five solved tutorial puzzles `f1/g1 ... f5/g5`, each followed by
  `assert fi(gi())`, then the target as `f6` and the header `def g6(...):`.
- long: the same with each `g`'s docstring, the target's docstring included.
- bootstrap: like medium, but the solved examples are puzzles the model itself solved
  earlier in the run (see tasks/p3.py).
- chat: an instruction for chat models, answered with a `sol()` in a code block.
"""

from __future__ import annotations

import ast
import random
import re

from codeharness.core.extract import extract_code, truncate_at_stop

TYPING_PREFIX = "from typing import List\n\n"
MULTI_LINE_STOP = "\nassert"
SHORT_STOP = "\n"


def as_f(sat: str, suffix: str = "") -> str:
    """The puzzle's source with `sat` renamed to `f` (or `f1`, `f2`, ...)."""
    return sat.replace("def sat(", f"def f{suffix}(", 1)


def as_g(header: str, suffix: str = "") -> str:
    return header.replace("def sol(", f"def g{suffix}(", 1)


def rename_word(source: str, old: str, new: str) -> str:
    """Rename a whole-word identifier outside docstrings. A word followed by a quote is a
    string prefix (f"..."), not the identifier, and stays."""
    pattern = re.compile(rf"\b{re.escape(old)}\b(?![\"'])")
    parts = source.split('"""')
    # Even parts are code, odd parts are inside triple-quoted strings.
    return '"""'.join(pattern.sub(new, part) if i % 2 == 0 else part for i, part in enumerate(parts))


def solved_example(sat: str, solution: str, number: int) -> str:
    """One solved puzzle for a few-shot prompt: f<number>, g<number>, assert f<number>(g<number>())."""
    g = rename_word(rename_word(solution.strip(), "f", f"f{number}"), "g", f"g{number}")
    return f"{as_f(sat, str(number)).strip()}\n\n{g}\n\nassert f{number}(g{number}())"


def tutorial_prefix(tutorial: list[dict], with_docstrings: bool) -> str:
    """The medium (or long, with docstrings) prompt's five solved tutorial puzzles."""
    examples = []
    for number, puzzle in enumerate(tutorial, start=1):
        header = as_g(puzzle["sol_header"], str(number))
        docstring = f"\n{puzzle['sol_docstring']}" if with_docstrings else ""
        body = puzzle["sol_bodies"][0]
        examples.append(f"{as_f(puzzle['sat'], str(number))}\n\n{header}{docstring}\n{body}\n\n"
                        f"assert f{number}(g{number}())\n\n")
    return TYPING_PREFIX + "".join(examples)


def short_prompt(sat: str) -> str:
    return f"{as_f(sat)}\n\nassert True == f("


def few_shot_prompt(prefix: str, examples: int, sat: str, header: str, docstring: str | None) -> str:
    """The target puzzle as number examples+1 after a prefix holding that many examples."""
    number = str(examples + 1)
    target = f"{as_f(sat, number)}\n\n{as_g(header, number)}"
    return prefix + target + (f"\n{docstring}" if docstring else "")


def bootstrap_prompt(examples: list[tuple[str, str]], sat: str, header: str,
                     max_chars: int) -> tuple[str, int]:
    """The most solved examples (sat, solution) that fit in max_chars, then the target;
    and the target's number (examples shown + 1).

    The caller shuffles the examples; like the paper, the prompt keeps the longest prefix of
    that order that fits."""
    entries = [solved_example(s, g, number) for number, (s, g) in enumerate(examples, start=1)]
    count = 0
    while count < len(entries) and len(_joined(entries[:count + 1], sat, header)) <= max_chars:
        count += 1
    return _joined(entries[:count], sat, header), count + 1


def _joined(entries: list[str], sat: str, header: str) -> str:
    number = str(len(entries) + 1)
    parts = [TYPING_PREFIX.strip(), *entries, as_f(sat, number).strip(), as_g(header, number).strip()]
    return "\n\n".join(parts)


def shuffled(items: list, *seed_parts) -> list:
    """A copy of items in an order fixed by the seed parts (stable across runs and machines)."""
    copy = list(items)
    random.Random(":".join(map(str, seed_parts))).shuffle(copy)
    return copy


def chat_instruction(sat: str, header: str, docstring: str) -> str:
    return (
        "Solve this Python programming puzzle. Find an input `x` for which `sat(x)` returns "
        "True: write a function `sol` with the header shown that returns such an `x`, using "
        "no input and no network. Answer with the whole `sol` function in one ```python code "
        "block.\n\n"
        f"```python\n{TYPING_PREFIX}{sat}\n\n{header}\n{docstring}\n```"
    )


# ------------------------------------------------------------------ answers


def answer_expression(completion: str) -> str | None:
    """The argument the model wrote after `assert True == f(`: the text up to the first `)`
    that closes the call, or None when no prefix of the line parses."""
    for index, char in enumerate(completion):
        if char == ")" and _parses("(" + completion[: index + 1]):
            return completion[:index].strip()
    return None


def function_body(completion: str) -> str:
    """The body the model wrote after a `def g...:` header: its lines up to the first one that
    starts at column 0 (the next top-level statement)."""
    completion, _ = truncate_at_stop(completion, [MULTI_LINE_STOP])
    lines = completion.split("\n")
    for index in range(1, len(lines)):
        if lines[index] and lines[index][0] not in " \t":
            return "\n".join(lines[:index])
    return completion


def chat_code(completion: str) -> str:
    return extract_code(completion, "sol")


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True
