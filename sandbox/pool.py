"""Host side of the worker protocol: a pool of workers that run jobs in parallel.

A sandbox backend only says how to start one worker (a local subprocess, a container, ...)
and returns a `WorkerHandle`; the pool dispatches jobs, replaces workers that die or that a
backend wants recycled, and turns every failure into a SANDBOX_ERROR outcome so a run never
stops because one job broke the sandbox.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO, Protocol

from sandbox.jobs import Job, Outcome, Status
from sandbox.worker import read_message, write_message


class WorkerHandle(Protocol):
    """One running worker: its message streams, and how to stop it."""

    stdin: BinaryIO
    stdout: BinaryIO

    def should_retire(self, outcome: Outcome) -> bool:
        """True when this worker must be replaced after the outcome (crash, leftovers, ...)."""

    def stop(self) -> None: ...


class WorkerPool:
    def __init__(self, start_worker: Callable[[int], WorkerHandle], size: int):
        self._start_worker = start_worker
        self.size = size
        self._workers: dict[int, WorkerHandle] = {}
        self._lock = threading.Lock()
        self._closed = False
        # Workers die with the thread that started them (PR_SET_PDEATHSIG, bwrap's
        # --die-with-parent), so one long-lived thread starts them all, not the per-run threads.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-spawner")

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        """Run jobs on all workers; yield outcomes in completion order.

        Abandoning the iterator (an error or Ctrl-C in the caller) stops the serving threads
        after their current job; `close()` stops the workers."""
        jobs = list(jobs)
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for job in jobs:
            todo.put(job)
        done: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()
        threads = [
            threading.Thread(target=self._serve, args=(slot, todo, done, stop), daemon=True)
            for slot in range(min(self.size, len(jobs)))
        ]
        for thread in threads:
            thread.start()
        try:
            for _ in jobs:
                yield done.get()
        finally:
            stop.set()
        for thread in threads:
            thread.join()

    def _serve(self, slot: int, todo: queue.SimpleQueue, done: queue.SimpleQueue,
               stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            done.put(self._run_one(slot, job))

    def _run_one(self, slot: int, job: Job) -> Outcome:
        try:
            worker = self._worker(slot)
            write_message(worker.stdin, job.to_wire())
            reply = read_message(worker.stdout)
            if reply is None:
                raise ConnectionError("the worker died while running the job")
            outcome = Outcome.from_wire(reply)
        except Exception as exc:  # noqa: BLE001 - a broken worker must not stop the run
            self._retire(slot)
            return Outcome(job.id, Status.SANDBOX_ERROR, exception_type=type(exc).__name__,
                           message=str(exc))
        if worker.should_retire(outcome):
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
