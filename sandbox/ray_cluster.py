"""The `ray` sandbox: execution fanned out to long-lived Ray actors across a cluster.

Each actor (sandbox/_ray_actor.py) owns a warm sandbox on its node, local or Docker
(`ray_inner_sandbox`), with as many workers as the CPUs it reserves (`ray_actor_cpus`, 1 by
default); actors of the Docker sandbox also ask for a sliver of a `docker` custom resource,
which only nodes running a Docker engine advertise (`ray start --resources='{"docker": 1}'`).
`workers` (`--workers`) is the total across the cluster, by default every CPU it has (less
those a Ray-replicated model of the same run will hold), so
there are workers / ray_actor_cpus actors, spread over the nodes; those the cluster cannot
hold yet start when nodes join.

Work goes out per problem: a call carries up to `batch` samples of one problem with its suite
(sandbox/jobs.py), sent to an actor only once; an actor that already holds a problem's suite is
preferred for its later samples. Each actor has up to CALLS_PER_ACTOR calls in flight, so its
workers never wait for the driver, and outcomes stream back as each finishes. This process
stays the only writer of the run directory: it yields each outcome once, as the local
sandbox does, so resume, manifests and verdicts are the same.

Losing an actor (its node died, its process was killed) costs only its calls in flight:
their unfinished jobs go back to the front of the queue and run on other actors, a
replacement is started (Ray places it where there is room), and outcomes that arrive late
from a lost call are dropped, so nothing is lost or yielded twice. A job whose actor is lost
MAX_ATTEMPTS times ends as a sandbox error. Closing the sandbox (normal end, error, Ctrl-C)
closes and kills every actor; if this process is killed, Ray kills the actors it owned, their
sandboxes' workers die with them and the Docker engine removes their containers.
"""

from __future__ import annotations

import itertools
import math
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from codeharness.core import ray_runtime, registry
from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.sandbox.base import BaseSandbox
from codeharness.sandbox.jobs import Job, Outcome

CALLS_PER_ACTOR = 2  # calls sent to an actor ahead of its answers
BATCH_PER_WORKER = 16  # samples per call, per worker of the actor (at most)
MAX_ATTEMPTS = 3  # actors lost while running one job before it is a sandbox error
LOOKAHEAD = 4096  # jobs read from the caller's iterable ahead of the actors
START_TIMEOUT_S = 600.0  # for the first actor to start (the cluster may be scaling up)
LOST_TIMEOUT_S = 600.0  # with no actor left, for a replacement to start
DOCKER_RESOURCE = "docker"
DOCKER_SHARE = 0.001  # of a node's `docker` resource, per actor: CPUs decide how many
POLL_S = 0.02  # how often new jobs are looked for while an actor has room


@dataclass
class _Pending:
    seq: str  # the job's id on the cluster: unique in this sandbox
    job: Job
    attempts: int = 0


@dataclass
class _Actor:
    handle: Any
    ready_ref: Any
    info: dict = field(default_factory=dict)
    ready: bool = False
    calls: int = 0
    suites: set[str] = field(default_factory=set)


@dataclass
class _Call:
    generator: Any
    actor: _Actor
    jobs: dict[str, _Pending]  # those whose outcome has not come back


class _Feed:
    """Jobs read from the caller's iterable by a thread of its own (the caller may produce them
    as a model writes samples), waiting by suite in the order they came."""

    def __init__(self, jobs: Iterable[Job], numbering: Iterator[int]):
        self.groups: OrderedDict[str | None, deque[_Pending]] = OrderedDict()
        self.waiting = 0
        self.closed = False
        self.stopped = False
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(jobs, numbering), daemon=True,
                                        name="ray-sandbox-feed")
        self._thread.start()

    def _read(self, jobs: Iterable[Job], numbering: Iterator[int]) -> None:
        try:
            for job in jobs:
                with self.changed:
                    while self.waiting >= LOOKAHEAD and not self.stopped:
                        self.changed.wait()
                    if self.stopped:
                        return
                    self._add(_Pending(str(next(numbering)), job), front=False)
        except BaseException as exc:  # noqa: BLE001 - the caller's iterable failed: its error
            self.error = exc
        finally:
            with self.changed:
                self.closed = True
                self.changed.notify_all()

    def _add(self, pending: _Pending, front: bool) -> None:
        key = pending.job.suite.id if pending.job.suite is not None else None
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = deque()
            if front:
                self.groups.move_to_end(key, last=False)
        (group.appendleft if front else group.append)(pending)
        self.waiting += 1

    def requeue(self, pendings: Iterable[_Pending]) -> None:
        with self.changed:
            for pending in pendings:
                self._add(pending, front=True)
            self.changed.notify_all()

    def take(self, held: set[str], size: int) -> list[_Pending]:
        """Up to size jobs of one suite: one the actor holds if any waits, else the oldest."""
        with self.changed:
            if not self.groups:
                return []
            key = next((k for k in self.groups if k is not None and k in held), None)
            if key is None:
                key = next(iter(self.groups))
            group = self.groups[key]
            taken = [group.popleft() for _ in range(min(size, len(group)))]
            if not group:
                del self.groups[key]
            self.waiting -= len(taken)
            self.changed.notify_all()
            return taken

    @property
    def done(self) -> bool:
        return self.closed and not self.waiting

    def wait(self, timeout: float) -> None:
        with self.changed:
            if not self.waiting and not self.closed:
                self.changed.wait(timeout)

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
            self.changed.notify_all()


@registry.sandboxes.register
class RaySandbox(BaseSandbox):
    name = "ray"
    install_hint = ("install them on every node of the Ray cluster, in the environment its "
                    "actors run in (or use --ray-inner-sandbox docker with an image that has them)")
    languages_hint = "on every node of the Ray cluster: {packages}"

    def __init__(self, workers: int | None = None, ray_address: str | None = None,
                 ray_inner_sandbox: str = "local", ray_actor_cpus: int = 1,
                 inner_options: dict | None = None, batch: int | None = None,
                 start_timeout_s: float = START_TIMEOUT_S):
        if ray_inner_sandbox == self.name:
            raise HarnessError("--ray-inner-sandbox must be a sandbox of one node (local, docker)")
        registry.sandboxes.get(ray_inner_sandbox)  # an unknown name fails now
        if ray_actor_cpus < 1:
            raise HarnessError(f"--ray-actor-cpus must be at least 1, got {ray_actor_cpus}")
        self.inner = ray_inner_sandbox
        self.actor_cpus = ray_actor_cpus
        self.inner_options = dict(inner_options or {})
        self.batch = batch or BATCH_PER_WORKER * ray_actor_cpus
        self.start_timeout_s = start_timeout_s
        docker = ray_inner_sandbox == "docker"
        self.address = ray_runtime.connect("the ray sandbox", ray_address,
                                           {DOCKER_RESOURCE: 1} if docker else None)
        import ray

        self._ray = ray
        self._numbering = itertools.count()
        self._actors: list[_Actor] = []
        self._lost = 0
        self._replacements = 0  # actors started after the first ones (at most MAX_ATTEMPTS x)
        self._closed = False
        try:
            resources = ray.cluster_resources()
            if docker and DOCKER_RESOURCE not in resources:
                raise HarnessError(
                    f"no node of the Ray cluster at {self.address} advertises a "
                    f"{DOCKER_RESOURCE!r} resource, which --ray-inner-sandbox docker needs: start "
                    "the nodes that run a Docker engine with `ray start ... --resources="
                    f"'{{\"{DOCKER_RESOURCE}\": 1}}'`")
            # By default every CPU, but those this process's Ray-replicated model holds.
            total = workers or int(resources.get("CPU", 0) - ray_runtime.planned_cpus()) or 1
            if workers is not None and workers < 1:
                raise HarnessError(f"--workers must be at least 1, got {workers}")
            self.workers = max(self.actor_cpus, total // self.actor_cpus * self.actor_cpus)
            for _ in range(self.workers // self.actor_cpus):
                self._actors.append(self._start_actor())
            self._wait_for_first_actors()
        except BaseException:
            self.close()
            raise
        self.languages = self._offered()

    # -- actors

    def _start_actor(self) -> _Actor:
        from codeharness.sandbox._ray_actor import SandboxActor

        options: dict = {"num_cpus": self.actor_cpus, "max_restarts": 0, "max_task_retries": 0,
                         "max_concurrency": CALLS_PER_ACTOR + 2, "scheduling_strategy": "SPREAD"}
        if self.inner == "docker":
            options["resources"] = {DOCKER_RESOURCE: DOCKER_SHARE}
        handle = self._ray.remote(SandboxActor).options(**options).remote(
            self.inner, self.actor_cpus, self.inner_options)
        return _Actor(handle, handle.ready.remote())

    def _wait_for_first_actors(self) -> None:
        """Wait for every actor that can start now (at least one); refuse when an actor's
        sandbox cannot start, or none starts in time."""
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            pending = {id(a.ready_ref): a for a in self._actors if not a.ready}
            if not pending:
                return
            started = any(a.ready for a in self._actors)
            timeout = 5.0 if started else max(0.0, deadline - time.monotonic())
            ready, _ = self._ray.wait([a.ready_ref for a in pending.values()], num_returns=1,
                                      timeout=timeout)
            if not ready:
                if started:  # the rest start when the cluster has room for them
                    return
                raise HarnessError(
                    f"no actor of the ray sandbox started within {self.start_timeout_s:.0f} s: "
                    f"the Ray cluster at {self.address} has no room for one "
                    f"({self._resources_wanted()})")
            self._started(pending[id(ready[0])])

    def _started(self, actor: _Actor) -> None:
        """The actor's handshake. HarnessError when its sandbox refused to start (that will
        not change by trying again); an actor that died on its way (its node went) is
        replaced, MAX_ATTEMPTS times as many actors as were asked for at most."""
        try:
            info = self._ray.get(actor.ready_ref)
        except self._ray.exceptions.RayError as exc:
            self._drop(actor)
            if self._replacements >= MAX_ATTEMPTS * (self.workers // self.actor_cpus):
                if not any(a.ready for a in self._actors):
                    raise HarnessError(f"the actors of the ray sandbox could not start: "
                                       f"{_reason(exc)}") from None
                return
            self._replacements += 1
            self._actors.append(self._start_actor())
            return
        if info.get("error"):
            self._drop(actor)
            raise HarnessError(f"the {self.inner} sandbox could not start on Ray node "
                               f"{info['host']} ({info['node'][:12]}): {info['error']}")
        actor.info = info
        actor.ready = True

    def _resources_wanted(self) -> str:
        wanted = f"{self.actor_cpus} CPU"
        return wanted + (f", {DOCKER_SHARE} {DOCKER_RESOURCE}" if self.inner == "docker" else "")

    def _offered(self) -> tuple[str, ...]:
        found: set[str] | None = None
        for actor in self._actors:
            if actor.ready:
                offered = set(actor.info.get("languages", ["python"]))
                found = offered if found is None else found & offered
        return tuple(sorted(found)) if found else ("python",)

    def _drop(self, actor: _Actor) -> None:
        if actor in self._actors:
            self._actors.remove(actor)
        try:
            self._ray.kill(actor.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def _lose(self, actor: _Actor, calls: dict[int, _Call], feed: _Feed, why: str,
              outcomes: list[Outcome]) -> None:
        """The actor is gone: its calls' unfinished jobs run again elsewhere, a replacement
        starts wherever Ray finds room."""
        self._drop(actor)
        again: list[_Pending] = []
        for key, call in list(calls.items()):
            if call.actor is actor:
                del calls[key]
                for pending in call.jobs.values():
                    pending.attempts += 1
                    if pending.attempts >= MAX_ATTEMPTS:
                        outcomes.append(Outcome(
                            pending.job.id, Status.SANDBOX_ERROR, exception_type="ActorLost",
                            message=f"{pending.attempts} Ray actors were lost while running it "
                                    f"(last: {why})"))
                    else:
                        again.append(pending)
        feed.requeue(reversed(again))
        self._lost += 1
        where = actor.info.get("host", "?") + " " + actor.info.get("node", "")[:12]
        print(f"[codeharness] ray sandbox: lost the actor on node {where} ({why}); its "
              f"{len(again)} unfinished job(s) run again on other actors", file=sys.stderr,
              flush=True)
        if not self._closed and self._replacements < MAX_ATTEMPTS * (self.workers // self.actor_cpus):
            self._replacements += 1
            self._actors.append(self._start_actor())

    # -- running jobs

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        if self._closed:
            raise HarnessError("the ray sandbox is closed")
        feed = _Feed(jobs, self._numbering)
        calls: dict[int, _Call] = {}
        alone_since: float | None = None
        try:
            while True:
                outcomes: list[Outcome] = []
                self._dispatch(feed, calls)
                if feed.error is not None:
                    raise feed.error
                if feed.done and not calls:
                    return
                starting = [a for a in self._actors if not a.ready]
                if not any(a.ready for a in self._actors):
                    alone_since = alone_since or time.monotonic()
                    if time.monotonic() - alone_since > LOST_TIMEOUT_S:
                        raise HarnessError(
                            f"the ray sandbox lost all its actors and none could start again "
                            f"within {LOST_TIMEOUT_S:.0f} s on the Ray cluster at {self.address} "
                            f"({self._resources_wanted()} each)")
                else:
                    alone_since = None
                waitables = [c.generator for c in calls.values()] + [a.ready_ref for a in starting]
                if not waitables:
                    feed.wait(0.5)
                    continue
                room = any(a.ready and a.calls < CALLS_PER_ACTOR for a in self._actors)
                timeout = POLL_S if room and not feed.closed else 1.0
                ready, rest = self._ray.wait(waitables, num_returns=1, timeout=timeout)
                if ready and rest:
                    more, _ = self._ray.wait(rest, num_returns=len(rest), timeout=0)
                    ready += more
                by_ref = {id(a.ready_ref): a for a in starting}
                by_generator = {id(c.generator): key for key, c in calls.items()}
                for item in ready:
                    if id(item) in by_ref:
                        try:
                            self._started(by_ref[id(item)])
                        except HarnessError as exc:  # a replacement's sandbox refused
                            if not any(a.ready for a in self._actors):
                                raise
                            print(f"[codeharness] ray sandbox: {exc}", file=sys.stderr, flush=True)
                    elif id(item) in by_generator and by_generator[id(item)] in calls:
                        self._receive(calls, by_generator[id(item)], feed, outcomes)
                yield from outcomes
        finally:
            feed.stop()
            for call in calls.values():  # abandoned: their actors finish them, unheard
                call.actor.calls -= 1

    def _dispatch(self, feed: _Feed, calls: dict[int, _Call]) -> None:
        """Send work to every actor with room, least busy first, in calls of one suite."""
        while feed.waiting:
            free = [a for a in self._actors if a.ready and a.calls < CALLS_PER_ACTOR]
            if not free:
                return
            actor = min(free, key=lambda a: a.calls)
            room = sum(CALLS_PER_ACTOR - a.calls for a in free)
            size = max(1, min(self.batch, math.ceil(feed.waiting / room)))
            taken = feed.take(actor.suites, size)
            if not taken:
                return
            suite = taken[0].job.suite
            send = suite if suite is not None and suite.id not in actor.suites else None
            generator = actor.handle.run.remote(send, suite.id if suite is not None else None,
                                                [_detached(p) for p in taken])
            if suite is not None:
                actor.suites.add(suite.id)
            actor.calls += 1
            calls[id(generator)] = _Call(generator, actor, {p.seq: p for p in taken})

    def _receive(self, calls: dict[int, _Call], key: int, feed: _Feed,
                 outcomes: list[Outcome]) -> None:
        call = calls[key]
        exceptions = self._ray.exceptions
        try:
            item = self._ray.get(next(call.generator))
        except StopIteration:
            del calls[key]
            call.actor.calls -= 1
            if call.jobs:  # cannot happen: every job of a finished call was answered
                feed.requeue(call.jobs.values())
            return
        except exceptions.RayTaskError as exc:  # the actor's sandbox stopped the run
            cause = exc.cause if isinstance(exc.cause, Exception) else exc
            raise HarnessError(f"the {self.inner} sandbox on Ray node "
                               f"{call.actor.info.get('host', '?')}: {cause}") from None
        except exceptions.RayError as exc:
            self._lose(call.actor, calls, feed, _reason(exc), outcomes)
            return
        if isinstance(item, dict):  # the actor let the suite go: send it again
            call.actor.suites.discard(item["missing_suite"])
            del calls[key]
            call.actor.calls -= 1
            feed.requeue(call.jobs.values())
            return
        for outcome in item:
            pending = call.jobs.pop(outcome.job_id, None)
            if pending is not None:
                outcome.job_id = pending.job.id
                outcomes.append(outcome)

    # -- the protocol's rest

    def probe(self) -> dict:
        """Probe the environment again in every actor's sandbox: one report for the cluster."""
        ready = [a for a in self._actors if a.ready]
        reports = self._ray.get([a.handle.probe.remote() for a in ready])
        merged: dict = {"ok": all(r["ok"] for r in reports),
                        "promised": max((r.get("promised", 0) for r in reports), default=0),
                        "failed": {}, "checks_failed": {}}
        for actor, report in zip(ready, reports):
            merged["failed"].update(report.get("failed", {}))
            merged["checks_failed"].update(report.get("checks_failed", {}))
            if not report["ok"] and report.get("explanation"):
                merged["explanation"] = f"on Ray node {actor.info['host']}: {report['explanation']}"
        return merged

    def describe(self) -> dict:
        ready = [a for a in self._actors if a.ready]
        inner = dict(ready[0].info.get("describe", {})) if ready else {}
        inner.pop("environment_probe", None)
        return {"sandbox": self.name, "ray_address": self.address, "inner_sandbox": self.inner,
                "workers": self.workers, "actors": len(self._actors),
                "actor_cpus": self.actor_cpus, "calls_per_actor": CALLS_PER_ACTOR,
                "batch": self.batch, "nodes": len({a.info["node"] for a in ready}),
                "languages": list(self.languages), "inner": inner,
                "environment_probe": ready[0].info.get("describe", {}).get("environment_probe") if ready else None}

    def close(self) -> None:
        """Close every actor's sandbox (its workers, containers, scratch folders), then kill
        the actors; an actor that does not answer in time is killed all the same."""
        if self._closed:
            return
        self._closed = True
        actors, self._actors = self._actors, []
        try:
            closing = [a.handle.close.remote() for a in actors if a.ready]
            if closing:
                self._ray.wait(closing, num_returns=len(closing), timeout=30.0)
            for actor in actors:
                try:
                    self._ray.kill(actor.handle, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass
        finally:
            ray_runtime.release()

    def __enter__(self) -> RaySandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _detached(pending: _Pending) -> Job:
    """The job as it travels: the cluster's id, without its suite (the actor has it)."""
    job = pending.job
    if job.suite is None:
        return Job(**{**vars(job), "id": pending.seq})
    return Job(**{**vars(job), "id": pending.seq, "tests": [], "prelude": "", "suite": None})


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
