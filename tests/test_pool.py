"""The worker pool's protocol with scripted workers (threads speaking the worker's messages):
suites sent once per worker and again when a worker lost one, jobs read lazily from the
caller, jobs sent ahead to a worker, and what happens to them when it dies. The real workers:
tests/test_sandbox_local.py."""

from __future__ import annotations

import os
import threading

import pytest
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job, Outcome, Suite
from codeharness.sandbox.jobs import TestCase as Case
from codeharness.sandbox.pool import JobQueue, WorkerPool
from codeharness.sandbox.worker import read_message, write_message


class ScriptedWorker:
    """Answers jobs like a worker: each test passes; a job named `die*` kills it (it answers
    nothing more); it forgets its suites when told to (`forget`)."""

    def __init__(self, log: list):
        self.log = log
        jobs_read, jobs_write = os.pipe()
        answers_read, answers_write = os.pipe()
        self.stdin = os.fdopen(jobs_write, "wb")
        self.stdout = os.fdopen(answers_read, "rb")
        self._jobs = os.fdopen(jobs_read, "rb")
        self._answers = os.fdopen(answers_write, "wb")
        self.suites: set[str] = set()
        self.forget = False
        write_message(self._answers, {"ready": True})
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while (message := read_message(self._jobs)) is not None:
            if isinstance(message.get("suite"), dict):
                self.suites.add(message["suite"]["id"])
                self.log.append(("suite", id(self), message["suite"]["id"]))
                continue
            self.log.append(("job", id(self), message["id"]))
            if self.forget:
                self.suites.clear()
                self.forget = False
            if message["suite"] is not None and message["suite"] not in self.suites:
                write_message(self._answers, {"job_id": message["id"], "missing_suite": message["suite"]})
                continue
            if message["id"].startswith("die"):
                self._answers.close()
                return
            write_message(self._answers, Outcome(message["id"], Status.PASSED).__dict__
                          | {"status": "passed", "tests": []})

    def should_retire(self, outcome) -> bool:
        return False

    def stop(self) -> None:
        for stream in (self.stdin, self._answers):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def pool():
    log: list = []
    workers: list[ScriptedWorker] = []

    def start(slot: int) -> ScriptedWorker:
        workers.append(ScriptedWorker(log))
        return workers[-1]

    made = WorkerPool(start, 1)
    made.log, made.started = log, workers
    yield made
    made.close()


SUITE = Suite([Case("t", "assert f(1) == 2")], setup="x = 1")


def test_a_suite_goes_once_to_a_worker_and_again_when_it_lost_it(pool):
    jobs = [SUITE.job(f"j{i}", "def f(x): return x + 1") for i in range(5)]
    assert {o.job_id: o.status for o in pool.run(jobs)} == {j.id: Status.PASSED for j in jobs}
    assert [entry[0] for entry in pool.log].count("suite") == 1
    pool.started[0].forget = True  # as after too many suites
    assert [o.status for o in pool.run([SUITE.job("k", "")])] == [Status.PASSED]
    assert [entry[0] for entry in pool.log].count("suite") == 2


def test_jobs_are_read_as_they_are_needed(pool):
    first_done = threading.Event()

    def jobs():
        yield Job("first", "", [])
        assert first_done.wait(30), "the second job was read before the first one's outcome"
        yield Job("second", "", [])

    seen = []
    for outcome in pool.run(jobs()):
        seen.append(outcome.job_id)
        first_done.set()
    assert seen == ["first", "second"]


def test_the_job_that_killed_its_worker_is_a_sandbox_error_and_the_next_runs_again(pool):
    jobs = [Job("a", "", []), Job("die", "", []), Job("b", "", []), Job("c", "", [])]
    outcomes = {o.job_id: o for o in pool.run(jobs)}
    assert outcomes["die"].status is Status.SANDBOX_ERROR
    assert all(outcomes[name].status is Status.PASSED for name in "abc")
    assert len(pool.started) == 2  # a new worker after the death


def test_an_error_of_the_callers_jobs_reaches_the_caller(pool):
    def jobs():
        yield Job("a", "", [])
        raise ValueError("no more jobs")

    with pytest.raises(ValueError, match="no more jobs"):
        list(pool.run(jobs()))


def test_a_worker_takes_the_suite_it_has_then_one_nobody_is_on():
    queue = JobQueue()
    one, two = Suite([Case("a", "pass")]), Suite([Case("b", "pass")])
    for job in [one.job("1a", ""), two.job("2a", ""), one.job("1b", ""), two.job("2b", "")]:
        queue.put(job)
    queue.close()
    assert queue.take({two.id}, None).id == "2a"  # the suite it has
    assert queue.take(set(), None).id == "1a"  # the oldest suite nobody is on
    assert queue.take(set(), two.id).id == "2b"  # the suite it ran last
    assert queue.take(set(), two.id).id == "1b"
    assert queue.take(set(), None) is None
