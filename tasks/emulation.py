"""The CoGEX format: a pseudo-program, a call, and the emulated return value.

    ### Instruction
    <what to do>
    ### Input
    <the instance>
    ### Code
    def solve(text):
        \"\"\"Docstring.\"\"\"
        # Step 1: ...
        words = split_into_words(text)   # helpers may be left undefined
        return {'words': words, 'answer': len(words)}
    >>> solve("a b c")
    ### Output
    {'words': ['a', 'b', 'c'], 'answer': 3}

A model writes the code (or is given it) and emulates the call; the answer is the dict's
'answer'. Parsing never raises: a malformed output is a counted parse failure.
"""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from dataclasses import dataclass

INSTRUCTION = "### Instruction"
INPUT = "### Input"
CODE = "### Code"
OUTPUT = "### Output"
CALL_PREFIX = ">>> "
ARTICLES = re.compile(r"\b(a|an|the)\b")


def render(instruction: str, input_text: str, code: str | None = None,
           call: str | None = None) -> str:
    """A CoGEX prompt; with code and call it ends at `### Output` for the model to emulate."""
    prompt = f"{INSTRUCTION}\n{instruction.strip()}\n{INPUT}\n{input_text.strip()}\n{CODE}\n"
    if code is None:
        return prompt
    return prompt + f"{code.rstrip()}\n{CALL_PREFIX}{call}\n{OUTPUT}\n"


@dataclass
class Parsed:
    value: dict | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def answer(self):
        return self.value.get("answer") if self.value is not None else None


def parse_output(text: str) -> Parsed:
    """The first dict literal after `### Output` (or from the start when the prompt already
    ended with it); trailing text is ignored."""
    header = text.find(OUTPUT)
    body = text[header + len(OUTPUT):] if header >= 0 else text
    start = body.find("{")
    if start < 0:
        return Parsed(None, "no dict in the output")
    for end in (i for i, ch in enumerate(body) if ch == "}" and i > start):
        try:
            value = ast.literal_eval(body[start:end + 1])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if not isinstance(value, dict):
            return Parsed(None, "the output is not a dict")
        if "answer" not in value:
            return Parsed(value, "the dict has no 'answer' key")
        return Parsed(value)
    return Parsed(None, "no parseable dict literal in the output")


def split_code(text: str) -> tuple[str, str | None]:
    """A generated `### Code` section: the code before the `>>> ` call, and the call."""
    code_part = text.split(OUTPUT, 1)[0]
    lines = code_part.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(CALL_PREFIX):
            return "\n".join(lines[:index]).rstrip() + "\n", line[len(CALL_PREFIX):].strip()
    return code_part.rstrip() + "\n", None


def function_name(code: str) -> str | None:
    """The first top-level function the code defines."""
    match = re.search(r"^def\s+(\w+)\s*\(", code, re.MULTILINE)
    return match.group(1) if match else None


def call_for(code: str, instruction: str, input_text: str) -> str | None:
    """Call a program's function on another item: f(input) or f(instruction, input)."""
    name = function_name(code)
    if name is None:
        return None
    try:
        tree = ast.parse(code)
        function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
        arity = len(function.args.args)
    except (SyntaxError, StopIteration):
        arity = 1
    if arity == 0:
        return f"{name}()"
    if arity >= 2:
        return f"{name}({instruction!r}, {input_text!r})"
    return f"{name}({input_text!r})"


def normalize(value) -> str:
    """Lowercase, no punctuation, no articles, single spaces (SQuAD-style)."""
    text = str(value).lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(ARTICLES.sub(" ", text).split())


def exact_match(predicted, gold) -> bool:
    return predicted == gold or str(predicted).strip() == str(gold).strip()


def normalized_match(predicted, gold) -> bool:
    return normalize(predicted) == normalize(gold)


def majority(answers: list) -> object | None:
    """The most common answer by normalized form (first seen wins ties)."""
    if not answers:
        return None
    counts = Counter(normalize(a) for a in answers)
    best = max(counts.values())
    return next(a for a in answers if counts[normalize(a)] == best)
