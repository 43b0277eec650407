"""P3, Python Programming Puzzles (Schuster, Kalyan, Polozov and Kalai, NeurIPS 2021).

A puzzle is a function `sat`; an answer is an `x` with `sat(x) is True`. The model writes a
solver (`g` in the paper's completion prompts, `sol` in the chat prompt); the sandbox runs it,
checks the answer's exact type against the puzzle's `ans_type`, then `sat(answer) is True`
with a pristine copy of `sat`, under a timeout scaled by the puzzle's weight.

Variants: `p3` (the paper's 397 puzzles), `p3_all` (all 1,715 instances), `p3_test228` (the
first instance of each of the 228 test templates of the later train/test split).

The `bootstrap` prompt style runs in rounds (see `plan_round`): each round asks for
`bootstrap_round_size` more attempts at every puzzle not yet solved, with a prompt made of
puzzles the model solved in earlier rounds of this run.
"""

from __future__ import annotations

import ast
import json
import math
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.data import read_records, require_fields, sha256_file
from codeharness.core.errors import HarnessError
from codeharness.core.models import cache_dir
from codeharness.core.records import GenerationRequest, Prompt, Status
from codeharness.sandbox.jobs import Job, Outcome, TestCase
from codeharness.scorers.base import Scorer
from codeharness.scorers.p3 import P3Scorer
from codeharness.tasks import p3_prompts as prompts
from codeharness.tasks.base import CHAT, BaseTask, Judgement, Problem

SHORT, MEDIUM, LONG, BOOTSTRAP = "short", "medium", "long", "bootstrap"
FIELDS = ("name", "sat", "ans_type", "sol_header", "sol_docstring", "sol_bodies", "module", "weight")
# The release files at the snapshot tests/data/README.md describes (p3/), with their sha256.
RELEASE = "https://raw.githubusercontent.com/microsoft/PythonProgrammingPuzzles/017f488b8f6320b8220cda38e78f2f72a36eab20/"
RELEASE_FILES = {
    "397puzzles.json": ("solvers/codex/397puzzles.json",
                        "9acc4dbfe549afcbeb484e9570428efb9ee29a2c173bb37c7e088ad787d32d9d"),
    "puzzles.json": ("puzzles/puzzles.json",
                     "d3b61141ea0d935c389d602867ba2c154db1854df9ff4402daaa947ad880d8bb"),
    "split.json": ("puzzles/split.json",
                   "1f3d55c30dcb23036a0008763a21fe3da1765879523a33585593f9daa5f2e824"),
}
ANSWER_TYPE = re.compile(r"(List\[)*(int|float|str|bool)\]*")
PROGRAM_PREFIX = "from typing import List, Set, Tuple, Dict\n\n"
ANSWER_PREVIEW_CHARS = 200
# P3 predates Python's limit on int <-> str conversion (3.11); several puzzles need huge ints.
PRELUDE = "__import__('sys').set_int_max_str_digits(0)\n"

# The trusted check, run after the model's program. The answer's preview is bounded before it
# is made: a listed paper answer is a list of 85,012 ints of 85,012 bits each.
# `sol()` runs first; then any builtins it
# patched are restored and `sat` is rebuilt from its source, so the program cannot change
# what the check means. The type check is exact: True is not an int, 3 is not a float.
CHECK = '''
import builtins as _builtins
_pristine_builtins = dict(_builtins.__dict__)
_answer = sol()
_builtins.__dict__.clear()
_builtins.__dict__.update(_pristine_builtins)

def _has_type(value, type_name):
    if type_name.startswith("List[") and type_name.endswith("]"):
        return type(value) is list and all(_has_type(item, type_name[5:-1]) for item in value)
    return type(value) is {{"int": int, "float": float, "str": str, "bool": bool}}[type_name]

if not _has_type(_answer, {ans_type!r}):
    raise AssertionError("the answer is a " + type(_answer).__name__ + ", not a " + {ans_type!r})
_puzzle = {{}}
exec({sat_program!r}, _puzzle)
if _puzzle["sat"](_answer) is not True:
    raise AssertionError("sat(answer) is not True")

import reprlib as _reprlib


class _Preview(_reprlib.Repr):
    def repr_int(self, value, level):  # a huge int's decimal digits take quadratic time
        bits = value.bit_length()
        return repr(value) if bits <= 1024 else "<int of " + str(bits) + " bits>"


_preview = _Preview()
_preview.maxlist = _preview.maxtuple = 50
_preview.maxstring = _preview.maxother = {preview}
__result__ = _preview.repr(_answer)[:{preview}]
'''


@registry.tasks.register
@dataclass
class P3(BaseTask):
    """The 397 puzzles of the paper's Codex experiments (instance 0 of each template)."""

    name = "p3"
    prompt_styles = (MEDIUM, SHORT, LONG, BOOTSTRAP, CHAT)
    round_styles = (BOOTSTRAP,)
    puzzles_file = "397puzzles.json"

    timeout_s: float = 2.0  # per puzzle of weight 1; heavier puzzles get weight x this
    bootstrap_round_size: int = 32  # attempts per unsolved puzzle in each bootstrap round
    bootstrap_prompt_chars: int = 6000  # the most characters a bootstrap prompt may have

    def __post_init__(self):
        super().__post_init__()
        self._tutorial: list[dict] = []
        self._bootstrap_targets: dict[str, int] = {}  # problem id -> its number in this round's prompt

    # -------------------------------------------------------------- data

    def load(self) -> list[Problem]:
        path = self._data_file(self.puzzles_file)
        records = read_records(self.record_file(path))
        for index, record in enumerate(records):
            require_fields(record, FIELDS, f"{path} record {index + 1}")
            if not _checkable_type(str(record["ans_type"])):
                raise HarnessError(f"{path} record {index + 1}: field ans_type {record['ans_type']!r} is not "
                                   "int, float, str, bool or a List[...] of them")
        self._tutorial = sorted((r for r in records if r["module"] == "tutorial.py"
                                 and r["name"].endswith(":0")), key=lambda r: r["name"])
        return [_problem(r) for r in self._select(records)]

    def _select(self, records: list[dict]) -> list[dict]:
        return records

    def _data_file(self, name: str) -> Path:
        """A release file: in --data-path (a folder, or a puzzles file with split.json next
        to it), else downloaded once into the cache."""
        if self.data_path:
            given = Path(self.data_path)
            path = given / name if given.is_dir() else given
            if name == "split.json" and not given.is_dir():
                path = given.parent / name
            if not path.exists():
                raise HarnessError(f"{path}: P3 data file not found (--data-path {self.data_path})")
            return path
        return download_release_file(name)

    # -------------------------------------------------------------- prompts

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        meta = problem.meta
        if style == SHORT:
            return Prompt(text=prompts.short_prompt(meta["sat"]), stop=[prompts.SHORT_STOP])
        if style in (MEDIUM, LONG):
            docstrings = style == LONG
            prefix = prompts.tutorial_prefix(self._tutorial_puzzles(), docstrings)
            text = prompts.few_shot_prompt(prefix, len(self._tutorial), meta["sat"], meta["sol_header"],
                                           meta["sol_docstring"] if docstrings else None)
            return Prompt(text=text, stop=[prompts.MULTI_LINE_STOP])
        if style == CHAT:
            content = prompts.chat_instruction(meta["sat"], meta["sol_header"], meta["sol_docstring"])
            return Prompt(messages=[{"role": "user", "content": content}])
        if style == BOOTSTRAP:
            raise HarnessError("the bootstrap style runs in rounds: use `codeharness eval`, which "
                               "alternates generation and execution")
        raise HarnessError(f"task {self.name!r} has no prompt style {style!r}; "
                           f"choose one of {', '.join(self.prompt_styles)}")

    def _tutorial_puzzles(self) -> list[dict]:
        if len(self._tutorial) != 5:
            raise HarnessError(f"the medium and long prompts need the five tutorial.py puzzles; "
                               f"the data has {len(self._tutorial)}")
        return self._tutorial

    # -------------------------------------------------------------- answers

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        if style == SHORT:
            line = completion.split(prompts.SHORT_STOP)[0]
            expression = prompts.answer_expression(line)
            if expression is None:  # the call is never closed: keep it open, a syntax error
                return f"{PROGRAM_PREFIX}{prompts.as_f(problem.meta['sat'])}\n\ndef sol():\n    return ({line}\n"
            return self.program(problem, SHORT, expression)
        if style == CHAT:
            return self.program(problem, CHAT, prompts.chat_code(completion))
        # The body calls the target by its number in the prompt (f6); the program names it f.
        target = self._bootstrap_targets[problem.id] if style == BOOTSTRAP else len(self._tutorial) + 1
        body = prompts.rename_word(prompts.rename_word(prompts.function_body(completion), f"f{target}", "f"),
                                   f"g{target}", "g")
        docstring = f"\n{problem.meta['sol_docstring']}" if style == LONG else ""
        return self.program(problem, style, prompts.as_g(problem.meta["sol_header"]) + docstring + body)

    @staticmethod
    def program(problem: Problem, style: str, solution: str) -> str:
        """The program to run for a solution as each style writes it: the answer expression
        (short), the whole `g` function (medium, long, bootstrap) or the code defining `sol`
        (chat)."""
        sat = problem.meta["sat"]
        if style == CHAT:
            return f"{PROGRAM_PREFIX}{sat}\n\n{solution}\n"
        if style == SHORT:
            return f"{PROGRAM_PREFIX}{prompts.as_f(sat)}\n\ndef sol():\n    return ({solution})\n"
        return f"{PROGRAM_PREFIX}{prompts.as_f(sat)}\n\n{solution.rstrip()}\n\nsol = g\n"

    # -------------------------------------------------------------- verification

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        timeout = self.puzzle_timeout(problem)
        check = CHECK.format(ans_type=problem.meta["ans_type"], preview=ANSWER_PREVIEW_CHARS,
                             sat_program=PROGRAM_PREFIX + problem.meta["sat"])
        return Job(job_id, program, [TestCase("sat", check, timeout_s=timeout)], prelude=PRELUDE,
                   program_timeout_s=timeout)

    def puzzle_timeout(self, problem: Problem) -> float:
        return self.timeout_s * max(1.0, float(problem.meta["weight"]))

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        status = outcome.verdict
        details = {"module": problem.meta["module"]}
        if status is Status.PASSED and outcome.tests and outcome.tests[0].value:
            details["answer"] = ast.literal_eval(outcome.tests[0].value)
        return Judgement(status, {"base": status}, details)

    def canonical_program(self, problem: Problem) -> str | None:
        programs = self.reference_programs(problem)
        return programs[0] if programs else None

    def reference_programs(self, problem: Problem) -> list[str]:
        """One program per reference body in the data (some puzzles have several, a few none)."""
        meta = problem.meta
        return [f"{PROGRAM_PREFIX}{meta['sat']}\n\n{meta['sol_header']}\n{meta['sol_docstring']}\n{body}\n"
                for body in meta["sol_bodies"]]

    def scorers(self) -> list[Scorer]:
        return [P3Scorer(), *super().scorers()]

    # -------------------------------------------------------------- bootstrap rounds

    def plan_round(self, problems: list[Problem], generations: list, executions: list,
                   sampling, style: str = BOOTSTRAP) -> list[GenerationRequest]:
        """The next bootstrap round's requests, derived from the run's records alone.

        Round r asks for samples r*size ... (r+1)*size-1 of every puzzle that no sample of an
        earlier round solved. Its prompts show the first solution of each puzzle solved in
        earlier rounds, in an order fixed by the seed, the round and the puzzle. A round is
        planned only once the previous one is executed, so a resumed run rebuilds the same
        prompts; an empty list means the run is complete.
        """
        size = self.bootstrap_round_size
        if size < 1:
            raise HarnessError(f"--bootstrap-round-size must be at least 1, got {size}")
        have = {(g.problem_id, g.sample_index) for g in generations}
        first_pass = first_passing_samples(executions)
        programs = {(g.problem_id, g.sample_index): g.program for g in generations}
        for round_index in range(math.ceil(sampling.n / size)):
            start = round_index * size
            solved = {pid: i for pid, i in first_pass.items() if i < start}
            missing = {p.id: [i for i in range(start, min(sampling.n, start + size)) if (p.id, i) not in have]
                       for p in problems if p.id not in solved}
            if any(missing.values()):
                examples = _solved_examples(problems, solved, programs)
                by_id = {p.id: p for p in problems}
                return [GenerationRequest(pid, self._bootstrap_prompt(by_id[pid], examples, sampling.seed,
                                                                      round_index), indices)
                        for pid, indices in missing.items() if indices]
        return []

    def _bootstrap_prompt(self, problem: Problem, examples: list, seed: int, round_index: int) -> Prompt:
        order = prompts.shuffled(examples, seed, round_index, problem.id)
        text, self._bootstrap_targets[problem.id] = prompts.bootstrap_prompt(
            [(sat, g) for _, sat, g in order], problem.meta["sat"], problem.meta["sol_header"],
            self.bootstrap_prompt_chars)
        return Prompt(text=text, stop=[prompts.MULTI_LINE_STOP])


@registry.tasks.register
@dataclass
class P3All(P3):
    """All 1,715 puzzle instances of the v0.2 dataset."""

    name = "p3_all"
    puzzles_file = "puzzles.json"


@registry.tasks.register
@dataclass
class P3Test228(P3):
    """Instance 0 of each of the 228 test templates of split.json (the ICLR-2023 "test_228")."""

    name = "p3_test228"

    def _select(self, records: list[dict]) -> list[dict]:
        split_path = self._data_file("split.json")
        with open(self.record_file(split_path), encoding="utf-8") as f:
            try:
                test = set(json.load(f)["test"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise HarnessError(f"{split_path}: not a P3 split file with a 'test' list ({exc})") from exc
        chosen = [r for r in records if r["name"].split(":")[0] in test and r["name"].endswith(":0")]
        missing = test - {r["name"].split(":")[0] for r in chosen}
        if missing:
            raise HarnessError(f"{split_path}: test templates not in the puzzles file: "
                               f"{', '.join(sorted(missing)[:5])}")
        return chosen


def _checkable_type(name: str) -> bool:
    """int, float, str, bool, or List[...] of a checkable type."""
    return ANSWER_TYPE.fullmatch(name) is not None and name.count("[") == name.count("]")


def _problem(record: dict) -> Problem:
    meta = {k: record[k] for k in FIELDS if k != "name"}
    return Problem(id=record["name"], prompt=record["sat"], entry_point="sol", meta=meta)


def _solved_examples(problems: list[Problem], solved: dict[str, int],
                     programs: dict) -> list[tuple[str, str, str]]:
    """(problem id, sat, the passing `g` function) of each solved puzzle, sorted by id."""
    by_id = {p.id: p for p in problems}
    examples = []
    for problem_id in sorted(solved):
        program = programs[(problem_id, solved[problem_id])]
        tree = ast.parse(program)
        g = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "g")
        examples.append((problem_id, by_id[problem_id].meta["sat"], ast.get_source_segment(program, g)))
    return examples


def first_passing_samples(executions) -> dict[str, int]:
    """Problem id -> the smallest sample index that passed."""
    first: dict[str, int] = {}
    for execution in executions:
        if execution.status is Status.PASSED:
            index = first.get(execution.problem_id)
            if index is None or execution.sample_index < index:
                first[execution.problem_id] = execution.sample_index
    return first


def download_release_file(name: str) -> Path:
    """A P3 release file from the original repository, fetched once and checked by sha256."""
    relative, sha256 = RELEASE_FILES[name]
    target = cache_dir() / "data" / "p3" / name
    if target.exists() and sha256_file(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(RELEASE + relative, timeout=60) as response:
            partial.write_bytes(response.read())
    except OSError as exc:
        raise HarnessError(f"could not download {RELEASE + relative} ({exc}); pass --data-path "
                           "with a folder holding the P3 release files") from exc
    if sha256_file(partial) != sha256:
        partial.unlink()
        raise HarnessError(f"{RELEASE + relative}: the download does not match its sha256 {sha256}")
    partial.replace(target)
    return target
