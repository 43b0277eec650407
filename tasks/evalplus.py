"""The EvalPlus machinery shared by HumanEval+ and MBPP+ (Liu et al., 2023).

A problem has base inputs (the original benchmark's tests) and plus inputs (EvalPlus's
extra ones). Expected outputs are not in the data: `prepare` runs the reference solution on
every input in the sandbox and records repr() of each output and its runtime (cached, see
tasks/groundtruth.py). A sample is then judged by differential testing with EvalPlus's
comparison rules (tasks/evalplus_check.py), each call limited to
max(timeout_floor_s, timeout_factor x the reference's time) as in EvalPlus (1 s, 4x).
Outputs with no literal form, or longer than 10,000 characters (HumanEval/15 returns
megabytes), are not stored: text is compared by the digest of its repr (equal exactly when
the text is), anything else is recomputed by the reference solution, loaded in a namespace
of its own. Inputs go 100 to a test; a test stops at its first failing input,
which the execution record names, and a failing test skips every later test: the plus
tests run only after the base tests passed (the verdict is known otherwise).

A problem's inputs, expected outputs, limits and the checker are the setup of its suite
(sandbox/jobs.py): parsed and compiled once per sandbox worker, not once per sample; each
test is one call of the checker on its inputs.

Groups: "base" passes when every base input passes; "plus", as in EvalPlus's reports,
when every base and every plus input passes.

The Hugging Face copies (evalplus/humanevalplus, evalplus/mbppplus) carry no inputs: each
row has one `test` program with base and plus inputs merged and the expected outputs
written in. From them the "plus" group runs that program and the "base" group the original
benchmark's tests, and time limits apply to a whole test program rather than to each call.

The `contract` field (EvalPlus's preconditions on valid inputs, used to generate inputs) is
neither shown to the model nor run: EvalPlus builds prompts from `prompt` alone and computes
expected outputs with `prompt + canonical_solution`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import ClassVar

from codeharness.core.data import require_fields
from codeharness.core.errors import HarnessError
from codeharness.core.extract import parse
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job, Outcome, Suite, TestCase
from codeharness.tasks import evalplus_check
from codeharness.tasks.base import Judgement, Problem
from codeharness.tasks.groundtruth import REFERENCE_TIMEOUT_S, ReferenceTimedTask
from codeharness.tasks.packaged import task_records

BASE, PLUS = "base", "plus"
INPUTS_PER_TEST = 100
MEMORY_MB = 4096  # EvalPlus's limit
# Some expected outputs are integers with more digits than Python 3.11 converts by default.
PRELUDE = "import sys\nif hasattr(sys, 'set_int_max_str_digits'):\n    sys.set_int_max_str_digits(0)\n"


@cache
def check_source() -> str:
    return Path(evalplus_check.__file__).read_text(encoding="utf-8")


RELEASE_FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "base_input",
                  "plus_input", "atol")


@dataclass
class EvalPlusTask(ReferenceTimedTask):
    groups = (BASE, PLUS)
    dataset: ClassVar[str] = ""  # "humaneval" or "mbpp": which of EvalPlus's special oracles apply

    timeout_floor_s: float = 1.0  # EvalPlus's defaults: 1 s, 4x
    timeout_factor: float = 4.0

    # ---------------------------------------------------------------- loading

    packaged_file: ClassVar[str] = ""  # the release file shipped in tasks/data/
    hub_dataset: ClassVar[str] = ""  # a Hugging Face copy (its rows hold test programs)

    def load(self) -> list[Problem]:
        """An EvalPlus release file (base and plus inputs), by default the packaged one, or
        a Hugging Face copy (test programs)."""
        records, where = task_records(self, self.packaged_file, self.hub_dataset)
        self.remember_data(records)
        if records and "base_input" not in records[0]:
            return self.merged_problems(records, where)
        problems = []
        for index, record in enumerate(records):
            require_fields(record, RELEASE_FIELDS, f"{where} record {index + 1}")
            problems.append(self.release_problem(record, self.release_inputs(record)))
        return problems

    def release_inputs(self, record: dict) -> dict[str, list]:
        """A release record's base and plus inputs, deserialized where the release encodes them."""
        return {group: record[f"{group}_input"] for group in (BASE, PLUS)}

    def merged_problems(self, records: list[dict], where: str) -> list[Problem]:
        raise NotImplementedError

    @staticmethod
    def release_problem(record: dict, inputs: dict[str, list]) -> Problem:
        """A problem of an EvalPlus release file (inputs already deserialized)."""
        return Problem(
            id=record["task_id"], prompt=record["prompt"], entry_point=record["entry_point"],
            canonical_solution=record["prompt"] + record["canonical_solution"],
            meta={"inputs": inputs, "atol": record["atol"], "contract": record.get("contract", "")},
        )

    @staticmethod
    def merged_problem(task_id: str, prompt: str, entry_point: str, canonical: str,
                       base_tests: list[str], plus_test: str) -> Problem:
        """A problem of a Hugging Face copy, whose tests are whole programs."""
        return Problem(id=task_id, prompt=prompt, entry_point=entry_point,
                       canonical_solution=canonical,
                       meta={"tests": {BASE: base_tests, PLUS: [plus_test]}})

    # ---------------------------------------------------------------- ground truth

    def tests(self, problem: Problem) -> list[TestCase]:
        """The test programs of a Hugging Face row (differential tests are built from the
        expected outputs instead)."""
        return [TestCase(name, code, group) for group, name, code in merged_tests(problem)]

    def reference_job(self, problem: Problem) -> Job:
        if "tests" in problem.meta:
            job = super().reference_job(problem)
            return Job(job.id, job.program, job.tests, prelude=PRELUDE,
                       program_timeout_s=REFERENCE_TIMEOUT_S, memory_mb=MEMORY_MB)
        tests = [TestCase(f"{group}{span}", reference_code(self.dataset, problem, chunk),
                          group, REFERENCE_TIMEOUT_S)
                 for group, span, chunk in input_chunks(problem)]
        return Job(problem.id, self.canonical_program(problem), tests, prelude=PRELUDE,
                   program_timeout_s=REFERENCE_TIMEOUT_S, memory_mb=MEMORY_MB)

    def read_reference(self, problem: Problem, outcome: Outcome) -> dict:
        failing = next((t for t in outcome.tests if t.status is not Status.PASSED), None)
        if outcome.status is not Status.PASSED or failing is not None:
            source = failing or outcome
            raise HarnessError(f"the reference solution did not run: {source.status.value} "
                               f"{source.exception_type or ''} {source.message or ''}".strip())
        if "tests" in problem.meta:
            return super().read_reference(problem, outcome)
        truth = {BASE: {"expected": [], "time": []}, PLUS: {"expected": [], "time": []}}
        for test in outcome.tests:
            if test.value is None or test.value.startswith("<"):
                raise HarnessError(f"the outputs of {test.name} could not be read back "
                                   f"({test.value or 'none reported'})")
            for text, seconds in ast.literal_eval(test.value):
                truth[test.group]["expected"].append(text)
                truth[test.group]["time"].append(seconds)
        return truth

    # ---------------------------------------------------------------- judging

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        return self.suite(problem).job(job_id, program, memory_mb=MEMORY_MB,
                                       stop_at_first_failure=True)

    def build_suite(self, problem: Problem) -> Suite:
        if problem.id in self._reference_errors:
            error = f"no ground truth: {self._reference_errors[problem.id]}"
            return Suite([TestCase("ground truth", f"raise RuntimeError({error!r})")], prelude=PRELUDE)
        if problem.id not in self._reference:
            raise HarnessError(f"{self.name}: expected outputs of {problem.id} are not computed; "
                               "prepare(problems, sandbox) must run first")
        if "tests" in problem.meta:
            return Suite(self.timed_tests(problem), prelude=PRELUDE)
        return self._differential_suite(problem)

    def _differential_suite(self, problem: Problem) -> Suite:
        """The problem's data and the checker as the setup; one checker call per test."""
        if problem.entry_point in checker_names():
            raise HarnessError(f"{self.name}: {problem.id}'s entry point {problem.entry_point!r} "
                               "is a name of the checker (tasks/evalplus_check.py)")
        truth = self._reference[problem.id]
        setup, tests, recomputed = [literal_names(), check_source()], [], False
        for number, (group, span, chunk) in enumerate(input_chunks(problem)):
            expected = truth[group]["expected"][span.start:span.stop]
            limits = [round(self.limit(t), 4) for t in truth[group]["time"][span.start:span.stop]]
            setup.append(chunk_data(number, chunk, expected, limits, span.start))
            code = check_call(number, self.dataset, problem, span.start, None in expected)
            tests.append(TestCase(f"{group}{span}", code, group, sum(limits) + self.timeout_floor_s))
            recomputed = recomputed or None in expected
        if recomputed:  # the reference solution, in a namespace of its own
            setup.append(f"reference = load_reference({problem.canonical_solution!r}, "
                         f"{problem.entry_point!r})\n")
        return Suite(tests, setup="\n".join(setup), prelude=PRELUDE)

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        base = outcome.group_status(BASE)
        plus = outcome.group_status(PLUS)
        groups = {BASE: base, PLUS: plus if base is Status.PASSED else base}
        return Judgement(outcome.verdict, groups, self._failure_details(problem, outcome))

    def _failure_details(self, problem: Problem, outcome: Outcome) -> dict:
        """The input a differential test failed on, as EvalPlus reports it."""
        failing = next((t for t in outcome.tests if t.status not in (Status.PASSED, Status.NOT_RUN)), None)
        if failing is None or "inputs" not in problem.meta or not (failing.value or "").isdigit():
            return {}
        index = int(failing.value)
        return {"failed_group": failing.group, "failed_input_index": index,
                "failed_input": evalplus_check.shorten(problem.meta["inputs"][failing.group][index])}


class Span:
    """A slice of a group's inputs, named like one: [100:200]."""

    def __init__(self, start: int, stop: int):
        self.start, self.stop = start, stop

    def __str__(self) -> str:
        return f"[{self.start}:{self.stop}]"


def input_chunks(problem: Problem):
    """(group, span, inputs) for each test of a differential-testing problem."""
    for group in (BASE, PLUS):
        inputs = problem.meta["inputs"][group]
        for start in range(0, len(inputs), INPUTS_PER_TEST):
            chunk = inputs[start:start + INPUTS_PER_TEST]
            yield group, Span(start, start + len(chunk)), chunk


def merged_tests(problem: Problem):
    """(group, name, code) for each test program of a Hugging Face row."""
    for group in (BASE, PLUS):
        tests = problem.meta["tests"][group]
        for index, code in enumerate(tests):
            yield group, group if len(tests) == 1 else f"{group}[{index}]", code


def literal_names() -> str:
    # repr() writes infinities and NaN as bare names.
    return 'inf, nan = float("inf"), float("nan")\n'


def reference_code(dataset: str, problem: Problem, inputs: list) -> str:
    return (f"{literal_names()}inputs = {inputs!r}\n\n{check_source()}\n"
            f"__result__ = reference_outputs({problem.entry_point}, {dataset!r}, "
            f"{problem.entry_point!r}, inputs)\n")


@cache
def checker_names() -> frozenset[str]:
    """The names the checker's source defines (a suite's setup defines them for its tests)."""
    tree = ast.parse(literal_names() + check_source())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(n.id for target in node.targets for n in ast.walk(target)
                         if isinstance(n, ast.Name))
    return frozenset(names | {"reference"})


def chunk_data(number: int, inputs: list, expected: list[str | None], limits: list[float],
               first: int) -> str:
    """The setup's data of one test: its inputs, the expected outputs (`...` where not
    stored: compared by digest, or recomputed by the reference solution), their limits."""
    digests = {first + i: e.removeprefix("sha256:") for i, e in enumerate(expected)
               if e is not None and e.startswith("sha256:")}
    written = ", ".join("..." if e is None or e.startswith("sha256:") else e for e in expected)
    data = (f"inputs_{number} = {inputs!r}\nexpected_{number} = [{written}]\n"
            f"limits_{number} = {limits!r}\ndigests_{number} = {digests!r}\n")
    return data


def check_call(number: int, dataset: str, problem: Problem, first: int,
               recomputed: bool) -> str:
    """One test: the checker on its chunk of inputs (the setup's data), against the
    program's entry point; `recomputed`: the reference gives some of the expected outputs."""
    reference = "reference=reference, " if recomputed else ""
    return (f"check_outputs({problem.entry_point}, {dataset!r}, {problem.entry_point!r}, "
            f"inputs_{number}, expected_{number}, limits_{number}, {problem.meta['atol']!r}, "
            f"{first}, {reference}digests=digests_{number}, scope=globals())\n")


def has_call(code: str, function: str) -> bool:
    """Whether a test program calls `function` at top level (HF rows differ on this)."""
    tree = parse(code)
    return tree is not None and any(isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
               and isinstance(node.value.func, ast.Name) and node.value.func.id == function
               for node in tree.body)


def with_check_call(test: str, entry_point: str) -> str:
    return test if has_call(test, "check") else f"{test}\n\ncheck({entry_point})\n"
