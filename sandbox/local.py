"""The local process sandbox: worker processes on this machine.

Each worker forks one child per job (see sandbox/worker.py). When the harness runs as root,
programs run as an unprivileged user id (one per worker), so the process limit applies and
the host's files are protected by permissions. Each sandbox draws its workers' user ids at
random, so two harnesses on one machine rarely share one (the kernel's process limit and
signals go by user id). Where bubblewrap is installed, each worker
lives in private network, process, IPC and mount namespaces whose root filesystem holds only
what Python needs, read-only (the system's /usr, this Python and its packages, the worker
script), plus a private, size-limited /tmp that the worker empties after every job.

Programs must be able to import what the harness's Python can, wherever it is installed. As
root without bubblewrap, a worker whose Python lies under a folder other users cannot enter
(pyenv, uv or conda under /root) covers that folder, in a mount namespace of its own, with
read-only binds of the Python folders alone (sandbox/worker.py). Every sandbox proves its
environment when it starts and as jobs go by (sandbox/probe.py).
"""

from __future__ import annotations

import functools
import importlib.machinery
import json
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

from codeharness.core import registry
from codeharness.core.records import Status
from codeharness.sandbox.base import BaseSandbox
from codeharness.sandbox.jobs import Job, Outcome
from codeharness.sandbox.pool import WorkerPool
from codeharness.sandbox.probe import Probe
from codeharness.sandbox.worker import (
    HASH_SEED,
    package_folders,
    promised_modules,
    python_folders,
    stdlib_folders,
)

# Their real paths: those are what a bubblewrapped worker sees (its binds are real paths), so
# a package reached through a symbolic link (a linked site-packages folder) still runs.
WORKER_SCRIPT = Path(__file__).resolve().with_name("worker.py")
LANGUAGES_SCRIPT = WORKER_SCRIPT.with_name("languages.py")  # the worker loads it beside itself
SANDBOX_UIDS = range(50000, 60000)  # the Docker sandbox's are 61000-64999
_claimed_uids: set[int] = set()  # by the open sandboxes of this process
TMPFS_MB = 256  # the private /tmp of a bubblewrapped worker
STOP_WAIT_S = 5.0
SCRATCH_PREFIX = "codeharness-sandbox-"
# Under bubblewrap the worker sees only these host folders (read-only), and the Python ones.
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# And these of /etc, read-only where they exist: what the toolchains of other languages read
# there (Debian's alternatives links, the JDK's, Mono's, R's and PHP's configuration, the
# dynamic linker's cache). Nothing else of /etc is there.
ETC_PATHS = ("/etc/alternatives", "/etc/ld.so.cache", "/etc/java-17-openjdk", "/etc/mono",
             "/etc/R", "/etc/php", "/etc/racket", "/etc/perl", "/etc/ssl/openssl.cnf")
ROOT_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE",
                     "CAP_FOWNER")


class LocalWorker:
    def __init__(self, command: list[str]):
        environment = {name: value for name, value in os.environ.items()
                       if not name.startswith("PYTHON")} | {"PYTHONHASHSEED": HASH_SEED}
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
            env=environment)
        assert self.process.stdin is not None and self.process.stdout is not None  # both are pipes
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


@registry.sandboxes.register
class LocalSandbox(BaseSandbox):
    name = "local"
    install_hint = ("install them into the Python environment the harness runs in, or use "
                    "--sandbox docker with an image that has them")

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
        probe = Probe(modules=_promised_modules(), shares=self.workers, baseline=_import_outside,
                      key=("local", sys.executable, self.bwrap, self.as_root, max_processes,
                           file_size_mb))
        self.pool = WorkerPool(self._start_worker, self.workers, probe, self._explain,
                               self.name)
        self._start_pool()

    def _start_worker(self, slot: int) -> LocalWorker:
        command = [sys.executable, "-s", str(WORKER_SCRIPT),
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

    def probe(self) -> dict:
        """Probe the environment again on every worker: the report (`ok`, the modules that
        fail and why); the sandbox keeps running either way."""
        report = self.pool.probe()
        if not report["ok"]:
            report["explanation"] = self._explain(report)
        return report

    def describe(self) -> dict:
        covered = sorted({f for h in self.pool.handshakes.values() for f in h.get("exposed", [])})
        return {"sandbox": self.name, "workers": self.workers, "bwrap": self.bwrap,
                "languages": list(self.languages),
                "unprivileged_uid": self.as_root, "max_processes": self.max_processes,
                "file_size_mb": self.file_size_mb, "python": sys.executable,
                "python_covered_folders": covered, "environment_probe": self.environment}

    def _explain(self, report: dict) -> str:
        """Why the probe failed and what to do, for the error message."""
        why = []
        if self.as_root:
            # Folders above the Python folders count only where nothing made them reachable.
            bridged = self.bwrap or any(h.get("exposed") for h in self.pool.handshakes.values())
            blocked = _blocked_for_others(_module_files(report["failed"]),
                                          python_folders() if bridged else [])
            if blocked:
                why.append("programs run as an unprivileged user, who cannot "
                           + ", nor ".join(blocked))
            why += sorted({h["exposure_error"] for h in self.pool.handshakes.values()
                           if h.get("exposure_error")})
        if why:
            if self.bwrap:
                bwrap = ""
            elif shutil.which("bwrap"):
                bwrap = ("run the harness where bubblewrap may make namespaces (it shows the "
                         "sandbox this Python alone), ")
            else:
                bwrap = ("install bubblewrap (apt-get install bubblewrap), which shows the sandbox "
                         "this Python alone, ")
            todo = ("install this Python where every user may read it (under /usr/local or "
                    "/opt, or give others access: chmod o+x on each folder above it, chmod -R "
                    f"o+rX on it), {bwrap}or use --sandbox docker")
        elif report["failed"]:
            todo = ("they import outside the sandbox, so its limits or isolation stop them: "
                    "use --sandbox docker, or report this message")
        else:
            todo = "use --sandbox docker, or report this message"
        return "; ".join(why + [f"to fix it: {todo}"])

    def close(self) -> None:
        self.pool.close()
        _claimed_uids.difference_update(self.uids)
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "LocalSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@functools.lru_cache(maxsize=1)
def _promised_modules() -> list[str]:
    return promised_modules()


@functools.lru_cache(maxsize=64)
def _importable_outside(names: tuple[str, ...]) -> frozenset[str]:
    result = subprocess.run([sys.executable, "-I", str(WORKER_SCRIPT), "--list-modules", "-",
                             *names], check=False, capture_output=True, text=True)
    if result.returncode != 0:  # no way to tell: every failure counts
        return frozenset(names)
    return frozenset(json.loads(result.stdout.strip().splitlines()[-1]))


def _import_outside(names: list[str]) -> set[str]:
    """Which of names this Python imports outside any sandbox (with the programs' package
    limits): a module failing there too is one this Python does not offer."""
    return set(_importable_outside(tuple(sorted(names))))


def _module_files(names) -> list[str]:
    """The files the host finds the modules in (the programs' search path)."""
    files = []
    for name in names:
        top = name.partition(".")[0]
        folders = package_folders() if top not in sys.stdlib_module_names else stdlib_folders(sys.path)
        spec = importlib.machinery.PathFinder.find_spec(top, folders)
        if spec is not None and spec.origin and os.path.isabs(spec.origin):
            files.append(spec.origin)
    return files


def _blocked_for_others(paths: list[str], bridged: list[str]) -> list[str]:
    """What keeps users other than the owner from the paths: 'enter FOLDER (mode 0700)' or
    'read FILE (mode 0600)'; the folders above those in bridged do not count."""
    bridged = [os.path.realpath(f) for f in bridged]
    outermost = [f for f in bridged if not any(o != f and f.startswith(o + "/") for o in bridged)]
    above = {os.path.dirname(f) for f in outermost}
    above = {parent for folder in above for parent in [folder, *map(str, Path(folder).parents)]}
    blocked: list[str] = []
    for path in map(os.path.realpath, paths):
        found = None
        try:
            parts = path.split("/")
            for end in range(2, len(parts)):
                folder = "/".join(parts[:end])
                mode = os.stat(folder).st_mode
                if folder not in above and not mode & 0o001:
                    found = f"enter {folder} (mode {mode & 0o7777:04o})"
                    break
            else:
                mode = os.stat(path).st_mode
                if not mode & 0o004:
                    found = f"read {path} (mode {mode & 0o7777:04o})"
        except OSError:
            continue
        if found and found not in blocked:
            blocked.append(found)
    return blocked[:3]


def _claim_uids(count: int) -> list[int]:
    free = [uid for uid in SANDBOX_UIDS if uid not in _claimed_uids]
    uids = [free.pop(secrets.randbelow(len(free))) for _ in range(count)]
    _claimed_uids.update(uids)
    return uids


def _make_scratch_root() -> str:
    # Compiled programs run from their job's folder: not on a filesystem mounted noexec.
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) and _executable("/dev/shm") \
        else tempfile.gettempdir()
    _remove_abandoned_scratch(base)
    root = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=base)
    os.chmod(root, 0o711)
    return root


def _executable(folder: str) -> bool:
    try:
        return not os.statvfs(folder).f_flag & os.ST_NOEXEC
    except OSError:
        return False


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
              # /tmp is the programs' to write, as on any machine (sticky, like the host's);
              # it is this worker's alone and emptied after every job
              "--size", str(TMPFS_MB * 1024 * 1024), "--perms", "1777", "--tmpfs", "/tmp"]
    prefix += _system_folders()
    prefix += _read_only_binds([path for path in ETC_PATHS if os.path.exists(path)])
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
    needed = sorted({os.path.realpath(str(p)) for p in
                     (WORKER_SCRIPT, LANGUAGES_SCRIPT, *python_folders())})
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
