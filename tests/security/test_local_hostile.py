"""Hostile programs through the local sandbox, as CI runs it: as root (programs run as an
unprivileged user) inside bubblewrap.

Each case asserts its outcome class; then that the harness keeps going (a right and a wrong
program get their verdicts on the same worker, in a clean folder), that the host is untouched
(files, the run directory, a loopback server), and that nothing is left running: the sandbox's
processes are its bwrap wrappers and idle workers only. Without bubblewrap, the cases about
processes and forged reports still hold (the file and network cases do not: README, Security).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job
from codeharness.sandbox.jobs import TestCase as Case
from codeharness.sandbox.local import SANDBOX_UIDS, LocalSandbox
from codeharness.sandbox.worker import CHILD_FAILED, OUTPUT_LIMIT

from tests.security.hostile import (
    IN_PROCESS_FORGERY,
    REPO,
    canary_jobs,
    hostile_cases,
)

HOST_FILES = ("/etc/hostname", "/etc/passwd", str(REPO / "sandbox" / "worker.py"))
WITHOUT_BWRAP = ("fork bomb", "CPU loop ignoring SIGTERM", "kills pid 1 and the worker",
                 "daemonized grandchild", "os._exit(0) before the assertions",
                 "fake results on every inherited descriptor",
                 "unsigned start, program and test reports on every descriptor",
                 "monkey-patched builtins",
                 "monkey-patched harness functions", "monkey-patched os.write")


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    parents = [pid]
    while parents:
        children = []
        for parent in parents:
            try:
                for thread in os.listdir(f"/proc/{parent}/task"):
                    children += Path(f"/proc/{parent}/task/{thread}/children").read_text().split()
            except OSError:
                pass
        parents = [int(child) for child in children]
        found.update(parents)
    return found


def stray_processes(before: set[int]) -> list[str]:
    """Processes this test started other than bwrap wrappers, idle workers, and the one
    idle template of each worker (a prepared copy that becomes the next job's child)."""
    ours = descendants(os.getpid()) - before
    workers = {pid for pid in ours if _is_worker(pid) and (_parent(pid) == os.getpid()
                                                             or _is_bwrap(_parent(pid)))}
    templates = {pid for pid in ours if _is_worker(pid) and _parent(pid) in workers}
    stray = []
    for pid in ours - {pid for pid in ours if _is_bwrap(pid)}:
        try:
            uid = int(Path(f"/proc/{pid}/status").read_text().split("\nUid:")[1].split()[0])
        except OSError:
            continue  # gone meanwhile
        idle = descendants(pid) <= templates if pid in workers else not descendants(pid)
        if uid in SANDBOX_UIDS or pid not in workers | templates or not idle:
            stray.append(f"{pid} uid {uid}: {_command(pid)[:100]!r}")
    if len(templates) > len(workers):
        stray.append(f"{len(templates)} templates for {len(workers)} workers")
    return stray


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/status").read_text().split("\nPPid:")[1].split()[0])
    except OSError:
        return 0


def _is_worker(pid: int) -> bool:
    return b"worker.py" in _command(pid) and not _is_bwrap(pid)


def _is_bwrap(pid: int) -> bool:
    return os.path.basename(_command(pid).split(b"\0")[0]) == b"bwrap"


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def open_box(bwrap: bool):
    """One worker, so the canaries run where the hostile program ran; after closing, none of
    the sandbox's processes and scratch folders remain."""
    assert shutil.which("bwrap"), "bubblewrap (Debian package bubblewrap) must be installed"
    before = descendants(os.getpid())
    scratch_before = set(Path("/dev/shm").iterdir())
    with LocalSandbox(workers=1, bwrap=bwrap) as box:
        yield box, before
    assert stray_processes(before) == [] and descendants(os.getpid()) <= before
    assert set(Path("/dev/shm").iterdir()) <= scratch_before


@pytest.fixture(scope="module")
def box():
    yield from open_box(bwrap=True)


@pytest.fixture(scope="module")
def box_without_bwrap():
    yield from open_box(bwrap=False)


def check_contained(box, before, case, server, run_dir) -> None:
    host = {path: digest(path) for path in HOST_FILES}
    run_files = sorted(run_dir.iterdir())

    [outcome] = box.run([case.job()])

    assert outcome.verdict in case.expected, (outcome.verdict, outcome.message, outcome.tests,
                                              outcome.stderr[-2000:])
    assert len(outcome.stdout) <= OUTPUT_LIMIT and len(outcome.stderr) <= OUTPUT_LIMIT
    if case.leaves_processes:
        assert outcome.leftover_processes >= 1
    verdicts = {o.job_id: o for o in box.run(canary_jobs())}
    assert verdicts["right"].verdict is Status.PASSED, verdicts["right"].tests
    assert verdicts["right"].exit_code == 0
    assert verdicts["wrong"].verdict is Status.FAILED, verdicts["wrong"].tests
    assert stray_processes(before) == []
    assert {path: digest(path) for path in HOST_FILES} == host
    assert sorted(run_dir.iterdir()) == run_files
    assert server.accepted == 0


CASES = [pytest.param(case.name, marks=pytest.mark.xfail(strict=True, reason=IN_PROCESS_FORGERY))
         if case.forges_in_process else case.name for case in hostile_cases(Path("/"), 0)]


@pytest.mark.parametrize("name", CASES)
def test_hostile_program_is_contained(name, box, server, run_dir):
    # Under bubblewrap /tmp is the worker's own, emptied after every job: the programs' to write.
    case = next(c for c in hostile_cases(run_dir, server.port, writable="/tmp") if c.name == name)
    check_contained(*box, case, server, run_dir)


@pytest.mark.parametrize("name", WITHOUT_BWRAP)
def test_hostile_program_is_contained_without_bwrap(name, box_without_bwrap, server, run_dir):
    case = next(c for c in hostile_cases(run_dir, server.port) if c.name == name)
    check_contained(*box_without_bwrap, case, server, run_dir)


def test_a_prelude_that_raises_is_a_sandbox_error(box):
    """The prelude is the task's own code: when it fails, the job cannot be judged."""
    sandbox, _ = box
    job = Job("prelude", "def f(x): return x + 1", [Case("t", "assert f(1) == 2")],
              prelude="raise RuntimeError('broken prelude')")
    [outcome] = sandbox.run([job])
    assert outcome.status is Status.SANDBOX_ERROR and outcome.exception_type == "WorkerChildFailed"
    assert "broken prelude" in outcome.message and outcome.exit_code == CHILD_FAILED
