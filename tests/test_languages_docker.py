"""The Docker sandbox runs every language its image's recipe installs, with the verdicts of the
local sandbox (tests/test_languages.py has the programs), and HumanEval-X's and MultiPL-E's
programs through it; network-free and without what a job leaves."""

from __future__ import annotations

import socket

import pytest

from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job
from codeharness.tasks import create_task
from tests.test_languages import C_FORK_AND_LEAVE, C_FORGE, NOT_COMPILING, PROGRAMS, WRONG

pytestmark = pytest.mark.docker

# Connects to the port on stdin of the host's loopback, where the test listens.
C_CONNECTS = r'''
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
int main(void) {
    int port = 0;
    if (scanf("%d", &port) != 1) return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons(port); inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    return connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : 1;  /* 0: it reached the host */
}
'''


@pytest.fixture(scope="module")
def host_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture(scope="module")
def outcomes(docker_sandbox, host_port):
    jobs = []
    for language, (program, options) in PROGRAMS.items():
        jobs.append(Job(f"{language}/right", program, [], language=language, program_timeout_s=60, **options))
        before, after = WRONG[language]
        jobs.append(Job(f"{language}/wrong", program.replace(before, after), [], language=language,
                        program_timeout_s=60, **options))
    jobs += [Job("cpp/not-compiling", NOT_COMPILING["cpp"], [], language="cpp"),
             Job("leaves-a-process", C_FORK_AND_LEAVE, [], language="c"),
             Job("forges", C_FORGE, [], language="c"),
             Job("connects", C_CONNECTS, [], language="c", stdin=f"{host_port}\n")]
    return {o.job_id: o for o in docker_sandbox.run(jobs)}


def test_the_image_offers_every_language(docker_sandbox):
    for language in (*PROGRAMS, "java:javatuples", "go:testify", "rust:regex", "rust:rand", "rust:md5"):
        assert language in docker_sandbox.languages, (language, docker_sandbox.languages)


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_right_and_wrong_programs_as_in_the_local_sandbox(outcomes, language):
    assert outcomes[f"{language}/right"].verdict is Status.PASSED, outcomes[f"{language}/right"]
    assert outcomes[f"{language}/wrong"].verdict in (Status.FAILED, Status.ERROR)


def test_containment(outcomes):
    assert outcomes["cpp/not-compiling"].status is Status.COMPILE_ERROR
    assert outcomes["leaves-a-process"].leftover_processes >= 1
    assert outcomes["forges"].verdict is not Status.PASSED
    assert outcomes["connects"].status is not Status.PASSED  # no network


def test_benchmark_programs_run_in_docker(docker_sandbox, test_data):
    jobs, where = [], {}
    for language in ("cpp", "go", "java", "js", "rust"):
        task = create_task(f"humaneval_x_{language}",
                           data_path=str(test_data / "humaneval-x" / f"humaneval_{language}.jsonl.gz"))
        problem = task.load()[0]
        jobs.append(task.build_job(problem, problem.canonical_solution, problem.id))
        where[problem.id] = (task, problem)
    results = {o.job_id: where[o.job_id][0].judge(where[o.job_id][1], o).status
               for o in docker_sandbox.run(jobs)}
    assert set(results.values()) == {Status.PASSED}, results
