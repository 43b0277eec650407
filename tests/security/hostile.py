"""A catalogue of hostile programs, each with the verdicts any sandbox may give it.

`hostile_cases(run_dir, port)` returns the cases; `run_dir` is a folder the programs try to
read and write (stand-in for a run directory), `port` a TCP server's on the host's loopback
that they try to reach. Where a program probes its confinement (writes, reads, connections),
it records what it managed and its tests assert, from inside, that every attempt failed; so
the expected verdict stays PASSED and a breach shows as a failed test with what got through.
Programs write only in their working directory, so the catalogue fits every sandbox (a
container's tmpfs, or a job folder of the local sandbox).

The suites that run these (tests/security/test_*_hostile.py) also check what a program cannot
report on: the harness keeps going, the host is untouched, nothing is left running.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job
from codeharness.sandbox.jobs import TestCase as Case

REPO = Path(__file__).resolve().parents[2]
IN_PROCESS_FORGERY = (
    "known hole: tests run in the program's own interpreter after it, so a program that finds "
    "the reporter through the interpreter's frames still fakes a pass (README, Security); "
    "strict, so a fix shows up here")


@dataclass
class Hostile:
    name: str
    program: str
    tests: list[str] = field(default_factory=lambda: ["assert f(1) == 2"])
    expected: frozenset = frozenset({Status.PASSED})
    options: dict = field(default_factory=dict)  # Job fields: time and memory limits
    forges_in_process: bool = False  # a known hole: see IN_PROCESS_FORGERY
    leaves_processes: bool = False  # the sandbox must find and kill some after the job

    def job(self) -> Job:
        tests = [Case(f"t{i}", code) for i, code in enumerate(self.tests)]
        return Job(self.name, self.program, tests, fail_fast=False, **self.options)


def hostile_cases(run_dir: Path, port: int, writable: str = "") -> list[Hostile]:
    """`writable`: a folder besides the job's own that the sandbox lets programs write (a
    container's /tmp, emptied after every job); its paths do not count as outside."""
    host_name = socket.gethostname()
    outside = [path for path in (
        "/evil", "/etc/passwd", "/etc/evil", "/usr/lib/evil", "/tmp/evil", "/var/tmp/evil",
        "/root/evil", "/home/evil", "/dev/shm/evil", "/dev/evil", "/run/evil",
        "/proc/sys/kernel/hostname", "/sys/kernel/evil", str(run_dir / "evil"),
        str(run_dir / "generations.jsonl"), str(REPO / "evil"))
        if not (writable and path.startswith(writable.rstrip("/") + "/"))]
    return [
        Hostile("fork bomb", """
import os
def f(x): return x + 1
while True:
    try:
        os.fork()
    except OSError:
        pass
""", expected=frozenset({Status.TIMEOUT}), options={"program_timeout_s": 2},
            leaves_processes=True),
        Hostile("memory bomb", """
hoard = []
while True:
    hoard.append(b"x" * (16 << 20))
""", expected=frozenset({Status.OUT_OF_MEMORY}), options={"memory_mb": 512}),
        Hostile("CPU loop ignoring SIGTERM", """
import signal
for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU):
    signal.signal(number, signal.SIG_IGN)
while True:
    pass
""", expected=frozenset({Status.TIMEOUT}), options={"program_timeout_s": 1}),
        Hostile("1 GB of output", """
import os
chunk = b"x" * (1 << 20)
for _ in range(1024):
    os.write(1, chunk)
    os.write(2, chunk[:4096])
def f(x): return x + 1
""", expected=frozenset({Status.PASSED, Status.TIMEOUT}), options={"program_timeout_s": 10}),
        Hostile("writes outside its folder", f"""
import os
def f(x): return x + 1
written = []
for path in {tuple(outside)!r}:
    try:
        with open(path, "a") as out:
            out.write("owned")
        written.append(path)
    except OSError:
        pass
with open("allowed", "w") as out:
    out.write("the job's own folder is writable")
""", tests=["assert f(1) == 2", "assert written == [], written"]),
        Hostile("reads the host's files", f"""
import os
def f(x): return x + 1
def readable(path):
    try:
        with open(path, "rb") as source:
            return source.read(1) is not None
    except OSError:
        return False
def host_name():
    try:
        with open("/etc/hostname") as source:
            return source.read().strip()
    except OSError:
        return None
seen = {{
    "run directory": os.path.exists({str(run_dir)!r}),
    "run records": readable({str(run_dir / 'generations.jsonl')!r}),
    "host repository": readable({str(REPO / 'README.md')!r}),
    "host name": host_name() == {host_name!r},
    "docker socket": os.path.exists("/var/run/docker.sock"),
    "host processes": len([p for p in os.listdir("/proc") if p.isdigit()]) > 5,
}}
""", tests=["assert f(1) == 2", "assert not any(seen.values()), seen"]),
        Hostile("connects to the host's loopback", f"""
import socket
def f(x): return x + 1
connected = []
for host in ("127.0.0.1", "::1", "172.17.0.1", "host.docker.internal", {host_name!r}):
    try:
        socket.create_connection((host, {port}), timeout=1).close()
        connected.append(host)
    except OSError:
        pass
""", tests=["assert f(1) == 2", "assert connected == [], connected"]),
        Hostile("kills pid 1 and the worker", """
import os, signal, time
for number in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP, signal.SIGHUP,
               signal.SIGQUIT, signal.SIGUSR1, signal.SIGSEGV):
    for pid in {1, os.getppid()}:
        try:
            os.kill(pid, number)
        except OSError:
            pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
time.sleep(0.2)
def f(x): return x + 1
"""),
        Hostile("daemonized grandchild", """
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        while True:
            time.sleep(0.05)
            with open("outlived", "a") as out:
                out.write("still here")
    os._exit(0)
os.wait()
def f(x): return x + 1
""", leaves_processes=True),
        Hostile("fills the disk", """
import errno
def f(x): return x + 1
errors = set()
for index in range(64):
    try:
        with open(f"fill{index}", "wb") as out:
            for _ in range(32):
                out.write(b"x" * (1 << 20))
    except OSError as exc:
        errors.add(exc.errno)
        break
""", tests=["assert f(1) == 2", "assert errno.ENOSPC in errors, errors"]),
        Hostile("one file past the file-size limit", """
import errno
def f(x): return x + 1
try:
    with open("huge", "wb") as out:
        for _ in range(1024):
            out.write(b"x" * (1 << 20))
    error = None
except OSError as exc:
    error = exc.errno
""", tests=["assert f(1) == 2", "assert error == errno.EFBIG, error"]),
        Hostile("segfault through ctypes", """
import ctypes
def f(x): return x + 1
ctypes.string_at(0)
""", expected=frozenset({Status.ERROR})),
        Hostile("os._exit(0) before the assertions", """
import os
def f(x):
    os._exit(0)
""", expected=frozenset({Status.ERROR})),
        Hostile("os._exit(0) in the program", """
import os
def f(x): return 0
os._exit(0)
""", expected=frozenset({Status.ERROR})),
        Hostile("sys.exit(0) before the assertions", """
import sys
def f(x):
    sys.exit(0)
""", expected=frozenset({Status.ERROR})),
        Hostile("fake results on every inherited descriptor", """
import json, os, struct
def f(x): return 0
fake = json.dumps({"event": "end", "phase": 0, "status": "passed", "time_s": 0.0}).encode()
outcome = json.dumps({"job_id": "x", "status": "passed", "tests": []}).encode()
for fd in range(256):
    for data in (fake + b"\\n", struct.pack(">I", len(outcome)) + outcome):
        try:
            os.write(fd, data)
        except OSError:
            pass
os._exit(0)
""", expected=frozenset({Status.ERROR})),
        Hostile("unsigned start, program and test reports on every descriptor", """
import os
def f(x): return 0
lines = [b'{"event": "start"}',
         b'{"event": "end", "phase": -1, "status": "passed", "time_s": 0.0}',
         b'{"event": "end", "phase": 0, "status": "passed", "time_s": 0.0}']
for fd in range(256):
    for line in lines:
        try:
            os.write(fd, line + b"\\n")
        except OSError:
            pass
os._exit(0)
""", expected=frozenset({Status.ERROR})),
        Hostile("monkey-patched builtins", """
import builtins
def f(x): return 0
builtins.abs = lambda x: 2
builtins.len = lambda x: 2
builtins.isinstance = lambda *args: True
real_compile = compile
builtins.exec = lambda *args, **kwargs: None
builtins.compile = lambda *args, **kwargs: real_compile("pass", "<forged>", "exec")
builtins.AssertionError = type("AssertionError", (Exception,), {})
""", tests=["assert abs(f(1)) == 2 and len([]) == 2 and isinstance(f, int)"],
            expected=frozenset({Status.FAILED, Status.ERROR})),
        Hostile("monkey-patched harness functions", """
import sys
def f(x): return 0
worker = sys.modules["__main__"]
for name in dir(worker):
    if callable(getattr(worker, name)) and name.startswith("_"):
        try:
            setattr(worker, name, lambda *args, **kwargs: {"status": "passed", "time_s": 0.0})
        except (AttributeError, TypeError):
            pass
""", expected=frozenset({Status.FAILED, Status.ERROR})),
        Hostile("monkey-patched json encoder", """
import json
def f(x): return 0
real_dumps = json.dumps
def forged(event, *args, **kwargs):
    if isinstance(event, dict) and event.get("event") == "end":
        event = {**event, "status": "passed"}
    return real_dumps(event, *args, **kwargs)
json.dumps = forged
json.encoder.encode_basestring_ascii = lambda text: '"passed"'
""", expected=frozenset({Status.FAILED})),
        Hostile("monkey-patched os.write", """
import os
def f(x): return 0
real_write = os.write
def forged(fd, data):
    return real_write(fd, bytes(data).replace(b'"failed"', b'"passed"'))
os.write = forged
""", expected=frozenset({Status.FAILED})),
        Hostile("trace hook jumping over the assertions", """
import sys
def f(x): return 0
def jump_over_line_1(frame, event, arg):
    if frame.f_code.co_filename.startswith("<test") and event == "line" and frame.f_lineno == 1:
        frame.f_lineno = 2
    return jump_over_line_1
sys.settrace(jump_over_line_1)
""", tests=["assert f(1) == 2\npass"], expected=frozenset({Status.FAILED})),
        Hostile("malformed reports through the harness's own reporter", with_reporter("""
for junk in ({"event": "end"}, {"event": "end", "phase": 99, "status": "passed"},
             {"event": "end", "phase": "0", "status": "passed"}, {"event": None},
             {"event": "end", "phase": 0, "status": "owned"}):
    reporter(junk)
"""), expected=frozenset({Status.ERROR})),
        Hostile("reports through the harness's own reporter", with_reporter("""
reporter({"event": "end", "phase": -1, "status": "passed", "time_s": 0.0})
reporter({"event": "end", "phase": 0, "status": "passed", "time_s": 0.0})
"""), expected=frozenset({Status.FAILED, Status.ERROR}), forges_in_process=True),
    ]


def with_reporter(use: str) -> str:
    """A program that finds the harness's reporter in the interpreter's frames, runs `use`
    with it (as `reporter`) and exits at once."""
    body = "".join("        " + line + "\n" for line in use.strip().splitlines())
    return f"""
import os, sys
def f(x): return 0
frame = sys._getframe()
while frame is not None:
    reporter = frame.f_locals.get("report") if frame.f_code.co_name != "<module>" else None
    if callable(reporter):
{body}        os._exit(0)
    frame = frame.f_back
"""


def canary_jobs() -> list[Job]:
    """Run after a hostile job on the same worker: a right and a wrong program get their
    verdicts, and the right one finds a clean working folder with room to write."""
    right = """
import os
def f(x): return x + 1
left_over = sorted(os.listdir("."))
disk = os.statvfs(".")
"""
    tests = ["assert f(1) == 2", "assert left_over == [], left_over",
             "assert disk.f_bavail > 0.9 * disk.f_blocks, (disk.f_bavail, disk.f_blocks)"]
    return [Job("right", right, [Case(f"t{i}", code) for i, code in enumerate(tests)]),
            Job("wrong", "def f(x): return x", [Case("t", "assert f(1) == 2")])]


class LoopbackServer:
    """A TCP server on every interface of the host, counting the connections it accepts."""

    def __init__(self):
        self.socket = socket.create_server(("0.0.0.0", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.socket.close()
