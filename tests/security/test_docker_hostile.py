"""Hostile programs through the Docker sandbox.

Each case asserts its outcome class; then that the harness keeps going (a correct and a wrong
program get their right verdicts in the same pool, in a clean /tmp), that the host is
untouched, and that nothing is left running: every container of the pool runs only its
worker, and once the pool closes no container and no process of the sandbox's users remains.
Where a program probes its confinement (writes, reads, connections), it records what it saw
and the case's test asserts, from inside, that every attempt failed.
"""

import hashlib
import os
import re
from pathlib import Path

import pytest
from codeharness.core.records import Status
from codeharness.sandbox.docker import POOL_LABEL, DockerSandbox, connect
from codeharness.sandbox.jobs import Job
from codeharness.sandbox.jobs import TestCase as Case
from codeharness.sandbox.worker import OUTPUT_LIMIT

from tests.security import hostile as catalogue

pytestmark = pytest.mark.docker

REPO = catalogue.REPO


def all_cases(run_dir: Path, port: int) -> list[catalogue.Hostile]:
    """The shared catalogue; a container's /tmp is its programs' to write (emptied after each
    job, checked by the canary)."""
    return catalogue.hostile_cases(run_dir, port, writable="/tmp")


CANARY = """
import os
def f(x): return x + 1
left_in_tmp = sorted(set(os.listdir("/tmp")) - {os.path.basename(os.getcwd())})
tmp = os.statvfs("/tmp")
"""
CANARY_TESTS = ["assert f(1) == 2", "assert left_in_tmp == [], left_in_tmp",
                "assert tmp.f_bavail > 0.99 * tmp.f_blocks"]


@pytest.fixture(scope="module")
def box():
    """One worker, so the canaries run in the container the hostile program had (unless it
    was replaced); checks after closing that nothing of the pool remains."""
    sandbox = DockerSandbox(workers=1)
    with sandbox:
        yield sandbox
    assert pool_containers(sandbox) == []
    assert container_processes_without_container() == []


@pytest.fixture(scope="module")
def idle_processes(box) -> int:
    """How many processes a container runs between jobs (the worker's own)."""
    list(box.run([Job("warm", "", [])]))
    return container_processes(box)


def container_processes(box) -> int:
    [container] = pool_containers(box)
    return len(connect().containers.get(container.id).top()["Processes"])


def pool_containers(box) -> list:
    return connect().containers.list(all=True, sparse=True,
                                     filters={"label": f"{POOL_LABEL}={box.pool_id}"})


def container_processes_without_container() -> list[int]:
    """Host processes in the cgroup of a container that no longer exists."""
    live = {c.id for c in connect().containers.list(all=True, sparse=True)}
    orphans = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cgroups = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            continue
        if set(re.findall(r"/docker/([0-9a-f]{64})", cgroups)) - live:
            orphans.append(int(pid))
    return orphans


def file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


CASES = [pytest.param(case.name, marks=pytest.mark.xfail(strict=True, reason=catalogue.IN_PROCESS_FORGERY))
         if case.forges_in_process else case.name for case in all_cases(Path("/"), 0)]


@pytest.mark.parametrize("name", CASES)
def test_hostile_program_is_contained(name, box, idle_processes, server, run_dir):
    case = next(c for c in all_cases(run_dir, server.port) if c.name == name)
    host_files = {path: file_digest(path) for path in
                  ("/etc/hostname", "/etc/passwd", REPO / "sandbox" / "worker.py")}
    [outcome] = box.run([case.job()])

    assert outcome.verdict in case.expected, (outcome.verdict, outcome.tests, outcome.message,
                                              outcome.stderr[-2000:])
    assert len(outcome.stdout) <= OUTPUT_LIMIT and len(outcome.stderr) <= OUTPUT_LIMIT
    canaries = [Job("right", CANARY, [Case(f"t{i}", c) for i, c in enumerate(CANARY_TESTS)]),
                Job("wrong", "def f(x): return x", [Case("t", "assert f(1) == 2")])]
    verdicts = {o.job_id: (o.verdict, o.tests) for o in box.run(canaries)}
    assert verdicts["right"][0] is Status.PASSED, verdicts["right"]
    assert verdicts["wrong"][0] is Status.FAILED, verdicts["wrong"]
    assert {path: file_digest(path) for path in host_files} == host_files
    assert server.accepted == 0
    assert list(run_dir.iterdir()) == [run_dir / "generations.jsonl"]
    assert container_processes(box) == idle_processes


def test_a_leftover_process_gets_its_container_replaced(box):
    grandchild = next(c for c in all_cases(Path("/"), 0) if c.name == "daemonized grandchild")
    identify = Job("id", "", [Case("id", "__result__ = open('/proc/self/cgroup').read()")])
    [before] = box.run([identify])
    [outcome] = box.run([Job("grandchild", grandchild.program, [Case("t", "assert f(1) == 2")])])
    [after] = box.run([identify])
    assert outcome.verdict is Status.PASSED and outcome.leftover_processes >= 1
    assert before.tests[0].value != after.tests[0].value
