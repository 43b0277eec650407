"""The matrix stage: every distinct solution of a problem against every generated test.

One sandbox job per solution runs its program once and each test in a copy of its
namespace with its own timeout, every test run even after failures (fail_fast off), and a
crash or hang charged to that test alone. matrix.jsonl holds one line per distinct
solution (candidate): its sample indices, the test ids in order, pass (1) or not (0) per
test, and its ground-truth correctness per test group from the task's hidden tests
(executions.jsonl, which this stage completes first). Lines are keyed by (problem,
program hash), so a killed stage resumes with what is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from codeharness.core.errors import HarnessError
from codeharness.core.progress import progress_bar
from codeharness.core.records import Execution, Problem, Status, from_dict, to_dict
from codeharness.core.rundir import JsonlLog, RunDir
from codeharness.pipeline import stages as pipeline
from codeharness.pipeline.runfiles import MATRIX, claim_section
from codeharness.pipeline.testgen import GeneratedTest, problem_tests
from codeharness.sandbox.jobs import Job, Outcome, TestCase

ROW_FIELDS = ("problem_id", "candidate", "program_sha256", "sample_indices", "program_status",
              "test_ids", "passes", "correct")


@dataclass
class MatrixSettings:
    test_timeout_s: float = 1.0


@dataclass
class Candidate:
    """A distinct program among a problem's samples."""

    problem_id: str
    index: int  # order of first appearance among the samples
    program: str
    sample_indices: list[int]

    @property
    def program_sha256(self) -> str:
        return program_hash(self.program)


@dataclass
class MatrixRow:
    """One line of matrix.jsonl: a distinct program of a problem against its generated tests."""

    problem_id: str
    candidate: int
    program_sha256: str
    sample_indices: list[int]
    program_status: Status  # of the program itself: PASSED when it loaded
    test_ids: list[str]
    passes: list[int]  # 1 where the program passed that test
    correct: dict[str, bool]  # per hidden test group (the task's own tests)
    program_error: str = ""
    test_statuses: dict[str, int] = field(default_factory=dict)
    wall_time_s: float = 0.0


@dataclass
class ProblemMatrix:
    problem_id: str
    candidates: np.ndarray  # (candidates,) int: each row's candidate index
    test_ids: list[str]
    passes: np.ndarray  # (candidates, tests) bool
    runnable: np.ndarray  # (candidates,) bool: the program itself loaded
    correct: dict[str, np.ndarray]  # ground-truth test group -> (candidates,) bool

    def rows(self, keep: np.ndarray) -> "ProblemMatrix":
        return ProblemMatrix(self.problem_id, self.candidates[keep], self.test_ids,
                             self.passes[keep], self.runnable[keep],
                             {g: c[keep] for g, c in self.correct.items()})


def program_hash(program: str) -> str:
    return hashlib.sha256(program.strip().encode()).hexdigest()


def matrix_log(run: RunDir) -> JsonlLog:
    return JsonlLog(run.path / MATRIX, lambda r: (r["problem_id"], r["program_sha256"]))


def distinct_candidates(run: RunDir, problems: list[Problem]) -> dict[str, list[Candidate]]:
    """Each problem's distinct programs (equal after stripping outer whitespace)."""
    by_problem: dict[str, dict[str, Candidate]] = {p.id: {} for p in problems}
    generations = sorted((g for g in run.generations() if g["problem_id"] in by_problem),
                         key=lambda g: g["sample_index"])
    for generation in generations:
        seen = by_problem[generation["problem_id"]]
        key = program_hash(generation["program"])
        if key not in seen:
            seen[key] = Candidate(generation["problem_id"], len(seen), generation["program"], [])
        seen[key].sample_indices.append(generation["sample_index"])
    return {pid: list(seen.values()) for pid, seen in by_problem.items()}


def build_matrix(run: RunDir, task, problems: list[Problem], sandbox, settings: MatrixSettings,
                 overwrite: bool = False) -> None:
    """Complete the ground truth and the matrix: only what is missing is run."""
    tests = problem_tests(run, problems)
    claim_section(run, "matrix", asdict(settings), overwrite)
    pipeline.execute(run, task, problems, sandbox)
    truth = {(e.problem_id, e.sample_index): e.groups
             for e in (from_dict(Execution, record) for record in run.executions())}
    log = matrix_log(run)
    pending = {f"{c.problem_id}#{c.program_sha256[:16]}": c
               for candidates in distinct_candidates(run, problems).values() for c in candidates
               if (c.problem_id, c.program_sha256) not in log}
    if not pending:
        return
    jobs = [_job(job_id, c, tests[c.problem_id], settings) for job_id, c in pending.items()]
    with progress_bar("pass matrix", len(jobs)) as advance:
        for outcome in sandbox.run(jobs):
            candidate = pending[outcome.job_id]
            ground_truth = truth[(candidate.problem_id, candidate.sample_indices[0])]
            log.append(to_dict(_row(candidate, tests[candidate.problem_id], outcome, ground_truth)))
            advance()


def _job(job_id: str, candidate: Candidate, tests: list[GeneratedTest],
         settings: MatrixSettings) -> Job:
    cases = [TestCase(t.id, t.code, group="generated", timeout_s=settings.test_timeout_s)
             for t in tests]
    return Job(job_id, candidate.program, cases, fail_fast=False)


def _row(candidate: Candidate, tests: list[GeneratedTest], outcome: Outcome,
         ground_truth: dict[str, Status]) -> MatrixRow:
    status = {t.name: t.status for t in outcome.tests}
    return MatrixRow(
        problem_id=candidate.problem_id,
        candidate=candidate.index,
        program_sha256=candidate.program_sha256,
        sample_indices=candidate.sample_indices,
        program_status=outcome.status,
        program_error=" ".join(filter(None, (outcome.exception_type, outcome.message)))[:300],
        test_ids=[t.id for t in tests],
        passes=[int(status.get(t.id) is Status.PASSED) for t in tests],
        test_statuses=dict(Counter(s.value for s in status.values())),
        correct={group: verdict is Status.PASSED for group, verdict in ground_truth.items()},
        wall_time_s=round(outcome.wall_time_s, 4),
    )


def load_matrices(run: RunDir, problems: list[Problem]) -> dict[str, ProblemMatrix]:
    """Each problem's finished matrix, rows in candidate order."""
    path = run.path / MATRIX
    expected = {pid: len(c) for pid, c in distinct_candidates(run, problems).items()}
    rows: dict[str, list[tuple[int, MatrixRow]]] = {pid: [] for pid in expected}
    if path.exists():
        with open(path, encoding="utf-8") as f:
            for line_number, line in enumerate(f, start=1):
                row = _checked_row(line, f"{path}:{line_number}")
                if row.problem_id in rows:
                    rows[row.problem_id].append((line_number, row))
    unfinished = sorted(pid for pid, n in expected.items() if len(rows[pid]) != n)
    if unfinished:
        raise HarnessError(f"{path}: the pass matrix is unfinished for {len(unfinished)} problem(s) "
                           f"(first: {unfinished[0]}); run `codeharness matrix {run.path}`")
    return {pid: _problem_matrix(pid, numbered, path) for pid, numbered in rows.items()}


def _checked_row(line: str, where: str) -> MatrixRow:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise HarnessError(f"{where}: not a JSON record ({exc})") from exc
    missing = [name for name in ROW_FIELDS if name not in data]
    if missing:
        raise HarnessError(f"{where}: missing field(s) {', '.join(missing)}")
    if len(data["passes"]) != len(data["test_ids"]) or not set(data["passes"]) <= {0, 1}:
        raise HarnessError(f"{where}: field passes must hold one 0 or 1 per test id")
    try:
        return from_dict(MatrixRow, data)
    except ValueError as exc:
        raise HarnessError(f"{where}: field program_status: {exc}") from exc


def _problem_matrix(problem_id: str, numbered: list[tuple[int, MatrixRow]], path) -> ProblemMatrix:
    numbered.sort(key=lambda item: item[1].candidate)
    test_ids = numbered[0][1].test_ids if numbered else []
    for line_number, row in numbered:
        if row.test_ids != test_ids:
            raise HarnessError(f"{path}:{line_number}: field test_ids differs from the other rows "
                               f"of problem {problem_id}")
    rows = [row for _, row in numbered]
    groups = sorted({g for row in rows for g in row.correct})
    return ProblemMatrix(
        problem_id=problem_id,
        candidates=np.array([row.candidate for row in rows], dtype=np.intp),
        test_ids=test_ids,
        passes=np.array([row.passes for row in rows], dtype=bool).reshape(len(rows), len(test_ids)),
        runnable=np.array([row.program_status is Status.PASSED for row in rows], dtype=bool),
        correct={g: np.array([bool(row.correct.get(g)) for row in rows], dtype=bool) for g in groups},
    )
