"""Code extraction from chat answers (harness/extract.py), on answers shaped like real ones."""

from codeharness.core.extract import extract_code, program_from_answer, truncate_at_stop

PROMPT = '''from typing import List


def below_zero(operations: List[int]) -> bool:
    """ Detect if the balance falls below zero.
    >>> below_zero([1, 2, -4, 5])
    True
    """
'''
SOLUTION = '''def below_zero(operations: List[int]) -> bool:
    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False
'''


def run(program: str, call: str):
    namespace: dict = {}
    exec(program, namespace)
    return eval(call, namespace)


def test_prose_around_a_fenced_block():
    answer = f"Sure! Here is the function:\n\n```python\n{SOLUTION}```\n\nIt keeps a running balance."
    program = program_from_answer(PROMPT, answer, "below_zero")
    assert program.startswith("from typing import List\n")
    assert "Sure" not in program and "running balance" not in program
    assert run(program, "below_zero([1, 2, -4, 5])") is True


def test_block_that_defines_the_entry_point_wins_over_a_longer_example_block():
    example = "```python\n" + "\n".join(f"print(below_zero([{i}, -{i + 1}]))" for i in range(30)) + "\n```"
    answer = f"```python\n{SOLUTION}```\n\nUsage:\n\n{example}"
    assert extract_code(answer, "below_zero") == SOLUTION


def test_wrong_language_tag_is_still_used_when_it_defines_the_entry_point():
    answer = f"```javascript\n{SOLUTION}```"
    assert run(program_from_answer(PROMPT, answer, "below_zero"), "below_zero([-1])") is True


def test_answer_without_fences_drops_trailing_prose():
    answer = f"The solution keeps a balance.\n\n{SOLUTION}\nThis runs in O(n) time."
    program = program_from_answer(PROMPT, answer, "below_zero")
    assert "O(n)" not in program
    assert run(program, "below_zero([3, -2])") is False


def test_truncated_fence_keeps_the_complete_function_and_drops_the_cut_line():
    answer = f"```python\n{SOLUTION}\nprint(below_zero([1, -"
    program = program_from_answer(PROMPT, answer, "below_zero")
    assert "print" not in program
    assert run(program, "below_zero([1, -2])") is True


def test_function_cut_mid_body_stays_a_syntax_error():
    answer = "```python\ndef below_zero(operations):\n    balance = (0 +"
    program = program_from_answer(PROMPT, answer, "below_zero")
    assert "balance = (0 +" in program


def test_demonstration_code_is_dropped_but_used_constants_are_kept():
    answer = ("```python\nimport math\nLIMIT = 0\nUNUSED = input()\n\n"
              "def below_zero(operations):\n    total = 0\n    for op in operations:\n"
              "        total += op\n        if total < LIMIT:\n            return True\n    return False\n\n"
              "assert below_zero([1]) is True  # the model's own, wrong, example\n"
              "if __name__ == '__main__':\n    print(below_zero([1, -2]))\n```")
    program = program_from_answer(PROMPT, answer, "below_zero")
    assert "LIMIT = 0" in program and "import math" in program
    assert "UNUSED" not in program and "assert" not in program and "__main__" not in program
    assert run(program, "below_zero([1, -2])") is True


def test_body_only_answer_continues_the_prompt():
    answer = "```python\n    return min(__import__('itertools').accumulate(operations), default=0) < 0\n```"
    program = program_from_answer(PROMPT, answer, "below_zero")
    assert program.startswith(PROMPT)
    assert run(program, "below_zero([1, -2])") is True


def test_helpers_of_the_prompt_are_added_when_the_answer_omits_them():
    prompt = ('import math\n\n\ndef poly(xs: list, x: float):\n    return sum(c * math.pow(x, i) for i, c in enumerate(xs))\n\n\n'
              'def find_zero(xs: list):\n    """A zero of the polynomial."""\n')
    answer = ("```python\nfrom __future__ import annotations\n\n"
              "def find_zero(xs: list):\n    lo, hi = -1e3, 1e3\n    for _ in range(200):\n"
              "        mid = (lo + hi) / 2\n        if poly(xs, lo) * poly(xs, mid) <= 0:\n            hi = mid\n"
              "        else:\n            lo = mid\n    return lo\n```")
    program = program_from_answer(prompt, answer, "find_zero")
    assert program.startswith("from __future__ import annotations\n")
    assert abs(run(program, "find_zero([1, 2])") + 0.5) < 1e-6


def test_helper_the_answer_defines_itself_is_not_duplicated_from_the_prompt():
    prompt = 'def helper(x):\n    return x\n\n\ndef f(x):\n    """Double."""\n'
    answer = "```python\ndef helper(x):\n    return 2 * x\n\ndef f(x):\n    return helper(x)\n```"
    program = program_from_answer(prompt, answer, "f")
    assert program.count("def helper") == 1
    assert run(program, "f(3)") == 6


def test_decorated_functions_keep_their_decorators():
    answer = ("```python\nimport functools\n\n@functools.lru_cache(maxsize=None)\n"
              "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n```")
    program = program_from_answer('def fib(n):\n    """n-th Fibonacci."""\n', answer, "fib")
    assert "@functools.lru_cache" in program
    assert run(program, "fib(80)") == 23416728348467685


def test_two_defining_blocks_take_the_first_python_one():
    first, second = SOLUTION, SOLUTION.replace("balance < 0", "balance <= 0")
    answer = f"```python\n{first}```\nOr, equivalently:\n```python\n{second}```"
    assert extract_code(answer, "below_zero") == first


def test_stop_sequences_cut_at_the_earliest():
    assert truncate_at_stop("    return x\ndef g():\nprint(1)", ["\nprint", "\ndef"]) == ("    return x", True)
    assert truncate_at_stop("    return x\n", ["\nclass"]) == ("    return x\n", False)


def test_body_written_at_column_zero_is_indented_under_the_prompt():
    answer = "```python\nreturn any(sum(operations[:i + 1]) < 0 for i in range(len(operations)))\n```"
    assert run(program_from_answer(PROMPT, answer, "below_zero"), "below_zero([2, -3])") is True


def test_indented_block_inside_a_markdown_list_is_dedented():
    indented = "".join("   " + line + "\n" for line in SOLUTION.splitlines())
    answer = f"1. Write the function:\n   ```python\n{indented}   ```\n2. Done."
    assert run(program_from_answer(PROMPT, answer, "below_zero"), "below_zero([-1])") is True


def test_import_fallbacks_in_try_are_kept_and_demonstrations_in_try_dropped():
    answer = ("```python\ntry:\n    from math import prod\nexcept ImportError:\n    prod = None\n\n"
              "def f(xs):\n    return prod(xs)\n\ntry:\n    print(f([2, 3]))\nexcept Exception:\n    pass\n```")
    program = program_from_answer("def f(xs):\n    \"\"\"Product.\"\"\"\n", answer, "f")
    assert "from math import prod" in program and "print" not in program
    assert run(program, "f([2, 3, 4])") == 24
