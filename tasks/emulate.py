"""Emulation fidelity: can the model predict what a fully defined program returns?

Each problem is one (program, call): the program is a reference solution of HumanEval or
MBPP, or a model-written one from an earlier run (`--solutions RUN_DIR`), and the call's
arguments are taken from the benchmark's own tests. The model emulates the call in the
CoGEX format; the sandbox computes the real result once per problem (in `prepare`); the
emulated 'answer' is graded against it. A call that raises is emulated correctly when the
answer names the exception's class.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.errors import HarnessError
from codeharness.core.records import Prompt, Status
from codeharness.core.rundir import RunDir
from codeharness.sandbox.jobs import Job, TestCase
from codeharness.scorers.base import BaseScorer, Column, Scorer
from codeharness.tasks import create_task, emulation
from codeharness.tasks.base import CHAT, COMPLETION, BaseTask, Judgement, Problem
from codeharness.tasks.cogex import CHAT_INSTRUCTIONS, WORKED_EXAMPLE

INSTRUCTION = ("Emulate the execution of the code on the call below. Answer with a dict of "
               "intermediate values whose 'answer' is the call's return value; if the call "
               "raises an exception, 'answer' is the exception's class name.")


@registry.tasks.register
@dataclass
class EmulateHumanEval(BaseTask):
    name = "emulate_humaneval"
    source_task = "humaneval"
    prompt_styles = (COMPLETION, CHAT)
    groups = ("emulation",)
    solutions: str = "canonical"
    calls_per_program: int = 1
    timeout_s: float = 5.0

    def load(self) -> list[Problem]:
        source = create_task(self.source_task, **({"data_path": self.data_path} if self.data_path else {}))
        source_problems = source.load()
        self._sources = source.data_sources()
        programs = self._programs(source, source_problems)
        problems = []
        for problem, label, program in programs:
            for index, call in enumerate(test_calls(source, problem)[: self.calls_per_program]):
                problems.append(Problem(
                    id=f"{label}/call{index}",
                    prompt=emulation.render(INSTRUCTION, "", program, call),
                    entry_point=problem.entry_point,
                    meta={"program": program, "call": call, "source_problem": problem.id},
                ))
        if not problems:
            raise HarnessError(f"task {self.name}: no calls with literal arguments found in the tests")
        return problems

    def _programs(self, source, problems: list[Problem]) -> list[tuple[Problem, str, str]]:
        if self.solutions == "canonical":
            return [(p, p.id, source.canonical_program(p)) for p in problems
                    if source.canonical_program(p)]
        run = RunDir(Path(self.solutions))
        by_id = {p.id: p for p in problems}
        chosen = []
        for generation in run.generations():
            problem = by_id.get(generation["problem_id"])
            if problem is not None:
                label = f"{problem.id}#{generation['sample_index']}"
                chosen.append((problem, label, generation["program"]))
        if not chosen:
            raise HarnessError(f"{self.solutions}: no generations of task {self.source_task!r}")
        return chosen

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        if style == CHAT:
            content = CHAT_INSTRUCTIONS + WORKED_EXAMPLE + "\nNow emulate this one:\n\n" + problem.prompt
            return Prompt(messages=[{"role": "user", "content": content}])
        if style == COMPLETION:
            return Prompt(text=WORKED_EXAMPLE + "\n" + problem.prompt, stop=["\n###"])
        return super().build_prompt(problem, style)

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        return completion

    def prepare(self, problems: list[Problem], sandbox) -> None:
        """Run every (program, call) once for real; keep the value or the exception."""
        todo = {p.id: p for p in problems if "real" not in p.meta}
        jobs = [Job(p.id, p.meta["program"],
                    [TestCase("call", f"__result__ = {p.meta['call']}", timeout_s=self.timeout_s)])
                for p in todo.values()]
        for outcome in sandbox.run(jobs):
            problem = todo[outcome.job_id]
            test = outcome.tests[0] if outcome.tests else None
            if outcome.status is Status.PASSED and test and test.status is Status.PASSED:
                problem.meta["real"] = {"raised": False, "value": test.value}
            else:
                failure = test if outcome.status is Status.PASSED and test else outcome
                problem.meta["real"] = {"raised": True, "exception": failure.exception_type,
                                        "status": failure.status.value}

    def build_job(self, problem, program, job_id):
        return None

    def grade(self, problem: Problem, answer: str) -> Judgement:
        real = problem.meta["real"]
        parsed = emulation.parse_output(answer)
        details = {"raised": real["raised"], "real": real.get("value") or real.get("exception")}
        if not parsed.ok:
            return Judgement(Status.ERROR, {"emulation": Status.FAILED}, {**details, "parse_error": parsed.error})
        details["predicted"] = repr(parsed.answer)
        correct = (_names_exception(parsed.answer, real.get("exception")) if real["raised"]
                   else _same_value(parsed.answer, real["value"]))
        status = Status.PASSED if correct else Status.FAILED
        return Judgement(status, {"emulation": status}, details)

    def scorers(self) -> list[Scorer]:
        return [*super().scorers(), EmulationFidelity()]


@registry.tasks.register
@dataclass
class EmulateMbpp(EmulateHumanEval):
    name = "emulate_mbpp"
    source_task = "mbpp_sanitized"


def test_calls(source, problem: Problem) -> list[str]:
    """Calls of the entry point with literal arguments, in the order the tests make them."""
    program = source.canonical_program(problem) or ""
    calls = []
    for test in source.build_job(problem, program, "calls").tests:
        try:
            tree = ast.parse(test.code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            call = _literal_call(node, problem.entry_point)
            if call and call not in calls:
                calls.append(call)
    return calls


def _literal_call(node, entry_point: str | None) -> str | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in (entry_point, "candidate") and not node.keywords):
        return None
    arguments = [ast.unparse(a) for a in node.args]
    try:
        for argument in arguments:
            ast.literal_eval(argument)
    except (ValueError, SyntaxError):
        return None
    return f"{entry_point}({', '.join(arguments)})"


def _same_value(predicted, real_repr: str) -> bool:
    try:
        real = ast.literal_eval(real_repr)
    except (ValueError, SyntaxError):
        return repr(predicted) == real_repr
    return _close(predicted, real)


def _close(a, b) -> bool:
    """Equal values, with a float tolerance, bools kept apart from numbers, lists from tuples."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_close, a, b))
    return a == b


def _names_exception(answer, exception: str | None) -> bool:
    return bool(exception) and exception.lower() in str(answer).lower()


@registry.scorers.register
class EmulationFidelity(BaseScorer):
    """Emulation accuracy and parse failures, split by whether the real execution raised."""

    name = "emulation_fidelity"

    def score(self, task, problems, generations, executions) -> dict:
        def summary(subset) -> dict:
            total = len(subset)
            return {"samples": total,
                    "accuracy": sum(e.status is Status.PASSED for e in subset) / total if total else None,
                    "parse_failures": sum("parse_error" in e.details for e in subset)}

        raised = [e for e in executions if e.details.get("raised")]
        returned = [e for e in executions if not e.details.get("raised")]
        return {"all": summary(executions), "real_returned": summary(returned),
                "real_raised": summary(raised)}

    def columns(self, result: dict) -> list[Column]:
        return [Column(f"emulation accuracy{suffix}", result[part]["accuracy"], percent=True)
                for part, suffix in (("all", ""), ("real_raised", " (real raised)"),
                                     ("real_returned", " (real returned)"))]

    def report(self, result: dict) -> list:
        def share(part: str) -> str:
            accuracy = result[part]["accuracy"]
            return "n/a" if accuracy is None else f"{100 * accuracy:.1f}%"

        return [f"emulation accuracy {share('all')} (where the real call returned "
                f"{share('real_returned')}, where it raised {share('real_raised')}); unparsable "
                f"{result['all']['parse_failures']} of {result['all']['samples']}"]
