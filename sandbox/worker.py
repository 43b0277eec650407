"""The execution worker: a long-lived process that runs one job at a time.

It reads jobs from stdin and writes outcomes to stdout, each message a 4-byte big-endian
length followed by JSON. For every job it forks a child that drops privileges, applies
rlimits, runs the untrusted program and then the trusted tests in a fresh temporary
directory. The worker enforces the wall-clock limits, kills and reaps the child's whole
process tree (it is a child subreaper, so daemonized grandchildren come back to it), and
returns a bounded result.

The child reports through a pipe, and only lines that start with a per-job secret count.
The secret exists only in the worker's memory: it is not in the child's environment,
arguments or files. So a program that exits early, or writes fake results to any file
descriptor, can never produce a pass; a test passes only when its own code ran to the end.

Speed: forking is cheap, but after a fork every memory page a process writes costs it a
page fault (several microseconds in a virtual machine), the parent as much as the child. So
the worker does all it can once, before forking: it imports and warms the modules programs
use, freezes its objects out of the garbage collector's reach, sets the children's
environment and standard streams, and builds the pristine builtins tests get back. Then it
never forks again: children come from a template process, a prepared copy of the worker
that waits for a job, forks its successor, and becomes the job's child.

Standard library only: the same file runs on the host (local sandbox) and inside the
container image (Docker sandbox), where it may be the container's init process.
"""

from __future__ import annotations

import builtins
import ctypes
import gc
import importlib.machinery
import json
import marshal
import os
import resource
import secrets
import select
import shutil
import signal
import site
import socket
import struct
import sys
import tempfile
import time
import traceback
import types
from json.encoder import encode_basestring_ascii

OUTPUT_LIMIT = 64 * 1024  # bytes of stdout/stderr kept per job
MESSAGE_LIMIT = 2000  # characters of an exception message kept
VALUE_LIMIT = 8 * 1024 * 1024  # characters of a test's reported value (its `__result__`)
STARTUP_GRACE_S = 5.0  # from the fork to the program's start
PHASE_GRACE_S = 0.5  # past a phase's own limit, before the worker kills the child
DRAIN_S = 1.0  # for the output pipes to close once every process of the job is gone
# For a template to fork. Only a killed one fails to, and that mostly shows at once (its
# socket closes): this much is for machines loaded beyond measure.
TEMPLATE_ANSWER_S = 30.0
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PROGRAM = -1  # phase index of the program itself; tests are 0..n-1
STATUSES = {"passed", "failed", "error", "timeout", "out_of_memory", "syntax_error",
            "sandbox_error", "not_run"}
CHILD_FAILED = 70  # exit code of a child whose own setup failed before the program started
CHILD_FDS = 5  # a child's request, stdin, stdout, stderr and report pipe
# Python's usual handlers, which programs get back from templates (the worker has its own).
PROGRAM_SIGNALS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
WORKDIR_NAME = "job"  # the per-job folder inside the scratch folder, made anew for each job
# Imported once here so each forked child has them for free; benchmark programs use them.
PRELOADED_MODULES = (
    "array", "bisect", "collections", "copy", "datetime", "decimal", "fractions",
    "functools", "hashlib", "heapq", "itertools", "math", "operator", "random", "re",
    "statistics", "string", "typing",
)
# The third-party packages programs may import (as the Docker image has them), when the
# harness's environment has them; nothing else of it.
THIRD_PARTY_PACKAGES = ("numpy",)
# Run once before the first fork: it specializes the interpreter's hot paths for the kind of
# code benchmarks run, so children do not each redo (and copy-on-write) that work.
WARM_UP = '''
import math, re, collections, itertools, functools, heapq, bisect, string
def check(candidate):
    assert candidate([3, 1, 2], "a b") == ([1, 2, 3], ["a", "b"], 6)
def solve(numbers, text):
    words = [w.strip() for w in re.split(r"\\s+", text) if w]
    counts = collections.Counter(text.lower())
    seen = {n: i for i, n in enumerate(numbers)}
    total = functools.reduce(lambda a, b: a + b, numbers, 0)
    heap = list(numbers); heapq.heapify(heap)
    assert math.isclose(sum(map(float, numbers)), float(total)) and abs(-1) == 1
    assert bisect.bisect_left(sorted(numbers), 2) == 1 and max(seen) == 3 and counts["a"] == 1
    assert "".join(reversed(str(total))) and string.ascii_letters and len(set(words)) == 2
    assert list(itertools.chain(numbers, [])) and all(isinstance(n, int) for n in numbers)
    return sorted(numbers), words, total
for _ in range(20):
    check(solve)
'''


class Timeout(BaseException):
    """Raised by SIGALRM; a BaseException so `except Exception` in programs misses it."""


# ---------------------------------------------------------------- wire protocol


def read_message(stream) -> dict | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return json.loads(payload)


def write_message(stream, message: dict) -> None:
    payload = json.dumps(message).encode()
    stream.write(struct.pack(">I", len(payload)) + payload)
    stream.flush()


# ---------------------------------------------------------------- inside the child
#
# This code runs after the untrusted program, in the same interpreter. So that a program
# cannot fake a report by rebinding a name (a builtin such as `exec`, a module attribute such
# as `os.write` or `json.dumps`, a global of this module), it runs as sealed copies whose
# globals, modules and builtins are private snapshots taken before any program ran (`_seal`).
# Reaching into frames, function internals or memory is not contained (README, Security).


def _exception_fields(exc: BaseException) -> dict:
    chain = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins" and c is not object]
    return {
        "exception_type": type(exc).__name__,
        "exception_chain": chain,
        "message": str(exc)[:MESSAGE_LIMIT],
    }


def _status_of(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        return "failed"
    if isinstance(exc, Timeout):
        return "timeout"
    if isinstance(exc, MemoryError):
        return "out_of_memory"
    if isinstance(exc, SyntaxError):
        return "syntax_error"
    return "error"


def _bounded_repr(value) -> str:
    """repr() of a test's result, for the host to read back with ast.literal_eval."""
    try:
        text = repr(value)
    except BaseException as exc:  # noqa: BLE001 - a hostile __repr__ is just an error
        return f"<unrepresentable: {type(exc).__name__}>"
    return text if len(text) <= VALUE_LIMIT else "<too large>"


def _on_alarm(signum, frame):
    raise Timeout("time limit exceeded")


def _run_with_alarm(code, namespace: dict, timeout_s: float) -> dict:
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        exec(code, namespace)
        result = {"status": "passed"}
    except BaseException as exc:  # noqa: BLE001 - every failure of untrusted code is a verdict
        result = {"status": _status_of(exc), **_exception_fields(exc)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    result["time_s"] = time.perf_counter() - start
    return result


def _restore_interpreter() -> None:
    """Undo what a program may have changed to fake the tests' checks or escape their time
    limits: trace and profile hooks, the alarm handler. (Tests also get their own builtins.)"""
    sys.settrace(None)
    sys.setprofile(None)
    signal.signal(signal.SIGALRM, _on_alarm)


def _encode_event(event: dict) -> bytes:
    """A report as JSON, made without the json module's Python code, which a program can
    patch. Values are strings, numbers, None or lists of strings."""
    fields = []
    for key, value in event.items():
        if isinstance(value, str):
            text = encode_basestring_ascii(value)
        elif isinstance(value, list):
            text = "[" + ",".join([encode_basestring_ascii(item) for item in value]) + "]"
        elif value is None:
            text = "null"
        else:
            text = repr(value)
        fields.append(encode_basestring_ascii(key) + ":" + text)
    return ("{" + ",".join(fields) + "}").encode()


def _child_main(job: dict, report, first_test: int, failed_groups: set[str],
                tests_builtins: dict) -> None:
    namespace: dict = {"__name__": "__program__", "__builtins__": builtins}
    if job["prelude"]:
        exec(compile(job["prelude"], "<prelude>", "exec"), namespace)
    report({"event": "start"})
    try:
        code = compile(job["program"], "<program>", "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: source with NUL bytes
        report({"event": "end", "phase": PROGRAM, "status": "syntax_error", **_exception_fields(exc)})
        return
    result = _run_with_alarm(code, namespace, job["program_timeout_s"])
    report({"event": "end", "phase": PROGRAM, **result})
    if result["status"] != "passed":
        return

    for index in range(first_test, len(job["tests"])):
        test = job["tests"][index]
        if job["fail_fast"] and test["group"] in failed_groups:
            report({"event": "end", "phase": index, "status": "not_run", "time_s": 0.0})
            continue
        _restore_interpreter()
        # The test's code looks builtins up in this pristine copy, whatever the program
        # did to the builtins module.
        test_namespace = dict(namespace, __builtins__=tests_builtins)
        try:
            test_code = compile(test["code"], f"<test {test['name']}>", "exec")
        except SyntaxError as exc:
            result = {"status": "sandbox_error", **_exception_fields(exc), "time_s": 0.0}
        else:
            result = _run_with_alarm(test_code, test_namespace, test["timeout_s"])
            if "__result__" in test_namespace:
                result["value"] = _bounded_repr(test_namespace["__result__"])
        report({"event": "end", "phase": index, **result})
        if result["status"] != "passed":
            failed_groups.add(test["group"])


def _child_process(job: dict, secret: bytes, result_fd: int, first_test: int,
                   failed_groups: set[str], tests_builtins: dict) -> None:
    """The child after its setup: run the job, report each phase, exit. Never returns."""
    exit_code = 0
    try:
        def report(event: dict) -> None:
            os.write(result_fd, secret + _encode_event(event) + b"\n")

        _child_main(job, report, first_test, set(failed_groups), tests_builtins)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - must never return into the worker loop
        traceback.print_exc()
        exit_code = CHILD_FAILED
    os._exit(exit_code)


SEALED_FUNCTIONS = (_exception_fields, _status_of, _bounded_repr, _on_alarm, _run_with_alarm,
                    _restore_interpreter, _encode_event, _child_main, _child_process)
SNAPSHOT_MODULES = ("os", "signal", "sys", "time", "traceback")


def _seal() -> dict:
    """Copies of the child's functions over a private snapshot of this module's globals, in
    which the modules they call into are frozen copies and builtins are a private dict."""
    private = dict(globals())
    for name in SNAPSHOT_MODULES:
        private[name] = types.SimpleNamespace(**vars(private[name]))
    private["__builtins__"] = dict(builtins.__dict__)
    for function in SEALED_FUNCTIONS:
        private[function.__name__] = types.FunctionType(
            function.__code__, private, function.__name__, function.__defaults__,
            function.__closure__)
    return private


class _AllowedPackages:
    """Finds the allowed third-party packages in the environment's package folders."""

    def __init__(self, names: tuple[str, ...], folders: list[str]):
        self.names = names
        self.folders = folders

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:  # submodules come from their package's own __path__
            return None
        return importlib.machinery.PathFinder.find_spec(name, self.folders)


def _limit_packages() -> None:
    """Programs get the standard library and THIRD_PARTY_PACKAGES, not the rest of the
    harness's environment: a verdict must not depend on what the harness happens to have
    installed, nor a program's stray `import torch` cost seconds."""
    package_folders = set(site.getsitepackages())
    sys.meta_path[:] = [
        _AllowedPackages(THIRD_PARTY_PACKAGES, [p for p in sys.path if p in package_folders]),
        importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter,
        importlib.machinery.PathFinder]
    sys.path[:] = [p for p in sys.path if p not in package_folders and os.path.isdir(p)]


def _cpu_limit(job: dict) -> int:
    """Seconds of CPU time a child may use: a backstop for the wall-clock limits."""
    return int(job["program_timeout_s"] + sum(t["timeout_s"] for t in job["tests"])) + 2


# ---------------------------------------------------------------- the worker


class Worker:
    def __init__(self, uid: int | None, gid: int | None, max_processes: int,
                 file_size_mb: int, scratch: str | None):
        self.uid = uid
        self.gid = gid if gid is not None else uid
        self.max_processes = max_processes
        self.file_size = file_size_mb * 1024 * 1024
        # A given scratch folder is this worker's alone (a container's tmpfs, or one the
        # local sandbox made); either way it is emptied after every job, so nothing a
        # program writes there outlives its job.
        self.scratch = scratch or tempfile.mkdtemp(prefix="codeharness-worker-")
        self.workdir = os.path.join(self.scratch, WORKDIR_NAME)
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        # Programs may run as this worker's own user (Docker sandbox): not dumpable, the
        # worker cannot be ptraced and its /proc files (fds, memory) are root's.
        self.libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        if os.getppid() != 1:
            self.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        self.devnull = os.open(os.devnull, os.O_RDONLY)
        self.alone_in_pid_namespace = _process_ids() <= {1, os.getpid()}
        self._prepare_children()
        self._start_template()

    def _prepare_children(self) -> None:
        """Everything every child needs that can be done once, here, before any fork."""
        os.environ.clear()
        os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.workdir,
                           "TMPDIR": self.workdir, "LANG": "C.UTF-8",
                           "PYTHONIOENCODING": "utf-8"})
        tempfile.tempdir = None  # tempfile must look TMPDIR up again, in the child
        _limit_packages()
        sealed = _seal()
        self.child_process = sealed["_child_process"]
        signal.signal(signal.SIGALRM, sealed["_on_alarm"])
        self.tests_builtins = dict(builtins.__dict__)
        exec(compile(WARM_UP, "<warm-up>", "exec"), {"__name__": "__warm_up__"})
        gc.collect()
        gc.freeze()

    def close(self) -> None:
        self._stop_template()
        self._kill_descendants()
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- the template, where children come from

    def _start_template(self) -> None:
        """Fork the template (see the module's docstring): the worker writes hundreds of
        pages per job, which would all fault again after every fork of its own; a template
        writes few before it forks."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                self._serve_as_template(theirs)
            except BaseException:  # noqa: BLE001 - must never return into the worker's code
                traceback.print_exc()
            os._exit(0)
        theirs.close()
        ours.settimeout(TEMPLATE_ANSWER_S)
        self.template_socket, self.template_pid = ours, pid

    def _stop_template(self) -> None:
        self.template_socket.close()  # the waiting template sees the end and exits
        try:
            os.waitpid(self.template_pid, 0)
        except ChildProcessError:
            pass

    def _serve_as_template(self, jobs: socket.socket) -> None:
        for number, handler in PROGRAM_SIGNALS.items():  # the worker has its own
            signal.signal(number, handler)
        os.closerange(3, jobs.fileno())
        os.closerange(jobs.fileno() + 1, 65536)
        while True:
            message, fds, _, _ = socket.recv_fds(jobs, 1, CHILD_FDS)
            if not message:  # the worker is gone
                return
            successor = os.fork()
            if successor == 0:
                for fd in fds:
                    os.close(fd)
                continue
            jobs.send(b"%d %d" % (os.getpid(), successor))
            jobs.close()
            self._become_child(*fds)

    def _become_child(self, request_fd: int, stdin_fd: int, out_fd: int, err_fd: int,
                      result_fd: int) -> None:
        try:
            request = marshal.loads(os.pread(request_fd, os.fstat(request_fd).st_size, 0))
            job = request["job"]
            self._enter_child(job, stdin_fd, out_fd, err_fd, result_fd, request["max_processes"])
        except BaseException:  # noqa: BLE001 - must never return into the worker's code
            traceback.print_exc()
            os._exit(CHILD_FAILED)
        self.child_process(job, request["secret"], result_fd, request["first_test"],
                           set(request["failed_groups"]), self.tests_builtins)

    def _child_from_template(self, fds: list[int]) -> int:
        """Have the template become a child with these descriptors; return its pid. The
        child is this worker's: its parent, the previous child, is gone."""
        for _ in range(2):
            try:
                socket.send_fds(self.template_socket, [b"j"], fds)
                reply = self.template_socket.recv(64)
            except OSError:
                reply = b""
            if reply:
                child, self.template_pid = (int(pid) for pid in reply.split())
                return child
            # Killed: by the sweep after a job in a container or pid namespace, or a program.
            _signal(self.template_pid, signal.SIGKILL)
            self._stop_template()
            self._start_template()
        raise RuntimeError("the template process does not answer")

    # -- processes

    def _children(self) -> list[int]:
        return _children_of(os.getpid())

    def _kill_descendants(self) -> int:
        """Kill and reap every process left under this worker; return how many there were.

        Orphans come back to the worker, a subreaper, so a live descendant means a child."""
        killed: set[int] = set()
        while True:
            _reap_exited()
            children = [pid for pid in self._children() if pid != self.template_pid]
            if not children:
                return len(killed)
            if self.alone_in_pid_namespace:
                # One kill(-1) reaches every process here but init and the worker,
                # atomically: a fork bomb cannot outpace it.
                killed |= self._descendants() - {self.template_pid}
                os.kill(-1, signal.SIGKILL)  # the template too: the next job starts another
            else:
                stopped = self._stop_descendants()
                for pid in stopped:
                    _signal(pid, signal.SIGKILL)
                killed |= stopped
            for pid in children:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass

    def _stop_descendants(self) -> set[int]:
        """Stop every descendant; stopped processes cannot fork, so this ends even against a
        fork bomb (the process limit caps how many there can be)."""
        stopped: set[int] = set()
        while running := self._descendants() - stopped - {self.template_pid}:
            for pid in running:
                _signal(pid, signal.SIGSTOP)
            stopped |= running
        return stopped

    def _descendants(self) -> set[int]:
        found: set[int] = set()
        parents = [os.getpid()]
        while parents:
            children = [pid for parent in parents for pid in _children_of(parent)]
            found.update(children)
            parents = children
        return found

    def _process_limit(self) -> int | None:
        if self.uid is not None:
            return self.max_processes
        if os.getuid() == 0:
            return None  # root ignores RLIMIT_NPROC; run with --uid to contain fork bombs
        return _processes_of(os.getuid()) + self.max_processes

    # -- one job

    def run(self, job: dict) -> dict:
        start = time.perf_counter()
        try:
            os.mkdir(self.workdir, 0o700)
        except FileExistsError:  # an earlier job's folder that could not be removed
            _empty_folder(self.scratch)
            os.mkdir(self.workdir, 0o700)
        if self.uid is not None:
            os.chown(self.workdir, self.uid, self.gid)
        try:
            outcome = self._run_phases(job)
        finally:
            _empty_folder(self.scratch)
        outcome["job_id"] = job["id"]
        outcome["wall_time_s"] = time.perf_counter() - start
        return outcome

    def _run_phases(self, job: dict) -> dict:
        """Run the job; after a crash inside a test, run the remaining tests in a new child."""
        outcome = {"status": "sandbox_error", "tests": [], "stdout": "", "stderr": "",
                   "exit_code": None, "leftover_processes": 0}
        tests: list[dict] = []
        failed_groups: set[str] = set()
        while True:
            run = self._run_child(job, len(tests), failed_groups)
            outcome["stdout"] = (outcome["stdout"] + run["stdout"])[:OUTPUT_LIMIT]
            outcome["stderr"] = (outcome["stderr"] + run["stderr"])[:OUTPUT_LIMIT]
            outcome["exit_code"] = run["exit_code"]
            outcome["leftover_processes"] += run["leftover_processes"]
            program = run["program"]
            if not tests:  # the first run decides the program's own status
                outcome.update({k: v for k, v in program.items() if k != "time_s"})
            if program["status"] != "passed":
                return outcome
            results = run["tests"]
            if len(tests) + len(results) < len(job["tests"]):
                # The child died inside the next test: charge it the crash, then go on.
                results = results + [run["crash"]]
            for test_result in results:
                test = job["tests"][len(tests)]
                tests.append({"name": test["name"], "group": test["group"], **test_result})
                if test_result["status"] not in ("passed", "not_run"):
                    failed_groups.add(test["group"])
            outcome["tests"] = tests
            if len(tests) >= len(job["tests"]):
                return outcome

    def _run_child(self, job: dict, first_test: int, failed_groups: set[str]) -> dict:
        secret = secrets.token_hex(16).encode()
        result_read, result_write = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        stdin_fd = _memory_file(job["stdin"].encode()) if job["stdin"] else os.dup(self.devnull)
        request_fd = _memory_file(marshal.dumps({  # the quickest to load, for trusted data
            "job": job, "secret": secret, "first_test": first_test,
            "failed_groups": sorted(failed_groups), "max_processes": self._process_limit()}))
        fds = [request_fd, stdin_fd, out_write, err_write, result_write]
        try:
            pid = self._child_from_template(fds)
        finally:
            for fd in fds:
                os.close(fd)
        try:
            return self._supervise(pid, job, first_test, secret, result_read, out_read, err_read)
        finally:
            for fd in (result_read, out_read, err_read):
                os.close(fd)

    def _enter_child(self, job: dict, stdin_fd: int, out_fd: int, err_fd: int,
                     result_fd: int, max_processes: int | None) -> None:
        """Runs in the forked child: isolate, limit, drop privileges. The worker already set
        the environment, the working directory's path and the standard streams' objects."""
        os.setsid()
        os.dup2(stdin_fd, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.closerange(3, result_fd)
        os.closerange(result_fd + 1, 65536)
        os.chdir(self.workdir)
        memory = job["memory_mb"] * 1024 * 1024
        cpu = _cpu_limit(job)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size, self.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)
        # After the uid change, which clears it: the program dies with the worker.
        self.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if max_processes is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))

    def _supervise(self, pid: int, job: dict, first_test: int, secret: bytes,
                   result_fd: int, out_fd: int, err_fd: int) -> dict:
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        for fd in (pidfd, result_fd, out_fd, err_fd):
            poller.register(fd, select.POLLIN)
        buffers = {result_fd: bytearray(), out_fd: bytearray(), err_fd: bytearray()}
        phases = _PhaseClock(job, first_test)
        events: list[dict] = []
        killed_by_us, wait_status, cpu_s, leftovers = False, None, 0.0, 0
        open_pipes = set(buffers)
        while open_pipes or wait_status is None:
            ready = poller.poll(max(0.0, phases.deadline - time.monotonic()) * 1000)
            if not ready:
                if wait_status is not None:
                    break  # a pipe some process outside the job's tree holds open
                killed_by_us = True
                _kill_group(pid)
                phases.deadline = time.monotonic() + STARTUP_GRACE_S
                continue
            for fd, _ in ready:
                if fd == pidfd:
                    poller.unregister(pidfd)
                    os.close(pidfd)
                    _, wait_status, usage = os.wait4(pid, 0)
                    cpu_s = usage.ru_utime + usage.ru_stime
                    leftovers = self._kill_descendants()
                    phases.deadline = time.monotonic() + DRAIN_S
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    poller.unregister(fd)
                    open_pipes.discard(fd)
                elif fd == result_fd:
                    buffers[fd] += chunk
                    for event in _parse_reports(buffers[fd], secret, len(job["tests"])):
                        events.append(event)
                        if wait_status is None:
                            phases.on_event(event)
                elif len(buffers[fd]) < OUTPUT_LIMIT:
                    buffers[fd] += chunk[: OUTPUT_LIMIT - len(buffers[fd])]
        crash = _crash_result(wait_status, killed_by_us, cpu_s >= _cpu_limit(job))
        return _summarize(job, first_test, events, wait_status, crash, leftovers,
                          buffers[out_fd], buffers[err_fd])


class _PhaseClock:
    """The wall-clock deadline of whatever phase the child is in, from its reports: the
    program starts at the "start" report, and each test right after the previous phase's end."""

    def __init__(self, job: dict, first_test: int):
        self.job = job
        self.first_test = first_test
        self.deadline = time.monotonic() + STARTUP_GRACE_S + job["program_timeout_s"]

    def on_event(self, event: dict) -> None:
        if event["event"] == "start":
            limit = self.job["program_timeout_s"]
        else:
            following = self.first_test if event["phase"] == PROGRAM else event["phase"] + 1
            tests = self.job["tests"]
            limit = tests[following]["timeout_s"] if following < len(tests) else STARTUP_GRACE_S
        self.deadline = time.monotonic() + limit + PHASE_GRACE_S


def _memory_file(data: bytes) -> int:
    """A file descriptor reading data from its start, backed by memory only."""
    fd = os.memfd_create("job")
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _empty_folder(folder: str) -> None:
    """Remove everything in folder, even subfolders a program made unreadable."""
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    _remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def _remove_tree(path: str) -> None:
    try:
        os.rmdir(path)  # the common case: the program left its folder empty
        return
    except OSError:
        pass
    os.chmod(path, 0o700)
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), 0o700)
    shutil.rmtree(path)


def _children_of(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for thread in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{thread}/children") as f:
                children += [int(child) for child in f.read().split()]
    except OSError:  # the process is gone
        pass
    return children


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap_exited() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _parse_reports(buffer: bytearray, secret: bytes, tests: int) -> list[dict]:
    """Take the complete lines out of buffer; keep the reports signed with the secret."""
    events = []
    while True:
        newline = buffer.find(b"\n")
        if newline < 0:
            if len(buffer) > 2 * VALUE_LIMIT:  # a program flooding the channel
                del buffer[:]
            return events
        line = bytes(buffer[:newline])
        del buffer[: newline + 1]
        if line.startswith(secret):
            try:
                event = json.loads(line[len(secret):])
            except ValueError:
                continue
            if _is_report(event, tests):
                events.append(event)


def _is_report(event, tests: int) -> bool:
    """Shaped as the child's own code makes reports (a program that reaches the reporter
    through the interpreter's frames could send anything)."""
    if not isinstance(event, dict):
        return False
    if event.get("event") == "start":
        return True
    phase = event.get("phase")
    return (event.get("event") == "end" and type(phase) is int and PROGRAM <= phase < tests
            and event.get("status") in STATUSES)


def _summarize(job: dict, first_test: int, events: list[dict], wait_status: int,
               crash: dict, leftovers: int, stdout: bytes, stderr: bytes) -> dict:
    """Turn the child's reports and its exit into the program status and test results."""
    ended = {e["phase"]: _strip(e) for e in events if e["event"] == "end"}
    started = any(e["event"] == "start" for e in events)
    if not started and _exit_code(wait_status) == CHILD_FAILED:
        crash = {**crash, "status": "sandbox_error", "exception_type": "WorkerChildFailed",
                 "message": stderr.decode(errors="replace")[-MESSAGE_LIMIT:]}
    program = ended.get(PROGRAM, crash)
    tests = []
    for index in range(first_test, len(job["tests"])):
        if index not in ended:
            break
        tests.append(ended[index])
    return {"program": program, "tests": tests, "crash": crash,
            "exit_code": _exit_code(wait_status), "leftover_processes": leftovers,
            "stdout": stdout.decode(errors="replace"), "stderr": stderr.decode(errors="replace")}


def _strip(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in ("event", "phase")}


def _exit_code(wait_status: int) -> int:
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def _crash_result(wait_status: int, killed_by_us: bool, used_all_cpu: bool) -> dict:
    if killed_by_us:
        return {"status": "timeout", "exception_type": "Timeout",
                "message": "wall-clock limit exceeded; killed", "time_s": 0.0}
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and used_all_cpu):
            return {"status": "timeout", "exception_type": "CPUTimeLimit",
                    "message": "CPU time limit exceeded", "time_s": 0.0}
        if sig == signal.SIGKILL:
            return {"status": "out_of_memory", "exception_type": "Killed",
                    "message": "killed by SIGKILL (the out-of-memory killer, or the program "
                               "itself)", "time_s": 0.0}
        return {"status": "error", "exception_type": "Signal",
                "message": f"killed by signal {name}", "time_s": 0.0}
    return {"status": "error", "exception_type": "EarlyExit",
            "message": f"exited with code {os.WEXITSTATUS(wait_status)} before finishing",
            "time_s": 0.0}


def _process_ids() -> set[int]:
    return {int(entry) for entry in os.listdir("/proc") if entry.isdigit()}


def _processes_of(uid: int) -> int:
    count = 0
    for pid in _process_ids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += 1
        except OSError:
            pass
    return count


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def _take_protocol_streams():
    """Move the message streams off fds 0 and 1, which become the children's stdin and
    stdout: then the standard stream objects made here serve every child as they are."""
    jobs = os.fdopen(os.dup(0), "rb")
    outcomes = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(0, "r", encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace",
                      closefd=False)
    return jobs, outcomes


def main(argv: list[str]) -> int:
    import argparse
    import importlib

    for module in PRELOADED_MODULES:
        importlib.import_module(module)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uid", type=int, help="run programs as this user id")
    parser.add_argument("--gid", type=int)
    parser.add_argument("--max-processes", type=int, default=64)
    parser.add_argument("--file-size-mb", type=int, default=64)
    parser.add_argument("--scratch", help="folder for per-job temporary directories")
    args = parser.parse_args(argv)
    if os.getpid() == 1:
        # As a container's init, only signals with a handler reach it from inside; dropping
        # Python's SIGINT handler leaves programs no signal that stops the worker.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        # Stopped from outside: still kill the job's processes and remove the scratch folder.
        signal.signal(signal.SIGTERM, _exit_on_signal)
    jobs, outcomes = _take_protocol_streams()
    worker = Worker(args.uid, args.gid, args.max_processes, args.file_size_mb, args.scratch)
    write_message(outcomes, {"ready": True, "pid": os.getpid()})
    try:
        while (job := read_message(jobs)) is not None:
            try:
                outcome = worker.run(job)
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                outcome = {"job_id": job.get("id"), "status": "sandbox_error",
                           "exception_type": type(exc).__name__, "message": str(exc),
                           "tests": [], "stdout": "", "stderr": traceback.format_exc()}
            write_message(outcomes, outcome)
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
