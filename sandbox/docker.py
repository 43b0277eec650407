"""The Docker sandbox: a warm pool of locked-down containers, each running sandbox/worker.py.

Each container runs the worker as its init process (pid 1): inside the container no signal
can stop it, and it reaps every process a program leaves. The host talks to it over the
container's attach stream: jobs go to its stdin, outcomes come back on its stdout, framed by
the engine (8-byte headers saying stdout or stderr). One round trip costs well under a
millisecond, where a `docker exec` per job costs about 90 ms.

Containers have no network, limits on memory, processes and CPU, a read-only root filesystem
with a size-limited tmpfs at /tmp as the only writable place (the worker empties it after
every job), no capabilities, no-new-privileges and a non-root user. A container is replaced
after a crash, an out-of-memory kill, a job that left a process behind, or every
`max_jobs_per_container` jobs. Containers are removed when the sandbox closes (normal exit,
errors, Ctrl-C); if the harness dies, the engine closes their stdin, the worker exits and the
engine removes them. `codeharness sandbox cleanup` removes whatever a crash left anyway.

The image lists, when it is built, what its Python imports (MODULES_FILE); the environment
probe (sandbox/probe.py) imports all of it in the containers before any job runs.
"""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from codeharness.core import registry
from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.sandbox.base import BaseSandbox
from codeharness.sandbox.jobs import Job, Outcome
from codeharness.sandbox.pool import WorkerPool
from codeharness.sandbox.probe import Probe
from codeharness.sandbox.worker import HASH_SEED

SANDBOX_LABEL = "codeharness.sandbox"
OWNER_LABEL = "codeharness.owner"  # the harness process, for `sandbox cleanup`
POOL_LABEL = "codeharness.pool"  # one sandbox instance
# Each container gets its own user id from this range (the local sandbox's are 50000-59999): the
# kernel counts a user's processes across all containers, and the worker's process limit
# would count those of other pools. Below 65536, which remapped user namespaces require.
CONTAINER_UIDS = range(61000, 65000)
FRAME_HEADER = 8
MODULES_FILE = "/opt/codeharness/modules.json"  # written when the image is built
STDOUT_STREAM = 1


class _AttachedStdin:
    def __init__(self, sock: socket.socket):
        self._sock = sock

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        pass


class _AttachedStdout:
    """The worker's stdout, taken out of the attach stream's frames (its stderr, which only
    carries the worker's own tracebacks, is dropped)."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._frames = bytearray()
        self._stdout = bytearray()

    def read(self, size: int) -> bytes:
        while len(self._stdout) < size and self._receive():
            pass
        data = bytes(self._stdout[:size])
        del self._stdout[:size]
        return data

    def _receive(self) -> bool:
        try:
            received = self._sock.recv(1 << 16)
        except OSError:
            return False
        if not received:
            return False
        self._frames += received
        while len(self._frames) >= FRAME_HEADER:
            stream = self._frames[0]
            end = FRAME_HEADER + int.from_bytes(self._frames[4:FRAME_HEADER], "big")
            if len(self._frames) < end:
                break
            payload = self._frames[FRAME_HEADER:end]
            del self._frames[:end]
            if stream == STDOUT_STREAM:
                self._stdout += payload
        return True


class DockerWorker:
    def __init__(self, container, attached, max_jobs: int):
        self.container = container
        self._attached = attached  # keeps the engine's connection object alive
        self._sock = getattr(attached, "_sock", attached)
        self.stdin = _AttachedStdin(self._sock)
        self.stdout = _AttachedStdout(self._sock)
        self.max_jobs = max_jobs
        self.jobs_done = 0

    def should_retire(self, outcome: Outcome) -> bool:
        self.jobs_done += 1
        statuses = {outcome.status, *(test.status for test in outcome.tests)}
        return (self.jobs_done >= self.max_jobs or outcome.leftover_processes > 0
                or Status.SANDBOX_ERROR in statuses or Status.OUT_OF_MEMORY in statuses)

    def stop(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        _remove(self.container)


def _remove(container) -> None:
    from docker.errors import APIError, NotFound

    try:
        container.remove(force=True)
    except NotFound:
        pass
    except APIError as exc:
        if exc.status_code != 409:  # 409: the engine is already removing it (auto-remove)
            raise
    try:
        container.wait(condition="removed", timeout=30)
    except Exception:  # noqa: BLE001 - gone already, or slow: `sandbox cleanup` finds it
        pass


@registry.sandboxes.register
class DockerSandbox(BaseSandbox):
    name = "docker"
    install_hint = "build an image that has them (`codeharness sandbox build`)"
    languages_hint = ("rebuild the image (`codeharness sandbox build --offline`, or without "
                      "--offline from a registry), whose recipes install the toolchains ({packages})")

    def __init__(self, workers: int | None = None, image: str | None = None,
                 memory_mb: int = 3072, cpus: float = 1.0, pids_limit: int = 128,
                 tmpfs_mb: int = 256, max_processes: int = 64, file_size_mb: int = 64,
                 max_jobs_per_container: int = 1000):
        from codeharness.sandbox.docker_image import find_image

        self.client = connect()
        self.image = image or find_image(self.client)
        self.image_id = _image_id(self.client, self.image)
        self.workers = workers or os.cpu_count() or 1
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.pids_limit = pids_limit
        self.tmpfs_mb = tmpfs_mb
        self.max_processes = max_processes
        self.file_size_mb = file_size_mb
        self.max_jobs_per_container = max_jobs_per_container
        self.owner = owner_token()
        self.pool_id = uuid.uuid4().hex[:12]
        probe = Probe(modules=None, modules_file=MODULES_FILE, shares=self.workers,
                      key=("docker", self.image_id, self.memory_mb, self.pids_limit,
                           self.tmpfs_mb, self.max_processes, self.file_size_mb))
        self.pool = WorkerPool(self._start_worker, self.workers, probe, self._explain,
                               self.name)
        # Starting a container takes about half a second: start them together (the pool
        # would start them one after another), then probe the environment in all of them.
        self._starter = ThreadPoolExecutor(max_workers=self.workers)
        self._started = {slot: self._starter.submit(self._create_worker)
                         for slot in range(self.workers)}
        self._start_pool()

    def _start_worker(self, slot: int) -> DockerWorker:
        started = self._started.pop(slot, None)
        return started.result() if started else self._create_worker()

    def _create_worker(self) -> DockerWorker:
        from docker.types import LogConfig

        uid = CONTAINER_UIDS[secrets.randbelow(len(CONTAINER_UIDS))]
        container = self.client.containers.create(
            self.image,
            command=["--scratch", "/tmp", "--max-processes", str(self.max_processes),
                     "--file-size-mb", str(self.file_size_mb)],
            user=f"{uid}:{uid}", hostname="sandbox", working_dir="/tmp",
            environment={"PYTHONHASHSEED": HASH_SEED},
            labels={SANDBOX_LABEL: "docker", OWNER_LABEL: self.owner, POOL_LABEL: self.pool_id},
            network_mode="none", ipc_mode="none", read_only=True,
            # Executable (Docker mounts a tmpfs noexec unless told): compiled programs run
            # from their job's folder there.
            tmpfs={"/tmp": f"size={self.tmpfs_mb}m,mode=1777,nosuid,nodev,exec"},
            mem_limit=f"{self.memory_mb}m", memswap_limit=f"{self.memory_mb}m",
            pids_limit=self.pids_limit, nano_cpus=int(self.cpus * 1e9),
            cap_drop=["ALL"], security_opt=["no-new-privileges"],
            # Not detached, with stdin open: the engine closes stdin when this process's
            # attach stream closes (StdinOnce), so the worker exits even if the harness dies.
            stdin_open=True, detach=False, auto_remove=True,
            log_config=LogConfig(type=LogConfig.types.NONE),
        )
        try:
            attached = container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            container.start()
        except BaseException:
            _remove(container)
            raise
        return DockerWorker(container, attached, self.max_jobs_per_container)

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        return self.pool.run(jobs)

    def probe(self) -> dict:
        """Probe the environment again in every container: the report (`ok`, the modules
        that fail and why); the sandbox keeps running either way."""
        report = self.pool.probe()
        if not report["ok"]:
            report["explanation"] = self._explain(report)
        return report

    def _explain(self, report: dict) -> str:
        return (f"the image {self.image} lists them as importable when it was built; to fix "
                "it: rebuild the image (`codeharness sandbox build --offline`, or without "
                "--offline from a registry), or give the containers more room (memory_mb, "
                "max_processes)")

    def describe(self) -> dict:
        return {"sandbox": self.name, "image": self.image, "image_id": self.image_id,
                "workers": self.workers, "memory_mb": self.memory_mb, "cpus": self.cpus,
                "languages": list(self.languages),
                "pids_limit": self.pids_limit, "tmpfs_mb": self.tmpfs_mb,
                "max_processes": self.max_processes, "file_size_mb": self.file_size_mb,
                "max_jobs_per_container": self.max_jobs_per_container, "network": "none",
                "read_only_root": True, "capabilities": "none", "user": "non-root",
                "environment_probe": self.environment}

    def close(self) -> None:
        self.pool.close()
        self._starter.shutdown(cancel_futures=True)
        while self._started:  # started early, never used
            _, started = self._started.popitem()
            if not started.cancelled() and started.exception() is None:
                started.result().stop()
        for container in _containers(self.client, f"{POOL_LABEL}={self.pool_id}"):
            _remove(container)

    def __enter__(self) -> "DockerSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect():
    """A client of the Docker engine; a clear error when none answers."""
    try:
        import docker
    except ModuleNotFoundError as exc:
        raise HarnessError("the Docker sandbox needs the docker package: "
                           "pip install 'codeharness[docker]'") from exc
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise HarnessError(f"no Docker engine answers ({exc}); start dockerd, or set "
                           "DOCKER_HOST") from exc
    return client


def _image_id(client, image: str) -> str:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(image).id
    except ImageNotFound as exc:
        raise HarnessError(f"Docker image {image!r} not found") from exc


def owner_token(pid: int | None = None) -> str:
    """Names a process uniquely on this machine: host, pid and start time (pids are reused)."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def remove_leftovers(client) -> list[str]:
    """Remove sandbox containers whose harness process is gone; return their names."""
    removed = []
    for container in _containers(client, SANDBOX_LABEL):
        owner = (container.attrs.get("Labels") or {}).get(OWNER_LABEL, "")
        host, _, pid = owner.partition(":")
        pid = pid.partition(":")[0]
        alive = host == socket.gethostname() and pid.isdigit() and owner_token(int(pid)) == owner
        if not alive:
            _remove(container)
            removed.append(container.attrs["Names"][0].lstrip("/"))
    return removed


def _containers(client, label_filter: str) -> list:
    """Containers with the label, from one listing (no per-container request that could
    race with their removal)."""
    return client.containers.list(all=True, sparse=True, filters={"label": label_filter})
