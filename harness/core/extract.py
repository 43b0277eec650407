"""Turn a model's answer into a program.

Chat answers mix prose and code: the code is taken from the fenced block that defines the
entry point (a block with another language tag counts too, models mislabel Python), else from
the longest Python block, else from the first line that looks like code. Text after the code
that is not Python (prose, a cut-off line) is dropped, and so are top-level statements that
only demonstrate the function (prints, asserts, `if __name__ == "__main__":` blocks): they
are not the answer, and a failing example must not fail a correct function.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from collections.abc import Sequence

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
CODE_START = re.compile(r"^(def |class |import |from |@|async def )", re.MULTILINE)
PYTHON_TAGS = ("", "python", "py", "python3", "py3")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
IMPORTS = (ast.Import, ast.ImportFrom)


def truncate_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """Cut text at the first stop sequence; say whether one was found."""
    positions = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True


def fenced_blocks(answer: str) -> list[tuple[str, str]]:
    """(language tag, body) of every fenced block; an unclosed last block runs to the end
    of the answer."""
    return [(tag.lower(), body) for tag, body in FENCE.findall(answer)]


def code_blocks(answer: str) -> list[str]:
    """Fenced code blocks of a chat answer, Python (or unlabeled) ones only."""
    return [body for tag, body in fenced_blocks(answer) if tag in PYTHON_TAGS]


def parse(code: str) -> ast.Module | None:
    """The syntax tree, or None; quiet about warnings (invalid escapes in model code)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(code)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None


def defines(code: str, name: str) -> bool:
    tree = parse(code)
    if tree is None:
        return re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None
    return any(isinstance(node, DEFINITIONS) and node.name == name for node in ast.walk(tree))


def extract_code(answer: str, entry_point: str | None) -> str:
    """The code in a chat answer: the first fenced block that defines the entry point (Python
    blocks first, then blocks with another tag), else the longest Python block, else the
    answer from its first line that looks like code."""
    blocks = fenced_blocks(answer)
    if entry_point:
        python_first = sorted(blocks, key=lambda block: block[0] not in PYTHON_TAGS)
        defining = [body for _, body in python_first if defines(body, entry_point)]
        if defining:
            return defining[0]
    python = [body for tag, body in blocks if tag in PYTHON_TAGS]
    if python:
        return max(python, key=len)
    if blocks:
        return answer  # only blocks in other languages: nothing to pick
    start = CODE_START.search(answer)
    return answer[start.start():] if start else answer


def longest_parsable_prefix(code: str) -> str | None:
    """The code without trailing lines that keep it from parsing (prose, a cut-off line)."""
    lines = code.rstrip().split("\n")
    for end in range(len(lines), 0, -1):
        prefix = "\n".join(lines[:end])
        if parse(prefix) is not None:
            return prefix + "\n"
    return None


def definitions_only(tree: ast.Module, code: str) -> str:
    """Imports, function and class definitions, and the assignments they use, in order."""
    kept: list[ast.stmt] = [node for node in tree.body
                            if isinstance(node, IMPORTS + DEFINITIONS) or defining_try(node)]
    assignments: list[ast.Assign | ast.AnnAssign] = [
        node for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))]
    used = names_loaded(kept)
    while True:
        needed = [node for node in assignments if assigned_names(node) & used]
        if not needed:
            break
        kept += needed
        assignments = [node for node in assignments if node not in needed]
        used |= names_loaded(needed)
    kept.sort(key=lambda node: node.lineno)
    return "".join(source_lines(code, node) for node in kept)


def defining_try(node: ast.stmt) -> bool:
    """A top-level try that only imports or defines (`try: import numpy ... except ImportError:`)."""
    if not isinstance(node, ast.Try):
        return False
    bodies = [node.body, node.orelse, node.finalbody] + [h.body for h in node.handlers]
    allowed = IMPORTS + DEFINITIONS + (ast.Assign, ast.AnnAssign, ast.Pass)
    return all(isinstance(statement, allowed) for body in bodies for statement in body)


def names_loaded(nodes: Sequence[ast.AST]) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def assigned_names(node: ast.Assign | ast.AnnAssign) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}


def clean_answer_code(code: str, entry_point: str) -> str:
    """An answer's code that defines the entry point, reduced to its definitions; unchanged
    when no parsable prefix still defines it (the sandbox then reports the syntax error)."""
    code = textwrap.dedent(code)  # a block inside a markdown list is indented as a whole
    prefix = longest_parsable_prefix(code)
    tree = parse(prefix) if prefix is not None and defines(prefix, entry_point) else None
    return code if prefix is None or tree is None else definitions_only(tree, prefix)


def program_from_answer(prompt_code: str, answer: str, entry_point: str | None) -> str:
    """A runnable program from a chat answer to a code prompt (HumanEval/MBPP style).

    When the answer defines the entry point it is kept, after the prompt's imports and the
    helpers the prompt defines and the answer does not (models often drop
    `from typing import List`, or rely on a helper such as HumanEval/32's `poly`);
    otherwise it is taken as the body that continues the prompt.
    """
    code = extract_code(answer, entry_point)
    if entry_point is None or not defines(code, entry_point):
        return prompt_code + as_body(code)
    code = clean_answer_code(code, entry_point)
    future, code = split_future_imports(code)
    return future + prompt_imports(prompt_code) + prompt_helpers(prompt_code, entry_point, code) + code


def as_body(code: str) -> str:
    """Code that continues a function's header: indented, if the model wrote it at column 0."""
    first = next((line for line in code.split("\n") if line.strip()), "")
    return code if first[:1] in (" ", "\t") else textwrap.indent(code, "    ")


def split_future_imports(code: str) -> tuple[str, str]:
    """`from __future__` lines must open the program; take them out of the answer's code."""
    future = [line for line in code.split("\n") if line.startswith("from __future__ ")]
    rest = [line for line in code.split("\n") if not line.startswith("from __future__ ")]
    return "".join(line + "\n" for line in future), "\n".join(rest)


def prompt_imports(code: str) -> str:
    lines = [line for line in code.splitlines()
             if line.startswith(("import ", "from ")) and not line.startswith("from __future__")]
    return "\n".join(lines) + "\n" if lines else ""


def prompt_helpers(prompt_code: str, entry_point: str, answer_code: str) -> str:
    """Top-level functions and classes of the prompt, other than the entry point, that the
    answer does not define itself."""
    tree = parse(prompt_code)
    if tree is None:
        return ""
    helpers = [node for node in tree.body
               if isinstance(node, DEFINITIONS) and node.name != entry_point
               and not defines(answer_code, node.name)]
    return "".join(source_lines(prompt_code, node) + "\n" for node in helpers)


def source_lines(code: str, node: ast.stmt) -> str:
    """The whole lines of a top-level statement, decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "".join(line + "\n" for line in code.split("\n")[first - 1:node.end_lineno])
