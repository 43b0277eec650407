"""The local process sandbox: worker processes on this machine.

Each worker forks one child per job (see sandbox/worker.py). When the harness runs as root,
programs run as an unprivileged user id (one per worker), so the process limit applies and
the host's files are protected by permissions. Each sandbox draws its workers' user ids at
random, so two harnesses on one machine rarely share one (the kernel's process limit and
signals go by user id). Where bubblewrap is installed, each worker
lives in private network, process, IPC and mount namespaces whose root filesystem holds only
what Python needs, read-only (the system's /usr, this Python and its packages, the worker
script), plus a private, size-limited /tmp that the worker empties after every job.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from sandbox.jobs import Job, Outcome, Status
from sandbox.pool import WorkerPool

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
SANDBOX_UIDS = range(50000, 60000)  # the Docker sandbox's are 61000-64999
_claimed_uids: set[int] = set()  # by the open sandboxes of this process
TMPFS_MB = 256  # the private /tmp of a bubblewrapped worker
STOP_WAIT_S = 5.0
SCRATCH_PREFIX = "codeharness-sandbox-"
# Under bubblewrap the worker sees only these host folders (read-only), and the Python ones.
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ROOT_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE",
                     "CAP_FOWNER")


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
        """The worker kills its job's processes and removes its scratch folder on SIGTERM
        (under bubblewrap, the namespaces go with it)."""
        self.process.terminate()
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class LocalSandbox:
    name = "local"

    def __init__(self, workers: int | None = None, bwrap: bool | None = None,
                 max_processes: int = 64, file_size_mb: int = 64):
        self.workers = workers or os.cpu_count() or 1
        self.bwrap = _bwrap_works() if bwrap is None else bwrap
        self.as_root = os.geteuid() == 0
        self.max_processes = max_processes
        self.file_size_mb = file_size_mb
        # Outside bubblewrap, workers keep their scratch folders under one folder of ours,
        # on a memory filesystem where there is one (a job's folder costs ~2 ms on disk).
        self.scratch = None if self.bwrap else _make_scratch_root()
        self.uids = _claim_uids(self.workers) if self.as_root else []
        self.pool = WorkerPool(self._start_worker, self.workers)

    def _start_worker(self, slot: int) -> LocalWorker:
        command = [sys.executable, "-I", str(WORKER_SCRIPT),
                   "--max-processes", str(self.max_processes),
                   "--file-size-mb", str(self.file_size_mb)]
        if self.as_root:
            command += ["--uid", str(self.uids[slot])]
        if self.bwrap:
            command = _bwrap_prefix() + command + ["--scratch", "/tmp"]
        else:
            scratch = tempfile.mkdtemp(prefix=f"slot{slot}-", dir=self.scratch)
            os.chmod(scratch, 0o711)  # the sandbox user reaches its job folder, cannot list
            command += ["--scratch", scratch]
        return LocalWorker(command)

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        return self.pool.run(jobs)

    def describe(self) -> dict:
        return {"sandbox": self.name, "workers": self.workers, "bwrap": self.bwrap,
                "unprivileged_uid": self.as_root, "max_processes": self.max_processes,
                "file_size_mb": self.file_size_mb}

    def close(self) -> None:
        self.pool.close()
        _claimed_uids.difference_update(self.uids)
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "LocalSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _claim_uids(count: int) -> list[int]:
    free = [uid for uid in SANDBOX_UIDS if uid not in _claimed_uids]
    uids = [free.pop(secrets.randbelow(len(free))) for _ in range(count)]
    _claimed_uids.update(uids)
    return uids


def _make_scratch_root() -> str:
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else tempfile.gettempdir()
    _remove_abandoned_scratch(base)
    root = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=base)
    os.chmod(root, 0o711)
    return root


def _remove_abandoned_scratch(base: str) -> None:
    """Remove the scratch folders of harnesses that were killed before they could."""
    for entry in Path(base).glob(f"{SCRATCH_PREFIX}*"):
        match = re.fullmatch(rf"{SCRATCH_PREFIX}(\d+)-.*", entry.name)
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _bwrap_works() -> bool:
    """bubblewrap is installed and may make namespaces here (some systems forbid users
    theirs); a warning says what isolation is lost when it is installed but cannot."""
    if shutil.which("bwrap") is None:
        return False
    probe = subprocess.run([*_bwrap_prefix(), "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        warnings.warn(f"bwrap cannot run here ({probe.stderr.strip()}): the local sandbox "
                      "runs without its private network, process and mount namespaces")
    return probe.returncode == 0


def _bwrap_prefix() -> list[str]:
    prefix = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
              "--unshare-cgroup-try", "--hostname", "sandbox", "--die-with-parent",
              "--new-session", "--proc", "/proc", "--dev", "/dev",
              "--size", str(TMPFS_MB * 1024 * 1024), "--tmpfs", "/tmp"]
    prefix += _system_folders()
    prefix += _read_only_binds(_python_paths())
    if os.geteuid() == 0:
        prefix += [arg for cap in ROOT_CAPABILITIES for arg in ("--cap-add", cap)]
    else:
        prefix += ["--unshare-user"]
    return prefix


def _system_folders() -> list[str]:
    args: list[str] = []
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    return args


def _python_paths() -> list[str]:
    """This Python, its packages and the worker script, where the system folders lack them."""
    needed = sorted({os.path.realpath(p) for p in
                     (sys.base_prefix, sys.prefix, sys.exec_prefix, WORKER_SCRIPT)})
    kept: list[str] = []
    for path in needed:
        covered = [*SYSTEM_FOLDERS, *kept]
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in covered):
            kept.append(path)
    return kept


def _read_only_binds(paths: list[str]) -> list[str]:
    """Bind each path, read-only, under folders everyone may traverse (bwrap would make them
    0700, which would hide the path from the sandbox users)."""
    args: list[str] = []
    made: set[Path] = set()
    for path in paths:
        for folder in reversed(Path(path).parents[:-1]):  # from the top, without "/"
            if folder not in made:
                args += ["--perms", "0755", "--dir", str(folder)]
                made.add(folder)
        args += ["--ro-bind", path, path]
    return args
