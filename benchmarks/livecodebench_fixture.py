"""Build tests/data/livecodebench/: LiveCodeBench `code_generation_lite` files made from problems
this repository has, since LiveCodeBench's own data cannot be reached here.

    .venv/bin/python benchmarks/livecodebench_fixture.py [--out tests/data/livecodebench]

Writes `test.jsonl` and `test2.jsonl` (two "releases", so `--release release_v1`, `v2` and
`release_v2` pick different problems) in exactly upstream's record format, and
`solutions.jsonl` (not part of the format: a right and a wrong program per problem, for the
tests). The problems:
- LeetCode-style functional ones from HumanEval (MIT, OpenAI): a `Solution` class with a
  camelCase method as starter code, `func_name` in the metadata, one JSON argument a line,
  tests from HumanEval+'s inputs (Apache-2.0, EvalPlus) with outputs computed by the
  canonical solution; private tests in upstream's base64-zlib-pickle encoding for one of them;
- standard-input ones: HumanEval/55 (Fibonacci) rewritten to read stdin, and two APPS
  problems (MIT, Hendrycks et al.) from tests/data/apps with their own test and first
  solution.
Output is deterministic: rerunning it gives the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import json
import pickle
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS_PROBLEMS = ROOT / "tests" / "data" / "apps" / "test_problems.jsonl"

FUNCTIONAL = [
    # HumanEval id, method name, starter signature, difficulty, date, platform file, pickled
    ("HumanEval/0", "hasCloseElements", "numbers: List[float], threshold: float) -> bool",
     "easy", "2023-05-14T00:00:00", 1, False),
    ("HumanEval/13", "greatestCommonDivisor", "a: int, b: int) -> int",
     "medium", "2023-09-03T00:00:00", 1, True),
    ("HumanEval/34", "unique", "l: List[int]) -> List[int]",
     "hard", "2024-06-15T00:00:00", 2, False),
]
APPS = [  # APPS problem id in tests/data/apps, difficulty, date, file, platform
    (401, "medium", "2023-07-22T00:00:00", 1, "atcoder"),
    (792, "hard", "2024-08-10T00:00:00", 2, "codeforces"),
]
STDIN_FIB_DATE = "2024-02-04T00:00:00"


def encoded(tests: list[dict]) -> str:
    """Upstream's private-test encoding: base64(zlib(pickle(json text)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def record(question_id, title, content, platform, date, starter, difficulty, public, private,
           metadata, pickled=False) -> dict:
    return {
        "question_title": title, "question_content": content, "platform": platform,
        "question_id": question_id, "contest_id": question_id.split("_")[0], "contest_date": date,
        "starter_code": starter, "difficulty": difficulty,
        "public_test_cases": json.dumps(public),
        "private_test_cases": encoded(private) if pickled else json.dumps(private),
        "metadata": json.dumps(metadata),
    }


def humaneval_plus() -> dict[str, dict]:
    from codeharness.core.data import read_records
    from codeharness.tasks.packaged import packaged_file

    return {r["task_id"]: r for r in read_records(packaged_file("HumanEvalPlus-v0.1.10.jsonl.gz"))}


def functional_problems(problems: dict) -> tuple[list, list]:
    records, solutions = [], []
    for task_id, method, signature, difficulty, date, file, pickled in FUNCTIONAL:
        problem = problems[task_id]
        namespace: dict = {}
        exec(problem["prompt"] + problem["canonical_solution"], namespace)  # trusted reference
        function = namespace[problem["entry_point"]]
        inputs = (problem["base_input"] + problem["plus_input"])[:8]
        tests = [{"input": "\n".join(json.dumps(a) for a in args),
                  "output": json.dumps(function(*args)), "testtype": "functional"}
                 for args in inputs]
        docstring = problem["prompt"].split('"""')[1].strip()
        starter = f"class Solution:\n    def {method}(self, {signature}:\n        "
        qid = f"lc{task_id.split('/')[1]}_{method}"
        records.append((file, record(qid, method, docstring, "leetcode", date, starter,
                                     difficulty, tests[:2], tests[2:], {"func_name": method},
                                     pickled)))
        body = problem["prompt"] + problem["canonical_solution"]
        right = (f"from typing import *\n{body}\n\nclass Solution:\n    def {method}(self, *args):\n"
                 f"        return {problem['entry_point']}(*args)\n")
        wrong = (f"class Solution:\n    def {method}(self, *args):\n        return None\n")
        solutions.append({"question_id": qid, "right": right, "wrong": wrong})
    return records, solutions


def stdin_fibonacci(problems: dict) -> tuple[tuple, dict]:
    problem = problems["HumanEval/55"]
    namespace: dict = {}
    exec(problem["prompt"] + problem["canonical_solution"], namespace)
    values = [1, 2, 8, 10, 11, 25, 31, 40]
    tests = [{"input": f"{n}\n", "output": f"{namespace['fib'](n)}\n", "testtype": "stdin"}
             for n in values]
    content = ("Given n on standard input, print the n-th Fibonacci number (fib(1) = fib(2) = 1)."
               "\n\n-----Input-----\nOne integer n (1 <= n <= 40).\n\n-----Output-----\n"
               "The n-th Fibonacci number.")
    qid = "abc300_fib"
    rec = record(qid, "Fibonacci", content, "atcoder", STDIN_FIB_DATE, "", "easy",
                 tests[:2], tests[2:], {})
    right = ("def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n"
             "    return a\n\nif __name__ == '__main__':\n    print(fib(int(input())))\n")
    wrong = "n = int(input())\nprint(n * 2)\n"
    return (1, rec), {"question_id": qid, "right": right, "wrong": wrong}


def apps_problems() -> tuple[list, list]:
    by_task = {}
    for line in APPS_PROBLEMS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_task[row["problem_id"]] = row
    records, solutions = [], []
    for task_id, difficulty, date, file, platform in APPS:
        row = by_task[task_id]
        tests = json.loads(row["input_output"])
        test = {"input": tests["inputs"][0], "output": tests["outputs"][0], "testtype": "stdin"}
        qid = f"{'abc' if platform == 'atcoder' else 'cf'}{task_id}_apps"
        records.append((file, record(qid, f"APPS {task_id}", row["question"], platform, date, "",
                                     difficulty, [test], [], {})))
        right = json.loads(row["solutions"])[0]
        solutions.append({"question_id": qid, "right": right, "wrong": "print(0)\n"})
    return records, solutions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "livecodebench")
    args = parser.parse_args(argv)
    sys.set_int_max_str_digits(0)
    problems = humaneval_plus()
    functional, functional_solutions = functional_problems(problems)
    fib, fib_solution = stdin_fibonacci(problems)
    apps, apps_solutions = apps_problems()
    files: dict[int, list[dict]] = {1: [], 2: []}
    for file, rec in [*functional, fib, *apps]:
        files[file].append(rec)
    args.out.mkdir(parents=True, exist_ok=True)
    for file, name in ((1, "test.jsonl"), (2, "test2.jsonl")):
        rows = sorted(files[file], key=lambda r: r["question_id"])
        (args.out / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    solutions = sorted([*functional_solutions, fib_solution, *apps_solutions],
                       key=lambda s: s["question_id"])
    (args.out / "solutions.jsonl").write_text("".join(json.dumps(s) + "\n" for s in solutions),
                                              encoding="utf-8")
    print(f"wrote {sum(map(len, files.values()))} problems to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
