"""The local process sandbox: worker processes on this machine.

Each worker forks one child per job (see sandbox/worker.py). When the harness runs as root,
programs run as an unprivileged user id (one per worker), so the process limit applies and
the host's files are protected by permissions. Where bubblewrap is installed, each worker
also lives in private network, process, IPC and mount namespaces with a read-only view of
the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from sandbox.jobs import Job, Outcome, Status
from sandbox.pool import WorkerPool

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
FIRST_SANDBOX_UID = 50000


class LocalWorker:
    def __init__(self, command: list[str]):
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )
        self.stdin = self.process.stdin
        self.stdout = self.process.stdout

    def should_retire(self, outcome: Outcome) -> bool:
        return outcome.status is Status.SANDBOX_ERROR

    def stop(self) -> None:
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class LocalSandbox:
    name = "local"

    def __init__(self, workers: int | None = None, bwrap: bool | None = None,
                 max_processes: int = 64, file_size_mb: int = 64):
        self.workers = workers or os.cpu_count() or 1
        self.bwrap = shutil.which("bwrap") is not None if bwrap is None else bwrap
        self.as_root = os.geteuid() == 0
        self.max_processes = max_processes
        self.file_size_mb = file_size_mb
        self.pool = WorkerPool(self._start_worker, self.workers)

    def _start_worker(self, slot: int) -> LocalWorker:
        command = [sys.executable, "-I", str(WORKER_SCRIPT),
                   "--max-processes", str(self.max_processes),
                   "--file-size-mb", str(self.file_size_mb)]
        if self.as_root:
            command += ["--uid", str(FIRST_SANDBOX_UID + slot)]
        if self.bwrap:
            command = _bwrap_prefix() + command
        return LocalWorker(command)

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        return self.pool.run(jobs)

    def describe(self) -> dict:
        return {"sandbox": self.name, "workers": self.workers, "bwrap": self.bwrap,
                "unprivileged_uid": self.as_root, "max_processes": self.max_processes,
                "file_size_mb": self.file_size_mb}

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> "LocalSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _bwrap_prefix() -> list[str]:
    prefix = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
              "--tmpfs", "/tmp", "--unshare-net", "--unshare-pid", "--unshare-ipc",
              "--unshare-uts", "--die-with-parent"]
    prefix += _expose_python()
    if os.geteuid() == 0:
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE",
                    "CAP_FOWNER"):
            prefix += ["--cap-add", cap]
    else:
        prefix += ["--unshare-user"]
    return prefix


def _expose_python() -> list[str]:
    """Let the sandbox user import Python even where it lies under a private folder.

    A folder such as /root (mode 0700) on the way to the interpreter's library is replaced
    by an empty, traversable tmpfs with only the needed subfolder bound back, read-only; the
    rest of that private folder stays hidden from programs.
    """
    needed = {Path(p) for p in (sys.base_prefix, sys.prefix, WORKER_SCRIPT.parent)}
    args: list[str] = []
    for path in sorted(needed):
        for ancestor in reversed(path.parents):
            if ancestor != Path("/") and not os.stat(ancestor).st_mode & 0o001:
                child = path.relative_to(ancestor).parts[0]
                args += ["--perms", "0755", "--tmpfs", str(ancestor),
                         "--ro-bind", str(ancestor / child), str(ancestor / child)]
                break
    return args
