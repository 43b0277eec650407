"""Turn a model's answer into a program."""

from __future__ import annotations

import ast
import re

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
CODE_START = re.compile(r"^(def |class |import |from |@|async def )", re.MULTILINE)


def truncate_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """Cut text at the first stop sequence; say whether one was found."""
    positions = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True


def code_blocks(answer: str) -> list[str]:
    """Fenced code blocks of a chat answer, Python (or unlabeled) ones only."""
    blocks = []
    for language, body in FENCE.findall(answer):
        if language.lower() in ("", "python", "py", "python3"):
            blocks.append(body)
    return blocks


def defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name
        for node in ast.walk(tree)
    )


def extract_code(answer: str, entry_point: str | None) -> str:
    """The code in a chat answer: the fenced block that defines the entry point, else the
    longest block, else the answer from its first line that looks like code."""
    blocks = code_blocks(answer)
    if blocks:
        if entry_point:
            defining = [b for b in blocks if defines(b, entry_point)]
            if defining:
                return defining[0]
        return max(blocks, key=len)
    start = CODE_START.search(answer)
    return answer[start.start():] if start else answer


def program_from_answer(prompt_code: str, answer: str, entry_point: str | None) -> str:
    """A runnable program from a chat answer to a code prompt (HumanEval/MBPP style).

    When the answer defines the entry point it is kept whole, after the prompt's imports
    (models often drop `from typing import List`); otherwise it is taken as the body that
    continues the prompt.
    """
    code = extract_code(answer, entry_point)
    if entry_point is None or defines(code, entry_point):
        return prompt_imports(prompt_code) + code
    return prompt_code + code


def prompt_imports(code: str) -> str:
    lines = [line for line in code.splitlines()
             if line.startswith(("import ", "from ")) and not line.startswith("from __future__")]
    return "\n".join(lines) + "\n" if lines else ""
