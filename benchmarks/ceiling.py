"""The compute ceiling of an execution benchmark: what running the same jobs would cost with no
isolation at all.

For each problem, one trusted process prepares the problem's suite once and runs every
sample's program and tests back to back, in process: the sandbox child's own code
(`_child_main` of sandbox/worker.py: the same prelude, program, tests, per-test and per-input
limits, fail-fast rules), without the fork, the fresh process, the report channel, the
worker's supervision or the host's round trip. The ceiling is the sum of those in-process
times (each sample timed from before its program to after its last test) divided by the
number of workers: a sandbox with that many workers cannot finish sooner. As many of these
processes run at once as the sandbox has workers, so both meet the same contention.

Programs still run untrusted, so the process is confined as the sandbox's are, never on the
host unguarded: `where="local"` runs it under bubblewrap with the local sandbox's namespaces
and read-only root (sandbox/local.py), as an unprivileged user, with the job's memory limit;
`where="docker"` in a container of the sandbox's image (no network, read-only root, a
non-root user). A program that kills the process (os._exit, a crash) or outlives its limits
is charged the time it took; the process is started again for the next sample.
Programs share one interpreter here, so one may change what later ones see (patched modules,
a recursion limit): the process restores what it can (recursion limit, working directory,
standard streams, signal handlers, trace hooks), and the verdicts here are a sanity check,
not a reference.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "sandbox" / "worker.py"
IMAGE_WORKER = "/opt/codeharness/worker.py"
UIDS = range(59000, 59100)  # the programs' users here (the local sandbox draws from 50000-59999)
GRACE_S = 1.0  # past a sample's own limits, before the process is killed and started again

# The process: argv = [worker.py, uid or -1, memory MB]. Messages as the worker's (4-byte
# length, JSON): {"suite": wire} then {"job": wire} per sample; it answers each job with
# {"id", "time_s", "verdict"}.
RUNNER = r'''
import builtins, importlib.util, os, resource, signal, sys, tempfile, time
spec = importlib.util.spec_from_file_location("ceiling_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
uid, memory_mb = int(sys.argv[2]), int(sys.argv[3])
requests, answers = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(devnull, fd)
sys.stdin = open(0, "r", closefd=False)
sys.stdout = open(1, "w", closefd=False)
sys.stderr = open(2, "w", closefd=False)
streams = (sys.stdin, sys.stdout, sys.stderr)
for name in worker.PRELOADED_MODULES:
    __import__(name)
folder = tempfile.mkdtemp(prefix="ceiling-")
if uid >= 0:
    os.chown(folder, uid, uid)
os.environ.clear()
os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": folder, "TMPDIR": folder,
                   "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
worker._limit_packages()
resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
tests_builtins = dict(builtins.__dict__)
recursion_limit = sys.getrecursionlimit()
digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
signal.signal(signal.SIGALRM, worker._on_alarm)
signal.signal(signal.SIGPROF, worker._on_cpu_limit)
exec(compile(worker.WARM_UP, "<warm-up>", "exec", dont_inherit=True), {"__name__": "__warm_up__"})
prepared, tests = None, []
while (message := worker.read_message(requests)) is not None:
    if "suite" in message:
        prepared = worker.prepare_suite(message["suite"], tests_builtins)
        tests = worker.suite_tests(message["suite"])
        continue
    job = {**message["job"], "tests": tests}
    events = []
    os.chdir(folder)
    start = time.perf_counter()
    try:
        worker._child_main(job, events.append, 0, set(), tests_builtins, prepared)
    except BaseException as exc:
        events.append({"event": "end", "phase": len(tests), "status": "error"})
    seconds = time.perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.signal(signal.SIGALRM, worker._on_alarm)
    signal.signal(signal.SIGPROF, worker._on_cpu_limit)
    sys.settrace(None)
    sys.setprofile(None)
    sys.setrecursionlimit(recursion_limit)
    if digits is not None:
        sys.set_int_max_str_digits(digits)
    sys.stdin, sys.stdout, sys.stderr = streams
    ended = [e for e in events if e.get("event") == "end"]
    verdict = next((e["status"] for e in ended if e["status"] not in ("passed", "not_run")), "passed")
    if not ended:
        verdict = "error"
    worker.write_message(answers, {"id": job["id"], "time_s": seconds, "verdict": verdict})
'''


@dataclass
class Ceiling:
    seconds: float  # the sum of in-process times divided by the workers
    in_process_s: float  # the sum itself
    wall_s: float  # how long measuring took, with `workers` processes at once
    workers: int
    where: str
    restarts: int  # processes started again after a sample killed or outlived one
    verdicts: dict[str, str] = field(default_factory=dict)  # job id -> status
    times: dict[str, float] = field(default_factory=dict)  # job id -> in-process seconds


def measure(jobs: list, workers: int, where: str = "local", image: str | None = None) -> Ceiling:
    """The ceiling of running `jobs` (sandbox Jobs, Python) with `workers` workers."""
    from codeharness.sandbox.jobs import Suite

    groups: dict[str, tuple] = {}
    for job in jobs:
        suite = job.suite or Suite(job.tests, prelude=job.prelude)
        groups.setdefault(suite.id, (suite, []))[1].append(job)
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for group in sorted(groups.values(), key=lambda g: -len(g[1])):  # the longest first
        todo.put(group)
    results: dict[str, tuple[float, str]] = {}
    restarts = [0]
    lock = threading.Lock()

    def serve(slot: int) -> None:
        runner = _Runner(slot, where, image)
        try:
            while True:
                try:
                    suite, group = todo.get_nowait()
                except queue.Empty:
                    return
                for job_id, seconds, verdict in runner.run(suite, group):
                    with lock:
                        results[job_id] = (seconds, verdict)
        finally:
            with lock:
                restarts[0] += runner.restarts
            runner.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=serve, args=(slot,)) for slot in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    missing = [job.id for job in jobs if job.id not in results]
    if missing:
        raise RuntimeError(f"the ceiling has no time for {len(missing)} jobs ({missing[:3]})")
    total = sum(seconds for seconds, _ in results.values())
    return Ceiling(total / workers, total, wall, workers, where, restarts[0],
                   {job_id: verdict for job_id, (_, verdict) in results.items()},
                   {job_id: seconds for job_id, (seconds, _) in results.items()})


class _Runner:
    """One confined in-process runner, started again after a sample breaks it."""

    def __init__(self, slot: int, where: str, image: str | None):
        self.slot, self.where, self.image = slot, where, image
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def _start(self) -> subprocess.Popen:
        uid = UIDS[self.slot % len(UIDS)] if os.geteuid() == 0 else -1
        if self.where == "docker":
            if not self.image:
                raise ValueError("the Docker ceiling needs the sandbox's image")
            command = ["docker", "run", "-i", "--rm", "--network", "none", "--read-only",
                       "--tmpfs", "/tmp:size=256m,mode=1777", "--memory", "4g",
                       "--pids-limit", "128", "--cap-drop", "ALL",
                       "--security-opt", "no-new-privileges", "--user", f"{UIDS[self.slot]}",
                       "--log-driver", "none", "--entrypoint", "python3", self.image,
                       "-I", "-c", RUNNER, IMAGE_WORKER, "-1", "4096"]
        else:
            from codeharness.sandbox.local import _bwrap_prefix, _bwrap_works

            if not _bwrap_works():
                raise RuntimeError("the local ceiling runs under bubblewrap (apt-get install "
                                   "bubblewrap), or use where='docker'")
            command = [*_bwrap_prefix(), sys.executable, "-I", "-c", RUNNER, str(WORKER),
                       str(uid), "4096"]
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)

    def run(self, suite, jobs: list):
        """(job id, in-process seconds, verdict) for each job, in order."""
        from codeharness.sandbox.worker import read_message, write_message

        index, start = 0, time.perf_counter()
        while index < len(jobs):
            if self.process is None:
                self.process = self._start()
            process = self.process
            try:
                write_message(process.stdin, {"suite": suite.to_wire()})
                while index < len(jobs):
                    job = jobs[index]
                    limit = job.program_timeout_s + sum(t.timeout_s for t in job.tests) + GRACE_S
                    start = time.perf_counter()
                    write_message(process.stdin, {"job": job.to_wire()})
                    answer = _read_within(process, read_message, limit)
                    if answer is None:  # killed by its program, or stuck past its limits
                        raise BrokenPipeError
                    yield answer["id"], answer["time_s"], answer["verdict"]
                    index += 1
            except (BrokenPipeError, ConnectionError, OSError):
                yield jobs[index].id, time.perf_counter() - start, "crashed"
                index += 1
                self.restarts += 1
                self.close()

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _read_within(process: subprocess.Popen, read_message, seconds: float) -> dict | None:
    """The process's next answer, or None when it has none within `seconds` (it is killed)."""
    answer: list = []
    reader = threading.Thread(target=lambda: answer.append(read_message(process.stdout)), daemon=True)
    reader.start()
    reader.join(seconds)
    if reader.is_alive():
        process.kill()
        reader.join()
        return None
    return answer[0]
