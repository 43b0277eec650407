"""APPS-style problems (Hendrycks et al., 2021): a problem statement, and tests that are
(input, expected output) pairs, either fed on standard input to a program run as
`__main__`, or passed as arguments to the function `fn_name` ("call-based").

`AppsTask` is the family's base: a subclass loads its records into problems with
`apps_problem` and may change the prompt; building jobs, running them (tasks/apps_runtime.py)
and judging are shared. Answers are compared with APPS's lenient rules
(`tasks.apps_runtime.outputs_match`), each test under its own time limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.extract import code_blocks, extract_code
from harness.records import Prompt
from sandbox.jobs import Job, Outcome, Status, TestCase
from tasks.base import COMPLETION, PROGRAM, BaseTask, Judgement, Problem

RUNTIME_SOURCE = Path(__file__).with_name("apps_runtime.py").read_text(encoding="utf-8")
# APPS's stop sequences for completion models: the next section of the prompt format.
STOP_SEQUENCES = ("\nQUESTION", "\n---", "\nANSWER", "<|endoftext|>")
WRONG_OUTPUT = "WrongOutput"  # tasks.apps_runtime.WrongOutput


def apps_problem(problem_id: str, question: str, starter_code: str | None, fn_name: str | None,
                 inputs: list, outputs: list, solution: str | None, where: str,
                 **meta) -> Problem:
    """A problem of the family; `where` names the record in error messages."""
    if len(inputs) != len(outputs) or not inputs:
        raise HarnessError(f"{where}: needs as many expected outputs as inputs, at least one "
                           f"(got {len(inputs)} inputs, {len(outputs)} outputs)")
    if fn_name:
        inputs = [_call_arguments(value, f"{where} input {i + 1}") for i, value in enumerate(inputs)]
        outputs = [_expected_value(value) for value in outputs]
    else:
        inputs = [_stdio_text(value, f"{where} input {i + 1}") for i, value in enumerate(inputs)]
        outputs = [_stdio_text(value, f"{where} output {i + 1}") for i, value in enumerate(outputs)]
    return Problem(id=problem_id, prompt=question, entry_point=fn_name or None,
                   canonical_solution=solution or None,
                   meta={"starter_code": starter_code or "", "fn_name": fn_name or None,
                         "inputs": inputs, "outputs": outputs, **meta})


def _stdio_text(value, where: str) -> str:
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "\n".join(value)  # APPS sometimes stores a text as its list of lines
    if not isinstance(value, str):
        raise HarnessError(f"{where}: expected text for a standard-input problem, "
                           f"got {type(value).__name__}")
    return value


def _json_value(value, where: str):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{where}: not a JSON value ({exc.msg})") from exc


def _expected_value(value):
    """A call's expected result: JSON text is decoded; other text is the expected string."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _call_arguments(value, where: str) -> list:
    arguments = _json_value(value, where)
    if not isinstance(arguments, list):
        raise HarnessError(f"{where}: expected the list of arguments for a call-based problem")
    return arguments


@dataclass
class AppsTask(BaseTask):
    name = "apps_family"
    stop_sequences = STOP_SEQUENCES
    preamble = ""  # code the benchmark's own harness runs before every program

    timeout_s: float = 4.0

    # -- prompts

    def problem_text(self, problem: Problem) -> str:
        """APPS's prompt format."""
        starter_code = problem.meta["starter_code"]
        text = f"\nQUESTION:\n{problem.prompt}\n{starter_code}\n"
        text += "\nUse Call-Based format" if problem.meta["fn_name"] else "\nUse Standard Input format"
        return text

    def chat_instruction(self, problem: Problem) -> str:
        return ("Solve the following programming problem in Python. Answer with the whole "
                "program in one ```python code block.\n" + self.problem_text(problem))

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        if style in (COMPLETION, PROGRAM):  # PROGRAM: replayed whole programs
            return Prompt(text=self.problem_text(problem) + "\nANSWER:\n",
                          stop=list(self.stop_sequences))
        return super().build_prompt(problem, style)

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        """The fenced block (the one defining fn_name, else the longest); without fences, the
        whole answer, as APPS and CodeHalu take it."""
        if code_blocks(completion):
            return extract_code(completion, problem.meta["fn_name"])
        return completion

    # -- execution

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        fn_name = problem.meta["fn_name"]
        pairs = zip(problem.meta["inputs"], problem.meta["outputs"])
        if fn_name:
            load = f"apps_program = CallProgram({program!r}, {self.preamble!r})"
            checks = [f"apps_program.check({fn_name!r}, {json.dumps(args)!r}, {json.dumps(out)!r})"
                      for args, out in pairs]
        else:
            load = f"apps_program = StdioProgram({program!r}, {self.preamble!r})"
            checks = [f"apps_program.check({given!r}, {wanted!r})" for given, wanted in pairs]
        tests = [TestCase(f"test {index}", check, timeout_s=self.timeout_s)
                 for index, check in enumerate(checks)]
        return Job(job_id, load, tests, prelude=RUNTIME_SOURCE, program_timeout_s=self.timeout_s)

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        status = outcome.verdict
        if status is Status.FAILED and _failure(outcome).exception_type != WRONG_OUTPUT:
            status = Status.ERROR  # the program's own failed `assert`: a crash, not a wrong answer
        return Judgement(status, {"base": status.value})


def _failure(outcome: Outcome):
    if outcome.status is not Status.PASSED:
        return outcome
    return next(t for t in outcome.tests if t.status not in (Status.PASSED, Status.NOT_RUN))
