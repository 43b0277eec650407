"""String kata: a benchmark with its own metric, in one file (codeharness's plugin example).

Four small string functions, each checked by a few asserts. Besides pass@k, runs report
partial credit, the share of a problem's tests a sample passes, and rank by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from codeharness.scorers.base import BaseScorer, Column
from codeharness.tasks.base import BaseTask, Job, Judgement, Outcome, Problem, Status, TestCase, registry

KATA = {
    "shout": ('def shout(text: str) -> str:\n    """text in upper case, with one "!" at the end."""\n',
              "    return text.upper() + '!'\n",
              ["assert shout('hi') == 'HI!'", "assert shout('') == '!'", "assert shout('a b') == 'A B!'"]),
    "initials": ('def initials(name: str) -> str:\n    """The first letter of each word, upper case."""\n',
                 "    return ''.join(word[0].upper() for word in name.split())\n",
                 ["assert initials('ada lovelace') == 'AL'", "assert initials('x') == 'X'",
                  "assert initials('  grace   hopper ') == 'GH'"]),
    "vowels": ('def vowels(text: str) -> int:\n    """How many of the letters are vowels (aeiou, any case)."""\n',
               "    return sum(c in 'aeiou' for c in text.lower())\n",
               ["assert vowels('Banana') == 3", "assert vowels('xyz') == 0", "assert vowels('AEIOU') == 5"]),
    "is_palindrome": ('def is_palindrome(text: str) -> bool:\n    """Same read backwards, ignoring case and spaces."""\n',
                      "    kept = text.replace(' ', '').lower()\n    return kept == kept[::-1]\n",
                      ["assert is_palindrome('Never odd or even')", "assert not is_palindrome('ab')",
                       "assert is_palindrome('')"]),
}


@registry.scorers.register
class PartialCredit(BaseScorer):
    """The mean share of its problem's tests a sample passes."""

    name = "partial_credit"

    def score(self, task, problems, generations, executions) -> dict:
        shares = [e.details["passed_tests"] / e.details["tests"] for e in executions]
        return {"partial_credit": sum(shares) / len(shares), "samples": len(shares)}

    def columns(self, result: dict) -> list[Column]:
        return [Column("partial credit", result["partial_credit"], percent=True)]

    def primary_metric(self, result: dict) -> str | None:
        return "partial credit"

    def report(self, result: dict) -> list:
        return [f"partial credit: {100 * result['partial_credit']:.1f}% of the tests, "
                f"over {result['samples']} samples"]


@registry.tasks.register
@dataclass
class StringKata(BaseTask):
    name = "string_kata"
    stop_sequences = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(")

    def load(self) -> list[Problem]:
        return [Problem(f"kata/{name}", prompt, entry_point=name, canonical_solution=prompt + body,
                        meta={"tests": tests}) for name, (prompt, body, tests) in KATA.items()]

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        tests = [TestCase(f"test {i}", code) for i, code in enumerate(problem.meta["tests"])]
        return Job(job_id, program, tests, fail_fast=False)  # every test runs: partial credit

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        judgement = super().judge(problem, outcome)
        judgement.details = {"tests": len(problem.meta["tests"]),
                             "passed_tests": sum(t.status is Status.PASSED for t in outcome.tests)}
        return judgement

    def scorers(self) -> list:
        return [PartialCredit(), *super().scorers()]
