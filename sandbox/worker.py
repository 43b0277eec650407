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

Standard library only: the same file runs on the host (local sandbox) and inside the
container image (Docker sandbox).
"""

from __future__ import annotations

import builtins
import ctypes
import json
import os
import random
import resource
import secrets
import selectors
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback

OUTPUT_LIMIT = 64 * 1024  # bytes of stdout/stderr kept per job
MESSAGE_LIMIT = 2000  # characters of an exception message kept
VALUE_LIMIT = 8 * 1024 * 1024  # characters of a test's reported value (its `__result__`)
STARTUP_GRACE_S = 5.0
PHASE_GRACE_S = 0.5
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
PROGRAM = -1  # phase index of the program itself; tests are 0..n-1
# Imported once here so each forked child has them for free; benchmark programs use them.
PRELOADED_MODULES = (
    "array", "bisect", "collections", "copy", "datetime", "decimal", "fractions",
    "functools", "hashlib", "heapq", "itertools", "math", "operator", "random", "re",
    "statistics", "string", "typing",
)


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


def _child_main(job: dict, report, first_test: int, failed_groups: set[str]) -> None:
    signal.signal(signal.SIGALRM, _on_alarm)
    namespace: dict = {"__name__": "__program__", "__builtins__": builtins}
    exec(compile(job["prelude"], "<prelude>", "exec"), namespace)
    pristine_builtins = dict(builtins.__dict__)

    report({"event": "begin", "phase": PROGRAM})
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
        # Undo any monkey-patching of builtins, so a program cannot fake the tests' checks.
        builtins.__dict__.clear()
        builtins.__dict__.update(pristine_builtins)
        test_namespace = dict(namespace, __builtins__=builtins)
        report({"event": "begin", "phase": index})
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


def _enter_child(job: dict, workdir: str, stdin_fd: int, out_fd: int, err_fd: int,
                 result_fd: int, limits: dict) -> None:
    """Runs in the forked child: isolate, limit, drop privileges, then run the job."""
    os.setsid()
    os.dup2(stdin_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.closerange(3, result_fd)
    os.closerange(result_fd + 1, 65536)
    os.chdir(workdir)
    memory = job["memory_mb"] * 1024 * 1024
    cpu = int(job["program_timeout_s"] + sum(t["timeout_s"] for t in job["tests"])) + 2
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size"], limits["file_size"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits["uid"] is not None:
        os.setgroups([])
        os.setgid(limits["gid"])
        os.setuid(limits["uid"])
    if limits["max_processes"] is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["max_processes"],) * 2)
    random.seed()  # children of one worker must not share the preloaded generator's state
    os.environ.clear()
    os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir,
                       "TMPDIR": workdir, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


# ---------------------------------------------------------------- the worker


class Worker:
    def __init__(self, uid: int | None, gid: int | None, max_processes: int,
                 file_size_mb: int, scratch: str | None):
        self.uid = uid
        self.gid = gid if gid is not None else uid
        self.max_processes = max_processes
        self.file_size = file_size_mb * 1024 * 1024
        self.scratch = tempfile.mkdtemp(prefix="codeharness-worker-", dir=scratch)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        if os.getppid() != 1:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def close(self) -> None:
        self.kill_leftovers()
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- processes

    def _children(self) -> list[int]:
        pid = os.getpid()
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def kill_leftovers(self) -> int:
        """Kill every process left under this worker; return how many there were."""
        seen: set[int] = set()
        for _ in range(100):
            children = self._children()
            if not children:
                break
            for pid in children:
                seen.add(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._reap_all()
            time.sleep(0.001)
        self._reap_all()
        return len(seen)

    def _reap_all(self) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def _process_limit(self) -> int | None:
        if self.uid is not None:
            return self.max_processes
        if os.getuid() == 0:
            return None  # root ignores RLIMIT_NPROC; run with --uid to contain fork bombs
        return _processes_of(os.getuid()) + self.max_processes

    # -- one job

    def run(self, job: dict) -> dict:
        start = time.perf_counter()
        workdir = tempfile.mkdtemp(dir=self.scratch)
        if self.uid is not None:
            os.chown(workdir, self.uid, self.gid)
        try:
            outcome = self._run_phases(job, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        outcome["job_id"] = job["id"]
        outcome["wall_time_s"] = time.perf_counter() - start
        return outcome

    def _run_phases(self, job: dict, workdir: str) -> dict:
        """Run the job; after a crash inside a test, run the remaining tests in a new child."""
        outcome = {"status": "sandbox_error", "tests": [], "stdout": "", "stderr": "",
                   "exit_code": None, "leftover_processes": 0}
        tests: list[dict] = []
        failed_groups: set[str] = set()
        while True:
            run = self._run_child(job, workdir, len(tests), failed_groups)
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

    def _run_child(self, job: dict, workdir: str, first_test: int,
                   failed_groups: set[str]) -> dict:
        secret = secrets.token_hex(16).encode()
        result_read, result_write = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        stdin_fd = self._stdin_fd(job, workdir)
        limits = {"uid": self.uid, "gid": self.gid, "max_processes": self._process_limit(),
                  "file_size": self.file_size}
        pid = os.fork()
        if pid == 0:  # the child
            exit_code = 0
            try:
                os.close(result_read)
                os.close(out_read)
                os.close(err_read)
                _enter_child(job, workdir, stdin_fd, out_write, err_write, result_write, limits)
                del limits

                def report(event: dict, _fd=result_write, _secret=secret) -> None:
                    os.write(_fd, _secret + json.dumps(event).encode() + b"\n")

                del secret
                _child_main(job, report, first_test, set(failed_groups))
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001 - must never return into the worker loop
                traceback.print_exc()
                exit_code = 70
            os._exit(exit_code)
        for fd in (result_write, out_write, err_write, stdin_fd):
            os.close(fd)
        return self._supervise(pid, job, first_test, secret, result_read, out_read, err_read)

    def _stdin_fd(self, job: dict, workdir: str) -> int:
        if not job.get("stdin"):
            return os.open(os.devnull, os.O_RDONLY)
        fd, path = tempfile.mkstemp(dir=self.scratch)
        os.write(fd, job["stdin"].encode())
        os.lseek(fd, 0, os.SEEK_SET)
        os.unlink(path)
        return fd

    def _supervise(self, pid: int, job: dict, first_test: int, secret: bytes,
                   result_fd: int, out_fd: int, err_fd: int) -> dict:
        pidfd = os.pidfd_open(pid)
        selector = selectors.DefaultSelector()
        buffers = {result_fd: bytearray(), out_fd: bytearray(), err_fd: bytearray()}
        for fd in buffers:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        selector.register(pidfd, selectors.EVENT_READ)
        events: list[dict] = []
        phase, deadline, killed_by_us = None, time.monotonic() + STARTUP_GRACE_S, False
        exited = False
        while not exited or len(selector.get_map()) > 1:
            timeout = max(0.0, deadline - time.monotonic()) if not exited else 0.05
            ready = selector.select(timeout)
            if not ready:
                if exited:
                    break  # pipes held open by nobody we know of; drain done
                killed_by_us = True
                _kill_group(pid)
                deadline = time.monotonic() + 5.0
                continue
            for key, _ in ready:
                fd = key.fd
                if fd == pidfd:
                    selector.unregister(pidfd)
                    exited = True
                    self.kill_leftovers_of_job(pid)
                    continue
                chunk = _read_some(fd)
                if chunk is None:
                    continue
                if not chunk:
                    selector.unregister(fd)
                    continue
                if fd == result_fd:
                    buffers[fd] += chunk
                    for event in _parse_reports(buffers[fd], secret):
                        events.append(event)
                        phase = event["phase"]
                        if event["event"] == "begin":
                            limit = (job["program_timeout_s"] if phase == PROGRAM
                                     else job["tests"][phase]["timeout_s"])
                            deadline = time.monotonic() + limit + PHASE_GRACE_S
                        else:
                            deadline = time.monotonic() + STARTUP_GRACE_S
                elif len(buffers[fd]) < OUTPUT_LIMIT:
                    buffers[fd] += chunk[: OUTPUT_LIMIT - len(buffers[fd])]
        selector.close()
        _, wait_status = os.waitpid(pid, 0)
        os.close(pidfd)
        leftovers = self.kill_leftovers()
        for fd in buffers:
            os.close(fd)
        return _summarize(job, first_test, events, wait_status, killed_by_us, leftovers,
                          buffers[out_fd], buffers[err_fd])

    def kill_leftovers_of_job(self, pid: int) -> None:
        _kill_group(pid)
        self._reap_others(pid)

    def _reap_others(self, keep: int) -> None:
        for child in self._children():
            if child != keep:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_some(fd: int) -> bytes | None:
    """Bytes from fd; b"" at end of file; None when nothing is ready."""
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _parse_reports(buffer: bytearray, secret: bytes) -> list[dict]:
    """Take the complete lines out of buffer; keep those signed with the secret."""
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
                events.append(json.loads(line[len(secret):]))
            except ValueError:
                pass


def _summarize(job: dict, first_test: int, events: list[dict], wait_status: int,
               killed_by_us: bool, leftovers: int, stdout: bytes, stderr: bytes) -> dict:
    """Turn the child's reports and its exit into the program status and test results."""
    ended = {e["phase"]: _strip(e) for e in events if e["event"] == "end"}
    begun = [e["phase"] for e in events if e["event"] == "begin"]
    crash = _crash_result(wait_status, killed_by_us)
    if not begun and _exit_code(wait_status) == 70:
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


def _crash_result(wait_status: int, killed_by_us: bool) -> dict:
    if killed_by_us:
        return {"status": "timeout", "exception_type": "Timeout",
                "message": "wall-clock limit exceeded; killed", "time_s": 0.0}
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", "exception_type": "CPUTimeLimit",
                    "message": "CPU time limit exceeded", "time_s": 0.0}
        if sig == signal.SIGKILL:
            return {"status": "out_of_memory", "exception_type": "Killed",
                    "message": "killed by SIGKILL (out-of-memory killer)", "time_s": 0.0}
        return {"status": "error", "exception_type": "Signal",
                "message": f"killed by signal {name}", "time_s": 0.0}
    return {"status": "error", "exception_type": "EarlyExit",
            "message": f"exited with code {os.WEXITSTATUS(wait_status)} before finishing",
            "time_s": 0.0}


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


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
    worker = Worker(args.uid, args.gid, args.max_processes, args.file_size_mb, args.scratch)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages may reach the wire
    write_message(stdout, {"ready": True, "pid": os.getpid()})
    try:
        while (job := read_message(stdin)) is not None:
            try:
                outcome = worker.run(job)
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                outcome = {"job_id": job.get("id"), "status": "sandbox_error",
                           "exception_type": type(exc).__name__, "message": str(exc),
                           "tests": [], "stdout": "", "stderr": traceback.format_exc()}
            write_message(stdout, outcome)
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
