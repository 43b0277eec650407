"""Generation across machines: N copies of any ModelBackend as Ray actors (`--ray-replicas N`).

Each replica (backends/_ray_replica.py) builds the backend on its node from its registered
name and the run's options (`hf` on CPUs, `vllm` on GPUs, or any plugin's), inside one bundle
of a placement group that reserves every replica's resources at once (`replica_cpus`,
`replica_gpus`; spread over nodes where it can, `strategy`). Replication is how the model is
reached, not what it answers: a run's identity, records and verdicts are those of the backend
alone, so a run begun on one machine may resume on a cluster and back.

The samples are dealt out in chunks, each sample known by its stable id (problem id, sample
index); a replica has up to CALLS_PER_REPLICA chunks in flight and streams each finished
sample back, and this process calls `on_completion` for it (the pipeline appends its record
at once: the driver stays the only writer). A replica that is lost (its node died, its process
was killed) costs its chunks' unfinished samples, which go back to the front of the queue for
the other replicas; a replacement starts in the same bundle when Ray has room for it, and a
sample that arrives twice is reported once. Closing the backend, or this process dying, ends
every replica (Ray kills the actors of a dead driver) and frees the placement group.

The greedy completions are those of one local backend, since every replica runs the same
code on its share; only where the backend's own numerics depend on what is batched together
(left padding in hf) can a last-bit difference show, as between two local batch sizes.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codeharness.backends.base import BaseBackend
from codeharness.core import ray_runtime, registry
from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra
from codeharness.core.records import Completion, GenerationRequest, Problem, SamplingConfig

CALLS_PER_REPLICA = 2  # chunks sent to a replica ahead of its answers
CHUNKS_PER_REPLICA = 4  # the samples are cut into about this many chunks per replica
MAX_ATTEMPTS = 3  # replicas lost while generating one sample before the run stops
START_TIMEOUT_S = 900.0  # for the placement group (the cluster may be scaling up)
LOST_TIMEOUT_S = 900.0  # with no replica left, for a replacement to start


@dataclass
class _Unit:
    """One sample to generate, known by its stable id."""

    problem_id: str
    sample_index: int
    request: GenerationRequest
    attempts: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return self.problem_id, self.sample_index


@dataclass
class _Replica:
    index: int  # its bundle in the placement group
    handle: Any
    info_ref: Any
    info: dict = field(default_factory=dict)
    ready: bool = False
    calls: int = 0


@dataclass
class _Chunk:
    generator: Any
    replica: _Replica
    units: dict[tuple[str, int], _Unit]  # those not yet back


class RayReplicas(BaseBackend):
    """Not a registered backend: `--ray-replicas N` wraps the run's backend in it."""

    name = "ray_replicas"

    def __init__(self, backend: str, options: dict, replicas: int, replica_cpus: float = 1.0,
                 replica_gpus: float = 0.0, ray_address: str | None = None,
                 strategy: str = "SPREAD", start_timeout_s: float = START_TIMEOUT_S):
        require_extra("--ray-replicas", "ray", "ray")
        if replicas < 1:
            raise HarnessError(f"--ray-replicas must be at least 1, got {replicas}")
        if replica_cpus <= 0 or replica_gpus < 0:
            raise HarnessError(f"--ray-replica-cpus must be positive and --ray-replica-gpus at "
                               f"least 0, got {replica_cpus:g} and {replica_gpus:g}")
        if strategy not in ("SPREAD", "PACK", "STRICT_SPREAD", "STRICT_PACK"):
            raise HarnessError(f"unknown placement strategy {strategy!r}")
        self.backend = backend
        self.options = options
        self.replicas = replicas
        self.resources = {"CPU": float(replica_cpus), "GPU": float(replica_gpus)}
        self.address = ray_address
        self.strategy = strategy
        self.start_timeout_s = start_timeout_s
        # The backend itself, here: its constructor is cheap, and it answers how many samples
        # each problem has without a model (a replayed file's counts).
        self.local = registry.backends.get(backend)(**options)
        self._counted: tuple[list[Problem], int] | None = None
        self._ray: Any = None
        self._group: Any = None
        self._replicas: list[_Replica] = []
        self._closed = False
        ray_runtime.plan_cpus(replicas * replica_cpus)

    # -- what the pipeline asks before generating

    @property
    def supports_chat(self) -> bool:
        return bool(self._first_info()["supports_chat"])

    @property
    def prompt_style(self) -> str | None:
        return self._first_info()["prompt_style"]

    def sample_counts(self, problems: list[Problem], n: int) -> dict[str, int]:
        self._counted = (problems, n)
        return self.local.sample_counts(problems, n)

    def describe(self) -> dict:
        """The backend's own description, and where its replicas are placed: the nodes of the
        placement group's bundles (placed at once, before the replicas have loaded a model)."""
        from ray.util.placement_group import placement_group_table

        self._start()
        first = self._first_ready()
        described = dict(self._ray.get(first.handle.describe.remote()))
        placed = placement_group_table(self._group)["bundles_to_node_id"]
        described["ray_replicas"] = {
            "replicas": self.replicas, "replica_resources": self.resources,
            "strategy": self.strategy, "ray_address": self.address,
            "nodes": len(set(placed.values())), "calls_per_replica": CALLS_PER_REPLICA}
        return described

    # -- replicas

    def _start(self) -> None:
        if self._group is not None:
            return
        if self._closed:
            raise HarnessError("the Ray-replicated backend is closed")
        self.address = ray_runtime.connect("--ray-replicas", self.address)
        import ray
        from ray.util.placement_group import placement_group, remove_placement_group

        self._ray = ray
        bundle = {k: v for k, v in self.resources.items() if v}
        group = placement_group([dict(bundle) for _ in range(self.replicas)], strategy=self.strategy)
        self._group = group
        ready, _ = ray.wait([group.ready()], timeout=self.start_timeout_s)
        if not ready:
            remove_placement_group(group)
            self._group = None
            ray_runtime.release()
            raise HarnessError(
                f"the Ray cluster at {self.address} has no room for {self.replicas} replicas of "
                f"{bundle} (placement strategy {self.strategy}) after {self.start_timeout_s:.0f} s; "
                f"cluster: {ray.cluster_resources()}, free now: {ray.available_resources()}")
        self._replicas = [self._start_replica(index) for index in range(self.replicas)]

    def _start_replica(self, index: int) -> _Replica:
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        from codeharness.backends._ray_replica import BackendReplica

        strategy = PlacementGroupSchedulingStrategy(
            placement_group=self._group, placement_group_bundle_index=index)
        handle = self._ray.remote(BackendReplica).options(
            num_cpus=self.resources["CPU"], num_gpus=self.resources["GPU"], max_restarts=0,
            max_task_retries=0, scheduling_strategy=strategy,
        ).remote(self.backend, self.options)
        if self._counted is not None:  # the replica's backend binds what it replays, too
            handle.sample_counts.remote(*self._counted)
        return _Replica(index, handle, handle.info.remote())

    def _first_info(self) -> dict:
        self._start()
        return self._first_ready().info

    def _first_ready(self) -> _Replica:
        """A replica that answered its handshake (waiting for the first one)."""
        while True:
            ready = [r for r in self._replicas if r.ready]
            if ready:
                return ready[0]
            waiting = [r for r in self._replicas if not r.ready]
            if not waiting:
                raise HarnessError("no replica of the Ray-replicated backend is left")
            done, _ = self._ray.wait([r.info_ref for r in waiting], num_returns=1,
                                     timeout=self.start_timeout_s)
            if not done:
                raise HarnessError(f"no replica of the Ray-replicated backend answered within "
                                   f"{self.start_timeout_s:.0f} s")
            self._handshake(next(r for r in waiting if r.info_ref is done[0]))

    def _handshake(self, replica: _Replica) -> None:
        try:
            replica.info = self._ray.get(replica.info_ref)
        except self._ray.exceptions.RayTaskError as exc:  # the backend refused (bad input)
            cause = exc.cause if isinstance(exc.cause, Exception) else exc
            raise HarnessError(f"{cause}") from None
        except self._ray.exceptions.RayError as exc:
            self._drop(replica)
            raise HarnessError(f"a replica of the {self.backend} backend could not start: "
                               f"{_reason(exc)}") from None
        replica.ready = True

    def _drop(self, replica: _Replica) -> None:
        if replica in self._replicas:
            self._replicas.remove(replica)
        try:
            self._ray.kill(replica.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    # -- generation

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        units = [_Unit(r.problem_id, i, r) for r in requests for i in r.sample_indices]
        if not units:
            return
        self._start()
        size = max(1, math.ceil(len(units) / (self.replicas * CHUNKS_PER_REPLICA)))
        waiting: deque[_Unit] = deque(units)
        chunks: dict[int, _Chunk] = {}
        alone_since: float | None = None
        try:
            while waiting or chunks:
                self._deal(waiting, size, chunks, sampling)
                starting = [r for r in self._replicas if not r.ready]
                if not any(r.ready for r in self._replicas):
                    alone_since = alone_since or time.monotonic()
                    if time.monotonic() - alone_since > LOST_TIMEOUT_S:
                        raise HarnessError(f"every replica of the Ray-replicated backend was lost "
                                           f"and none started again within {LOST_TIMEOUT_S:.0f} s")
                else:
                    alone_since = None
                waitables = [c.generator for c in chunks.values()] + [r.info_ref for r in starting]
                ready, _ = self._ray.wait(waitables, num_returns=1, timeout=1.0)
                for item in ready:
                    replica = next((r for r in starting if r.info_ref is item), None)
                    if replica is not None:
                        self._handshake(replica)
                    elif id(item) in chunks:
                        self._receive(chunks, id(item), waiting, on_completion)
        finally:
            for chunk in chunks.values():  # abandoned (an error, Ctrl-C): close() ends them
                chunk.replica.calls -= 1

    def _deal(self, waiting: deque[_Unit], size: int, chunks: dict[int, _Chunk],
              sampling: SamplingConfig) -> None:
        for replica in sorted(self._replicas, key=lambda r: r.calls):
            while waiting and replica.ready and replica.calls < CALLS_PER_REPLICA:
                taken = [waiting.popleft() for _ in range(min(size, len(waiting)))]
                generator = replica.handle.generate.remote(_requests(taken), sampling)
                replica.calls += 1
                chunks[id(generator)] = _Chunk(generator, replica, {u.key: u for u in taken})

    def _receive(self, chunks: dict[int, _Chunk], key: int, waiting: deque[_Unit],
                 on_completion: Callable[[Completion], None]) -> None:
        chunk = chunks[key]
        exceptions = self._ray.exceptions
        try:
            completions = self._ray.get(next(chunk.generator))
        except StopIteration:
            del chunks[key]
            chunk.replica.calls -= 1
            waiting.extendleft(reversed(chunk.units.values()))  # none, unless a backend skipped some
            return
        except exceptions.RayTaskError as exc:  # the backend itself failed: the run stops
            cause = exc.cause if isinstance(exc.cause, Exception) else exc
            if isinstance(cause, HarnessError):
                raise cause from None
            raise HarnessError(f"the {self.backend} backend failed on Ray node "
                               f"{chunk.replica.info.get('host', '?')}: {type(cause).__name__}: "
                               f"{cause}") from None
        except exceptions.RayError as exc:
            self._lose(chunk.replica, chunks, waiting, _reason(exc))
            return
        for completion in completions:
            if chunk.units.pop((completion.problem_id, completion.sample_index), None) is not None:
                on_completion(completion)

    def _lose(self, replica: _Replica, chunks: dict[int, _Chunk], waiting: deque[_Unit],
              why: str) -> None:
        self._drop(replica)
        again: list[_Unit] = []
        for key, chunk in list(chunks.items()):
            if chunk.replica is replica:
                del chunks[key]
                for unit in chunk.units.values():
                    unit.attempts += 1
                    if unit.attempts >= MAX_ATTEMPTS:
                        raise HarnessError(f"{unit.attempts} replicas were lost while generating "
                                           f"{unit.problem_id} sample {unit.sample_index} "
                                           f"(last: {why}); what was generated is saved")
                    again.append(unit)
        waiting.extendleft(reversed(again))
        where = replica.info.get("host", "?") + " " + replica.info.get("node", "")[:12]
        print(f"[codeharness] ray replicas: lost replica {replica.index} on node {where} ({why}); "
              f"its {len(again)} unfinished sample(s) go to the others", file=sys.stderr, flush=True)
        self._replicas.append(self._start_replica(replica.index))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        ray_runtime.plan_cpus(-self.replicas * self.resources["CPU"])
        self.local.close()
        if self._group is None:
            return
        from ray.util.placement_group import remove_placement_group

        try:
            closing = [r.handle.close.remote() for r in self._replicas if r.ready]
            if closing:
                self._ray.wait(closing, num_returns=len(closing), timeout=30.0)
            for replica in self._replicas:
                try:
                    self._ray.kill(replica.handle, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            remove_placement_group(self._group)
        finally:
            self._replicas = []
            self._group = None
            ray_runtime.release()


def _requests(units: list[_Unit]) -> list[GenerationRequest]:
    """The units as requests, one per problem, in the order they came."""
    by_problem: dict[str, GenerationRequest] = {}
    for unit in units:
        request = by_problem.get(unit.problem_id)
        if request is None:
            request = by_problem[unit.problem_id] = GenerationRequest(
                unit.problem_id, unit.request.prompt, [])
        request.sample_indices.append(unit.sample_index)
    return list(by_problem.values())


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
