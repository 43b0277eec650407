"""The Ray actor behind the `ray` sandbox (sandbox/ray_cluster.py): a warm local or Docker
sandbox on one node of the cluster, running the batches of jobs the driver sends it.

A call carries one problem's suite (only when the driver thinks this actor lacks it) and many
samples' jobs; the actor keeps suites it was sent (least recently used go first beyond
MAX_SUITE_BYTES), so a problem's later calls send its samples alone, and its sandbox's workers
keep the suite prepared between calls. Outcomes stream back as they finish, in small lists.
Several calls may be in flight at once: each runs its jobs through the sandbox's own pool,
whose workers take the next call's jobs as soon as they finish the last one's.

The actor never raises from its constructor: a sandbox that cannot start here is reported by
`ready()`, so the driver can say why in one line.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator

from codeharness.core.ray_runtime import in_batches
from codeharness.sandbox import Sandbox, open_sandbox
from codeharness.sandbox.jobs import Job, Outcome, Suite

MAX_SUITE_BYTES = 256 * 1024 * 1024


class SandboxActor:
    def __init__(self, inner: str, workers: int, options: dict):
        self.inner = inner
        self.error: str | None = None
        self.box: Sandbox | None = None
        try:
            self.box = open_sandbox(inner, workers=workers, **options)
        except BaseException as exc:  # noqa: BLE001 - reported by ready(), in the driver's words
            self.error = f"{type(exc).__name__}: {exc}"
        self.suites: OrderedDict[str, tuple[Suite, int]] = OrderedDict()
        self.suite_bytes = 0
        self._lock = threading.Lock()

    def ready(self) -> dict:
        """Where this actor runs and what its sandbox offers; `error` when it did not start."""
        import ray

        context = ray.get_runtime_context()
        info = {"node": context.get_node_id(), "host": socket.gethostname(), "pid": os.getpid(),
                "error": self.error}
        if self.box is not None:
            info["languages"] = list(self.box.languages)
            info["describe"] = self.box.describe()
        return info

    def run(self, suite: Suite | None, suite_id: str | None,
            jobs: list[Job]) -> Iterator[list[Outcome] | dict]:
        """Run the jobs (their suite is `suite_id`'s, sent along or kept from an earlier call);
        yield lists of outcomes as they finish, or {"missing_suite": id} alone when this actor
        no longer keeps the suite (the driver sends it again)."""
        box = self._open_box()
        held = self._suite(suite, suite_id)
        if suite_id is not None and held is None:
            yield {"missing_suite": suite_id}
            return
        if held is not None:
            jobs = [Job(**{**vars(job), "tests": held.tests, "prelude": held.prelude,
                           "suite": held}) for job in jobs]
        def pump(put) -> None:
            for outcome in box.run(jobs):
                put(outcome)

        yield from in_batches(pump, "sandbox-call")

    def _suite(self, suite: Suite | None, suite_id: str | None) -> Suite | None:
        if suite_id is None:
            return None
        with self._lock:
            if suite is not None and suite_id not in self.suites:
                size = len(suite.setup) + len(suite.prelude) + sum(len(t.code) for t in suite.tests)
                self.suites[suite_id] = (suite, size)
                self.suite_bytes += size
                while self.suite_bytes > MAX_SUITE_BYTES and len(self.suites) > 1:
                    _, (_, dropped) = self.suites.popitem(last=False)
                    self.suite_bytes -= dropped
            kept = self.suites.get(suite_id)
            if kept is None:
                return None
            self.suites.move_to_end(suite_id)
            return kept[0]

    def probe(self) -> dict:
        return self._open_box().probe()

    def _open_box(self) -> Sandbox:
        """The actor's sandbox; the driver never calls on one that did not start or is closed."""
        if self.box is None:
            raise RuntimeError(f"this actor's {self.inner} sandbox is "
                               + (f"not started: {self.error}" if self.error else "closed"))
        return self.box

    def close(self) -> None:
        if self.box is not None:
            self.box.close()
            self.box = None
