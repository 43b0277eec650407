"""Host side of the worker protocol: a pool of workers that run jobs in parallel.

A sandbox backend only says how to start one worker (a local subprocess, a container, ...)
and returns a `WorkerHandle`; the pool dispatches jobs, replaces workers that die or that a
backend wants recycled, and turns every failure into a SANDBOX_ERROR outcome so a run never
stops because one job broke the sandbox.

With a probe (sandbox/probe.py), `start()` starts every worker and has each run an empty job
(so what a job's cleanup breaks shows at once) and then a share of the environment probe; each
worker runs the probe again after its 1st, 10th, 100th, ... job. A failed probe is
not an outcome: it stops the run with a HarnessError, since later verdicts would be wrong.

Jobs are read from the caller's iterable as workers need them (at most LOOKAHEAD waiting), so
a caller may feed jobs while they run: samples as a model writes them. A job with a suite
(sandbox/jobs.py) goes preferably to a worker that has its suite: each worker takes the next
job of the suite it ran last, else of a suite it has that no other worker is on, else the
oldest such suite; the suite itself is sent to a worker once, before its first job there (again
when the worker answers that it no longer has it).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job, Outcome
from codeharness.sandbox.probe import PROBE_ID, VERIFIED, Probe, summary
from codeharness.sandbox.worker import encode_message, read_message, write_encoded


class MessageSink(Protocol):
    def write(self, data: bytes, /) -> int | None: ...

    def flush(self) -> None: ...


class MessageSource(Protocol):
    def read(self, size: int, /) -> bytes: ...


class WorkerHandle(Protocol):
    """One running worker: its message streams, and how to stop it."""

    @property
    def stdin(self) -> MessageSink: ...

    @property
    def stdout(self) -> MessageSource: ...

    def should_retire(self, outcome: Outcome) -> bool:
        """True when this worker must be replaced after the outcome (crash, leftovers, ...)."""

    def stop(self) -> None: ...


LOOKAHEAD = 256  # jobs read from the caller's iterable ahead of the workers
PIPELINE = 2  # jobs sent to a worker ahead of its answers
# A message sent ahead of an answer waits in the pipe while the worker, writing that answer,
# does not read: it must fit the pipe's buffer (64 KiB on Linux), or each side would wait for
# the other. A larger one (a problem's suite, a long program) goes when no answer is due.
SEND_AHEAD_BYTES = 16 * 1024


def _sandbox_error(job: Job, exc: Exception) -> Outcome:
    return Outcome(job.id, Status.SANDBOX_ERROR, exception_type=type(exc).__name__, message=str(exc))


class JobQueue:
    """Jobs waiting for a worker, grouped by suite in the order they came (see the module's
    docstring for which a worker takes); `put` waits while `limit` of them wait."""

    def __init__(self, limit: int = LOOKAHEAD):
        self.limit = limit
        self._groups: dict[str | None, deque[Job]] = {}  # by suite id (None: no suite)
        self._on: dict[str | None, int] = {}  # how many workers last took from each suite
        self._waiting = 0
        self._closed = False  # no more jobs will come
        self._stopped = False  # the run was abandoned
        self._changed = threading.Condition()

    def put(self, job: Job) -> bool:
        """Queue a job; False when the run was abandoned meanwhile."""
        with self._changed:
            while self._waiting >= self.limit and not self._stopped:
                self._changed.wait()
            if self._stopped:
                return False
            key = job.suite.id if job.suite is not None else None
            self._groups.setdefault(key, deque()).append(job)
            self._waiting += 1
            self._changed.notify_all()
            return True

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def take(self, held: Container[str], last: str | None, wait: bool = True) -> Job | None:
        """The next job for a worker that holds these suites and ran `last`'s job last; None
        once every job is taken and no more come, or the run was abandoned, or (wait=False)
        when none waits now."""
        with self._changed:
            while not self._stopped:
                if self._groups:
                    key = self._choose(held, last)
                    jobs = self._groups[key]
                    job = jobs.popleft()
                    if not jobs:
                        del self._groups[key]
                    if key != last:
                        self._on[last] = self._on.get(last, 1) - 1
                        self._on[key] = self._on.get(key, 0) + 1
                    self._waiting -= 1
                    self._changed.notify_all()
                    return job
                if self._closed or not wait:
                    return None
                self._changed.wait()
            return None

    def _choose(self, held: Container[str], last: str | None) -> str | None:
        if last in self._groups:
            return last
        free = [key for key in self._groups if not self._on.get(key)]
        for key in free:
            if key is None or key in held:
                return key
        for key in self._groups:
            if key is None or key in held:
                return key
        return free[0] if free else next(iter(self._groups))


class WorkerPool:
    def __init__(self, start_worker: Callable[[int], WorkerHandle], size: int,
                 probe: Probe | None = None,
                 explain: Callable[[dict], str] = lambda report: "", name: str = ""):
        self._start_worker = start_worker
        self.size = size
        self._probe = probe
        self._explain = explain  # why a probe failed and what to do, from the sandbox
        self.name = f"the {name} sandbox" if name else "the sandbox"
        self._workers: dict[int, WorkerHandle] = {}
        self.handshakes: dict[int, dict] = {}  # each worker's first message
        self._jobs_done: dict[int, int] = {}  # by the current worker of each slot
        self._suites: dict[int, set[str]] = {}  # the suites sent to each slot's worker
        self._probes_done: dict[int, int] = {}  # in each slot: which share comes next
        self._lock = threading.Lock()
        # One user of a worker at a time: a run abandoned mid-job (its caller took what it
        # needed) may still be finishing that job when the next run starts.
        self._slot_locks = [threading.RLock() for _ in range(size)]
        self._closed = False
        # Workers die with the thread that started them (PR_SET_PDEATHSIG, bwrap's
        # --die-with-parent), so one long-lived thread starts them all, not the per-run threads.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-spawner")

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        """Run jobs on all workers; yield outcomes in completion order. Jobs are read from
        the iterable as they are needed, in a thread of the pool's.

        Abandoning the iterator (an error or Ctrl-C in the caller) stops the serving threads
        after their current job and stops reading jobs; `close()` stops the workers."""
        todo = JobQueue()
        done: queue.SimpleQueue = queue.SimpleQueue()
        feeder = threading.Thread(target=self._feed, args=(jobs, todo, done), daemon=True)
        threads = [threading.Thread(target=self._serve, args=(slot, todo, done), daemon=True)
                   for slot in range(self.size)]
        feeder.start()
        for thread in threads:
            thread.start()
        total, received = None, 0
        try:
            while total is None or received < total:
                outcome = done.get()
                if isinstance(outcome, BaseException):
                    raise outcome
                if isinstance(outcome, int):  # every job was read: how many there are
                    total = outcome
                    continue
                received += 1
                yield outcome
        finally:
            todo.stop()
        for thread in threads:
            thread.join()

    @staticmethod
    def _feed(jobs: Iterable[Job], todo: JobQueue, done: queue.SimpleQueue) -> None:
        count = 0
        try:
            for job in jobs:
                if not todo.put(job):
                    return
                count += 1
        except BaseException as exc:  # noqa: BLE001 - the caller's iterable failed: its error
            done.put(exc)
            return
        finally:
            todo.close()
        done.put(count)

    def _serve(self, slot: int, todo: JobQueue, done: queue.SimpleQueue) -> None:
        """Keep the slot's worker fed: up to PIPELINE jobs sent ahead (it starts the next one
        as soon as it answers), answers read in order. When the worker dies, the job it was
        running is a sandbox error and the ones sent after it run on its successor."""
        last: str | None = None
        inflight: deque[tuple[Job, bool]] = deque()  # (job, its suite was sent again for it)
        again: deque[Job] = deque()  # to send first: not run by a worker that went, or too
        resent: set[str] = set()  # large to go ahead; jobs whose suite the worker lost
        with self._slot_locks[slot]:
            while True:
                while len(inflight) < PIPELINE and self._may_send(slot, len(inflight)):
                    if again and not todo.stopped:
                        job: Job | None = again.popleft()
                    else:
                        job = todo.take(self._suites.get(slot, ()), last, wait=not inflight)
                    if job is None:
                        break
                    last = job.suite.id if job.suite is not None else None
                    try:
                        sent = self._send(slot, job, ahead=bool(inflight))
                    except Exception as exc:  # noqa: BLE001 - no worker, or a broken pipe
                        if inflight:  # the job before it broke the worker: this one runs again
                            again.append(job)
                            break
                        self._retire(slot)
                        done.put(_sandbox_error(job, exc))
                        continue
                    if not sent:  # too large to go ahead of an answer: next, once none is due
                        again.appendleft(job)
                        break
                    inflight.append((job, job.id in resent))
                if not inflight:
                    return
                job, was_resent = inflight.popleft()
                outcome = self._receive(slot, job, was_resent)
                if outcome is None:  # its suite went: the two are sent again
                    again.append(job)
                    resent.add(job.id)
                    continue
                if slot not in self._workers:  # retired after it: the rest go to the next
                    again.extend(j for j, _ in inflight)
                    inflight.clear()
                try:  # before the outcome goes out: the caller may start the next run then
                    self._probe_after_job(slot)
                except HarnessError as exc:
                    done.put(outcome)
                    done.put(exc)
                    return
                done.put(outcome)

    def _may_send(self, slot: int, inflight: int) -> bool:
        """Whether another job may go to the slot's worker now: the worker's probe after its
        1st, 10th, 100th, ... job runs with no job sent ahead."""
        if self._probe is None:
            return True
        done = self._jobs_done.get(slot, 0) if slot in self._workers else 0
        return done + inflight < (10 ** len(str(done)) if done else 1)

    def _send(self, slot: int, job: Job, ahead: bool) -> bool:
        """Send the job to the slot's worker (started if needed), its suite first where that
        worker lacks it; `ahead` of an answer still due, only if it fits SEND_AHEAD_BYTES
        (False: nothing was sent)."""
        worker = self._worker(slot)
        suite = job.suite if job.suite is not None and job.suite.id not in self._suites[slot] else None
        payloads = [encode_message(message) for message in
                    ([{"suite": suite.to_wire()}] if suite is not None else []) + [job.to_wire()]]
        if ahead and sum(map(len, payloads)) > SEND_AHEAD_BYTES:
            return False
        for payload in payloads:
            write_encoded(worker.stdin, payload)
        if suite is not None:
            self._suites[slot].add(suite.id)
        return True

    def _receive(self, slot: int, job: Job, resent: bool) -> Outcome | None:
        """The worker's answer to the job sent first; None when it no longer had the job's
        suite (the caller sends both again)."""
        try:
            worker = self._workers[slot]
            reply = read_message(worker.stdout)
            if reply is None:
                raise ConnectionError("the worker died while running the job")
            if "missing_suite" in reply:
                if resent:
                    raise ConnectionError("the worker does not keep the job's suite")
                self._suites[slot].discard(reply["missing_suite"])
                return None
            outcome = Outcome.from_wire(reply)
        except Exception as exc:  # noqa: BLE001 - a broken worker must not stop the run
            self._retire(slot)
            return _sandbox_error(job, exc)
        if worker.should_retire(outcome):
            self._retire(slot)
        return outcome

    def start(self) -> dict | None:
        """Start every worker and probe the environment; raise HarnessError, saying what
        fails, why and what to do, when the sandbox cannot offer it. The probe's report."""
        if self._probe is None:
            return None
        report = self.probe(full=self._probe.key not in VERIFIED, after_a_job=True)
        if not report["ok"]:
            raise HarnessError(self._failure_message(report, "refuses to start"))
        return report

    def probe(self, full: bool = True, after_a_job: bool = False) -> dict:
        """Run the environment probe on every worker at once (each its share of the list, or
        with full=False only what every probe imports), after_a_job: after an empty job; the
        report."""
        def probe_slot(slot: int) -> Outcome:
            if after_a_job:
                self._run_one(slot, Job(f"{PROBE_ID}-cleanup", "", []), probing=True)
            return self._probe_slot(slot, full)

        with ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="probe") as runner:
            outcomes = list(runner.map(probe_slot, range(self.size)))
        report = self._checked_probe().report(outcomes)
        report["full"] = full
        if full and report["ok"]:
            VERIFIED.add(self._checked_probe().key)
        return report

    def _checked_probe(self) -> Probe:
        if self._probe is None:
            raise HarnessError(f"{self.name} has no environment probe")
        return self._probe

    def _probe_slot(self, slot: int, share: bool = True) -> Outcome:
        """Probe the worker in slot, with the next share of the list or none."""
        with self._slot_locks[slot]:
            done = self._probes_done.get(slot, 0)
            self._probes_done[slot] = done + 1
            return self._run_one(slot, self._checked_probe().job(slot + done if share else None),
                                 probing=True)

    def _probe_after_job(self, slot: int) -> None:
        if self._probe is None or slot not in self._workers:  # retired: a new one comes
            return
        done = self._jobs_done[slot] = self._jobs_done.get(slot, 0) + 1
        if done != 10 ** (len(str(done)) - 1):  # 1, 10, 100, ...
            return
        report = self._probe.report([self._probe_slot(slot, share=done > 1)])
        if not report["ok"]:
            raise HarnessError(self._failure_message(
                report, f"stopped the run: after {done} job(s) on one of its workers, the probe "
                        "found it no longer offers what programs import, so verdicts from then "
                        "on would be wrong (execute them again once fixed)"))

    def _failure_message(self, report: dict, what: str) -> str:
        explained = self._explain(report)
        return f"{self.name} {what}: {summary(report)}" + (f". {explained}" if explained else "")

    def _run_one(self, slot: int, job: Job, probing: bool = False) -> Outcome:
        """Run one job on the slot's worker, with nothing else sent to it meanwhile."""
        try:
            self._send(slot, job, ahead=False)
            worker = self._workers[slot]
            reply = read_message(worker.stdout)
            if reply is None:
                raise ConnectionError("the worker died while running the job")
            if "missing_suite" in reply:  # the worker let it go: send it again
                self._suites[slot].discard(reply["missing_suite"])
                self._send(slot, job, ahead=False)
                reply = read_message(worker.stdout)
                if reply is None or "missing_suite" in reply:
                    raise ConnectionError("the worker does not keep the job's suite")
            outcome = Outcome.from_wire(reply)
        except Exception as exc:  # noqa: BLE001 - a broken worker must not stop the run
            self._retire(slot)
            return _sandbox_error(job, exc)
        # A probe is not one of the worker's jobs (those count towards its recycling).
        if (outcome.status is Status.SANDBOX_ERROR or outcome.leftover_processes > 0 if probing
                else worker.should_retire(outcome)):
            self._retire(slot)
        return outcome

    def _worker(self, slot: int) -> WorkerHandle:
        worker = self._workers.get(slot)
        if worker is not None:
            return worker
        if self._closed:
            raise RuntimeError("the sandbox is closed")
        worker = self._spawner.submit(self._start_worker, slot).result()
        handshake = read_message(worker.stdout)
        if not handshake or not handshake.get("ready"):
            worker.stop()
            raise ConnectionError(f"worker {slot} did not start")
        with self._lock:
            if self._closed:  # closed while this worker started: close() did not see it
                worker.stop()
                raise RuntimeError("the sandbox is closed")
            self._workers[slot] = worker
            self.handshakes[slot] = handshake
            self._jobs_done[slot] = 0
            self._suites[slot] = set()
        return worker

    def _retire(self, slot: int) -> None:
        with self._lock:
            worker = self._workers.pop(slot, None)
        if worker is not None:
            worker.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.stop()
        self._spawner.shutdown()
