"""One connection to a Ray cluster per process, shared by the parts that run on Ray (the `ray`
sandbox, Ray-replicated model backends).

Where it connects: the address given (`--ray-address HOST:PORT`, or `ray://HOST:10001` for Ray
Client), else `RAY_ADDRESS`, else a cluster `ray start` made on this machine
(/tmp/ray/ray_current_cluster), else a new Ray instance on this machine that lives as long as
this process. An address that does not answer is one clear line at once (Ray itself would
retry for minutes). The connection closes when its last user lets it go; a Ray instance this
process started ends with it (and with this process, if it is killed).

Everything the harness makes on a cluster (actors, placement groups) belongs to this driver:
Ray removes it when the driver exits or dies, so a killed run leaves nothing on any node.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from pathlib import Path

from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra

CURRENT_CLUSTER = Path("/tmp/ray/ray_current_cluster")  # where `ray start` notes its address
REACH_TIMEOUT_S = 5.0
NAMESPACE = "codeharness"



@dataclass
class _Connection:
    users: int = 0  # parts of this process that use the cluster now
    owned: bool = False  # this module called ray.init (and so closes it)
    address: str = ""  # the address joined, "" while not connected
    # CPUs that parts of this process will hold on the cluster (Ray-replicated backends,
    # which reserve theirs when they first generate): the ray sandbox leaves them free.
    planned_cpus: float = 0.0


_lock = threading.Lock()
_connection = _Connection()


def connect(purpose: str, address: str | None = None, resources: dict | None = None) -> str:
    """Join (or start) the Ray cluster for `purpose` (named in errors); the address joined.
    `resources`: custom resources of a Ray instance started here (none when joining)."""
    require_extra(purpose, "ray", "ray")
    import ray

    with _lock:
        if not ray.is_initialized():
            _connection.address = _init(ray, address or os.environ.get("RAY_ADDRESS") or None,
                                        resources or {})
            _connection.owned = True
        elif address and _connection.address and _normal(address) != _normal(_connection.address):
            raise HarnessError(f"this process is already connected to the Ray cluster at "
                               f"{_connection.address}, not {address}")
        _connection.users += 1
        return _connection.address or ray.get_runtime_context().gcs_address


def release() -> None:
    """One user is done; the last one closes the connection this module opened."""
    import ray

    with _lock:
        _connection.users = max(0, _connection.users - 1)
        if _connection.users == 0 and _connection.owned:
            _connection.owned = False
            _connection.address = ""
            ray.shutdown()


def plan_cpus(cpus: float) -> None:
    """Note CPUs a part of this process will hold (negative: no longer)."""
    with _lock:
        _connection.planned_cpus = max(0.0, _connection.planned_cpus + cpus)


def planned_cpus() -> float:
    return _connection.planned_cpus


def _init(ray, address: str | None, resources: dict) -> str:
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "namespace": NAMESPACE}
    if address is None:
        noted = _noted_address()
        if noted and _answers(noted):
            address = noted
    if address is None:  # no cluster on this machine: one of our own, for this process
        ray.init(address="local", include_dashboard=False, resources=resources or None, **quiet)
        return ray.get_runtime_context().gcs_address
    if not address.startswith("ray://") and address != "auto" and not _answers(address):
        raise HarnessError(f"no Ray cluster answers at {address} (--ray-address or RAY_ADDRESS): "
                           "start one with `ray start --head --port=6379` there, or leave the "
                           "address out to run Ray on this machine")
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        raise HarnessError(f"could not join the Ray cluster at {address}: {exc}") from exc
    return address


def _noted_address() -> str | None:
    try:
        return CURRENT_CLUSTER.read_text().strip() or None
    except OSError:
        return None


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise HarnessError(f"--ray-address must be HOST:PORT (or ray://HOST:PORT), got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S):
            return True
    except OSError:
        return False


def _normal(address: str) -> str:
    return address.removeprefix("ray://").replace("localhost", "127.0.0.1")


_END = object()


def in_batches(produce: Callable[[Callable[[Any], None]], None], thread_name: str) -> Iterator[list]:
    """Run `produce(put)` in a thread of its own and yield what it puts, as lists of what was
    ready together (an actor's results stream back in few, full messages); what it raises is
    raised here, after what it put before."""
    finished: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        try:
            produce(finished.put)
            finished.put(_END)
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            finished.put(exc)

    threading.Thread(target=work, name=thread_name, daemon=True).start()
    while True:
        batch: list = []
        item = finished.get()
        while item is not _END and not isinstance(item, BaseException):
            batch.append(item)
            try:
                item = finished.get_nowait()
            except queue.Empty:
                item = None
                break
        if batch:
            yield batch
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
