"""Trusted helpers that run LiveCodeBench tests inside a sandbox child, as upstream's
`lcb_runner/evaluation/testing_util.py` runs them.

tasks/livecodebench.py ships this file's source as a job's prelude, so it is standard library
only. The untrusted program runs in a module of its own, never in the job's namespace.

- Functional (LeetCode) problems: the program, after upstream's block of star-imports and
  `sys.setrecursionlimit(50000)`, is executed once; the method `fn_name` of `Solution()` is
  used when the program has `class Solution`, else its module-level function. Each line of
  a test's input is one JSON argument; a tuple result counts as a list, and it must equal
  the JSON output exactly (no float tolerance, as upstream).
- Standard-input problems: a final `if __name__ == "__main__":` block is unwrapped, the
  program's statements other than imports are wrapped into a function, and each test calls
  it with standard input mocked as upstream mocks it and standard output captured; outputs
  match when, after stripping, they have the same lines and each line is equal as text or
  as a list of Decimal tokens.
"""

import ast
import builtins
import contextlib
import io
import json
import sys
import types
from decimal import Decimal, InvalidOperation
from unittest.mock import mock_open, patch

SHOWN_CHARS = 300

IMPORT_STRING = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
    "from random import *\nfrom statistics import *\nfrom itertools import *\n"
    "from functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
    "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\n"
    "import datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\n"
    "import random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"
)


class WrongAnswer(AssertionError):
    """The program ran, but its answer differs from the expected one."""


def _shown(value):
    text = value if isinstance(value, str) else str(value)
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return repr(text[:SHOWN_CHARS // 2] + "...(truncated)..." + text[-SHOWN_CHARS // 2:])


@contextlib.contextmanager
def restored_builtins():
    """Undo the program's changes to builtins before its answer is judged."""
    pristine = dict(builtins.__dict__)
    try:
        yield
    finally:
        builtins.__dict__.clear()
        builtins.__dict__.update(pristine)


class CallProgram:
    def __init__(self, source, fn_name):
        module = types.ModuleType("tmp_sol", "")
        with restored_builtins():
            exec(compile(IMPORT_STRING + "\n\n" + source, "<program>", "exec"), module.__dict__)  # noqa: S102 - the untrusted program, in the sandbox
        if "class Solution" in source:
            target = module.Solution()
        else:
            target = module
        if not hasattr(target, fn_name):
            raise NameError(f"the program defines no {fn_name!r}")
        self.method = getattr(target, fn_name)

    def check(self, input_text, output_text):
        arguments = [json.loads(line) for line in input_text.split("\n")]
        expected = json.loads(output_text)
        with restored_builtins():
            prediction = self.method(*arguments)
        if isinstance(prediction, tuple):
            prediction = list(prediction)
        if not prediction == expected:
            raise WrongAnswer(f"expected {_shown(output_text)}, got {_shown(repr(prediction))}")


def clean_if_name(code):
    """Unwrap a final `if __name__ == '__main__':` block, as upstream does."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:  # noqa: BLE001, S110 - upstream leaves code it cannot parse as it is
        pass
    return code


def make_function(code):
    """The program's imports, then everything else as the body of `wrapped_function`."""
    try:
        imports, others = [], []
        for statement in ast.parse(code).body:
            (imports if isinstance(statement, (ast.Import, ast.ImportFrom)) else others).append(statement)
        function = ast.FunctionDef(
            name="wrapped_function",
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=others, decorator_list=[], lineno=-1)
        return IMPORT_STRING + "\n" + ast.unparse(imports) + "\n" + ast.unparse(function)
    except Exception:  # noqa: BLE001 - as upstream: the code is run as it is
        return code


class StdioProgram:
    def __init__(self, source):
        module = types.ModuleType("tmp_sol", "")
        with restored_builtins():
            exec(compile(make_function(clean_if_name(source)), "<program>", "exec"), module.__dict__)  # noqa: S102
        self.method = getattr(module, "wrapped_function", None)
        if self.method is None:
            raise NameError("the program could not be wrapped into a function")

    def run(self, inputs):
        lines = iter(inputs.split("\n"))
        captured = io.StringIO()
        saved = sys.stdout
        sys.stdout = captured
        try:
            with restored_builtins(), \
                    patch("builtins.open", mock_open(read_data=inputs)), \
                    patch("sys.stdin", io.StringIO(inputs)), \
                    patch("sys.stdin.readline", lambda *args: next(lines)), \
                    patch("sys.stdin.readlines", lambda *args: inputs.split("\n")), \
                    patch("sys.stdin.read", lambda *args: inputs):
                try:
                    self.method()
                except SystemExit:
                    pass
        finally:
            sys.stdout = saved
        return captured.getvalue()

    def check(self, input_text, output_text):
        prediction = self.run(input_text)
        if not outputs_match(prediction, output_text):
            raise WrongAnswer(f"expected {_shown(output_text)}, got {_shown(prediction)}")


def _stripped_lines(text):
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line):
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def outputs_match(prediction, expected):
    """upstream's grade_stdio comparison."""
    got, wanted = _stripped_lines(prediction), _stripped_lines(expected)
    if len(got) != len(wanted):
        return False
    for line, target in zip(got, wanted):
        if line == target:
            continue
        a, b = _decimals(line), _decimals(target)
        if a is None or b is None or a != b:
            return False
    return True
