"""APPS-style problems (Hendrycks et al., 2021): a problem statement, and tests that are
(input, expected output) pairs, either fed on standard input to a program run as
`__main__`, or passed as arguments to the function `fn_name` ("call-based").

`AppsTask` is the family's base: a subclass loads its records into problems with
`apps_problem` and may change the prompt; building jobs, running them (tasks/apps_runtime.py)
and judging are shared. Answers are compared with APPS's lenient rules
(`tasks.apps_runtime.outputs_match`), each test under its own time limit.

`Apps` is the benchmark itself, one `--split` (test or train) of 5,000 problems, optionally
one `--difficulty` (introductory, interview, competition). Sources: the Hugging Face dataset
`codeparrot/apps` (its `<split>.jsonl`, downloaded as a file: `datasets` no longer runs the
dataset's loading script), or local files: such a JSONL file, or a folder of the original
release (`<split>/<NNNN>/` with question.txt, input_output.json, solutions.json,
metadata.json and starter_code.py), the split's folder or its parent. Problems without tests
are left out, counted in the run's data sources. The first reference solution is the
canonical one.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.data import hub_dataset, jsonl_objects, require_fields
from codeharness.core.errors import HarnessError
from codeharness.core.extract import code_blocks, extract_code
from codeharness.core.records import Prompt, Status
from codeharness.sandbox.jobs import Job, Outcome, TestCase
from codeharness.tasks.base import COMPLETION, PROGRAM, BaseTask, Judgement, Problem

RUNTIME_SOURCE = Path(__file__).with_name("apps_runtime.py").read_text(encoding="utf-8")
# APPS's stop sequences for completion models: the next section of the prompt format.
STOP_SEQUENCES = ("\nQUESTION", "\n---", "\nANSWER", "<|endoftext|>")
WRONG_OUTPUT = "WrongOutput"  # tasks.apps_runtime.WrongOutput

HF_DATASET = "codeparrot/apps"
FIELDS = ("problem_id", "question", "solutions", "input_output", "difficulty", "url", "starter_code")
DIFFICULTIES = ("all", "introductory", "interview", "competition")
# A problem folder of the original release: the record field each file holds.
FOLDER_FILES = {"question": "question.txt", "solutions": "solutions.json",
                "input_output": "input_output.json", "starter_code": "starter_code.py",
                "metadata": "metadata.json"}
# What APPS's harness (eval/testing_util.py) puts before every program.
APPS_IMPORTS = (
    "import sys\nimport time\nimport itertools\n"
    "from itertools import accumulate, product, permutations, combinations\nimport collections\n"
    "from collections import Counter, OrderedDict, deque, defaultdict, ChainMap\n"
    "from functools import lru_cache\nimport math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\nfrom typing import List, Tuple\nimport numpy as np\nimport random\n"
    "import heapq\nfrom heapq import *\n"
)


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
        """APPS's prompt format (its eval/generate_gpt_codes.py)."""
        text = f"\nQUESTION:\n{problem.prompt}"
        if problem.meta["starter_code"]:
            text += "\n" + problem.meta["starter_code"]
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
        return Judgement(status, {"base": status})


def _failure(outcome: Outcome):
    if outcome.status is not Status.PASSED:
        return outcome
    return next(t for t in outcome.tests if t.status not in (Status.PASSED, Status.NOT_RUN))


@registry.tasks.register
@dataclass
class Apps(AppsTask):
    name = "apps"
    preamble = APPS_IMPORTS

    # Reference solutions among the 40 APPS test problems of tests/data/apps (the problems
    # of the codehalu task's known-bad records) that cannot pass when run as a real
    # `__main__` on Python >= 3.9; APPS's harness wraps standard-input programs in a function.
    known_bad = {
        "test/1970": "the reference solution uses `nonlocal` at module level; it only runs inside "
                     "the function APPS's harness wraps programs in",
        "test/527": "the reference solution has `return` outside a function (relies on APPS's "
                    "harness wrapping programs in a function)",
        "test/434": "the reference solution has `return` outside a function (relies on APPS's "
                    "harness wrapping programs in a function)",
        "test/66": "the reference solution imports fractions.gcd, removed in Python 3.9",
        "test/753": "the reference solution imports fractions.gcd, removed in Python 3.9",
        "test/559": "the reference solution's `print((*f))` is a syntax error since Python 3.9",
    }

    split: str = "test"
    difficulty: str = "all"

    def load(self) -> list[Problem]:
        if self.difficulty not in DIFFICULTIES:
            raise HarnessError(f"task 'apps' has no difficulty {self.difficulty!r}; "
                               f"choose one of {', '.join(DIFFICULTIES)}")
        problems, seen, untested = [], {}, 0
        for where, record in self._records():
            require_fields(record, FIELDS, where)
            if self.difficulty not in ("all", record["difficulty"]):
                continue
            if not record["input_output"]:
                untested += 1
                continue
            problem = self._problem(record, where)
            if problem.id in seen:
                raise HarnessError(f"{where}: problem id {problem.id!r} again (first at {seen[problem.id]})")
            seen[problem.id] = where
            problems.append(problem)
        if untested:
            self._sources[-1]["left_out_without_tests"] = untested
            warnings.warn(f"apps: {untested} {self.split} problems have no tests and are left out",
                          stacklevel=2)
        return problems

    def _problem(self, record: dict, where: str) -> Problem:
        tests = _decoded(record["input_output"], "input_output", where, dict)
        if not isinstance(tests.get("inputs"), list) or not isinstance(tests.get("outputs"), list):
            raise HarnessError(f"{where}: field input_output needs 'inputs' and 'outputs' lists")
        solutions = _decoded(record["solutions"] or "[]", "solutions", where, list)
        return apps_problem(
            f"{self.split}/{record['problem_id']}", record["question"], record["starter_code"],
            tests.get("fn_name"), tests["inputs"], tests["outputs"],
            solutions[0] if solutions else None, where,
            apps_id=record["problem_id"], difficulty=record["difficulty"], url=record["url"],
        )

    def _records(self):
        """(where, record) pairs, `where` naming the file and line or the problem's folder."""
        path = self._source()
        if not path.exists():
            raise HarnessError(f"{path}: data file or folder not found")
        if not path.is_dir():
            yield from jsonl_objects(self.record_file(path))
            return
        split_dir = path / self.split if (path / self.split).is_dir() else path
        folders = sorted((p for p in split_dir.iterdir() if p.is_dir() and p.name.isdigit()),
                         key=lambda p: int(p.name))
        if not folders:
            raise HarnessError(f"{split_dir}: no APPS problem folders (0000, 0001, ...) in this folder")
        digest = hashlib.sha256()
        for folder in folders:
            yield str(folder), _folder_record(folder, digest)
        self._sources.append({"path": str(split_dir.resolve()), "sha256": digest.hexdigest()})

    def _source(self) -> Path:
        name = hub_dataset(self.data_path, HF_DATASET)
        if name is None:
            return Path(str(self.data_path))
        from huggingface_hub import hf_hub_download

        try:
            return Path(hf_hub_download(name, f"{self.split}.jsonl", repo_type="dataset"))
        except Exception as exc:  # noqa: BLE001 - network, auth and missing files all end here
            raise HarnessError(
                f"could not download {self.split}.jsonl from the Hugging Face dataset {name!r}: {exc}\n"
                "Task 'apps' reads it unless given --data-path (a JSONL file, or a folder of the "
                "APPS release).") from exc


def _folder_record(folder: Path, digest) -> dict:
    """A problem folder of the APPS release as a record of `codeparrot/apps`; the files it
    has go into `digest`. Missing files leave their fields empty, or out when required."""
    record = {"problem_id": int(folder.name), "solutions": "", "input_output": "", "starter_code": ""}
    for field, name in FOLDER_FILES.items():
        path = folder / name
        if path.is_file():
            data = path.read_bytes()
            digest.update(f"{folder.name}/{name} {len(data)}\n".encode() + data)
            record[field] = data.decode("utf-8")
    metadata = _decoded(record.pop("metadata", "{}"), "metadata", str(folder), dict)
    record.update({key: metadata[key] for key in ("difficulty", "url") if key in metadata})
    return record


def _decoded(text, field: str, where: str, kind: type):
    """A record's JSON-encoded field."""
    try:
        value = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise HarnessError(f"{where}: field {field} is not JSON text ({exc})") from exc
    if not isinstance(value, kind):
        raise HarnessError(f"{where}: field {field} is not a JSON {'object' if kind is dict else 'list'}")
    return value
