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

Suites (sandbox/jobs.py): a job may name a suite, its problem's tests, prelude and trusted
setup, which the host sends to the worker once, before the first job that names it. The
template prepares it (runs the setup, compiles the prelude and the tests) and keeps it, so
every later child, and every later template, starts with it; a job that names a suite the
worker no longer has (too many, or a new worker) is answered `missing_suite`, and the host
sends the suite again.

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
import re
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
# Programs hash str and bytes (set and dict order) the same in every worker and run: a
# verdict must not depend on which worker ran a program. The seed is fixed when the
# interpreter starts, so a worker is started with PYTHONHASHSEED=HASH_SEED and `-s`, not
# `-I` (whose -E ignores it); the starter leaves out every other PYTHON* variable instead.
HASH_SEED = "0"
MESSAGE_LIMIT = 2000  # characters of an exception message kept
VALUE_LIMIT = 8 * 1024 * 1024  # characters of a test's reported value (its `__result__`)
STARTUP_GRACE_S = 5.0  # from the fork to the program's start
PHASE_GRACE_S = 0.5  # past a phase's own limit, before the worker kills the child
DRAIN_S = 1.0  # for the output pipes to close once every process of the job is gone
# For a template to fork. Only a killed one fails to, and that mostly shows at once (its
# socket closes): this much is for machines loaded beyond measure.
TEMPLATE_ANSWER_S = 30.0
SUITE_PREPARE_S = 300.0  # for a template to prepare a suite (its setup may parse megabytes)
# The suites a worker keeps (their preparation lives in the template and its children): the
# least recently used beyond these go.
MAX_SUITES = 256
MAX_SUITE_BYTES = 128 * 1024 * 1024  # of the suites' serialized form
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PROGRAM = -1  # phase index of the program itself; tests are 0..n-1
STATUSES = {"passed", "failed", "error", "timeout", "out_of_memory", "syntax_error",
            "compile_error", "sandbox_error", "not_run"}
CHILD_FAILED = 70  # exit code of a child whose own setup failed before the program started
CHILD_FDS = 5  # a child's request, stdin, stdout, stderr and report pipe
# Python's usual handlers, which programs get back from templates (the worker has its own).
PROGRAM_SIGNALS: dict[int, object] = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
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
# Their submodules the environment probe imports too (the rest load with the package).
THIRD_PARTY_PACKAGES_SUBMODULES = {"numpy": ("numpy.linalg", "numpy.fft", "numpy.random",
                                             "numpy.polynomial", "numpy.ma")}
# Standard-library modules whose import does more than make a module (opens a web browser,
# prints): programs may import them, the environment probe does not.
PROBE_SKIPPED = frozenset({"antigravity", "this"})
# Submodules of the standard library that their packages do not load themselves, which
# programs import by name: the probe imports them besides every top-level module.
PROBE_SUBMODULES = (
    "asyncio.subprocess", "collections.abc", "concurrent.futures", "concurrent.futures.process",
    "concurrent.futures.thread", "ctypes.util", "curses.ascii", "dbm.dumb", "email.message",
    "email.mime.multipart", "email.mime.text", "email.utils", "encodings.idna",
    "encodings.punycode", "html.parser", "http.client", "http.server", "importlib.metadata",
    "importlib.resources", "importlib.util", "json.decoder", "logging.config",
    "logging.handlers", "multiprocessing.pool", "multiprocessing.shared_memory", "os.path",
    "unittest.mock", "urllib.parse", "urllib.request", "wsgiref.simple_server",
    "xml.dom.minidom", "xml.etree.ElementTree", "xml.sax")
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
    """Raised by SIGALRM (wall-clock limit) and SIGPROF (CPU-time limit); a BaseException so
    `except Exception` in programs misses it."""


def _load_languages():
    """sandbox/languages.py, beside this file: jobs in languages other than Python (their
    driver runs in the job's child instead of the Python program). None where it is absent."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "languages.py")
    if not os.path.isfile(path):
        return None
    spec = importlib.util.spec_from_file_location("codeharness_sandbox_languages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LANGUAGES = _load_languages()


def _is_python(job: dict) -> bool:
    return job.get("language", "python") == "python"


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
    write_encoded(stream, encode_message(message))


def encode_message(message: dict) -> bytes:
    return json.dumps(message).encode()


def write_encoded(stream, payload: bytes) -> None:
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


def _on_cpu_limit(signum, frame):
    raise Timeout("CPU time limit exceeded")


def _run_with_alarm(code, namespace: dict, timeout_s: float, cpu_s: float | None = None) -> dict:
    """Run code until it ends, or until `timeout_s` seconds pass, or it used `cpu_s` seconds
    of CPU time (a limit that the machine's load does not move; None: none)."""
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    if cpu_s:
        signal.setitimer(signal.ITIMER_PROF, cpu_s)
    try:
        exec(code, namespace)
        result: dict = {"status": "passed"}
    except BaseException as exc:  # noqa: BLE001 - every failure of untrusted code is a verdict
        result = {"status": _status_of(exc), **_exception_fields(exc)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if cpu_s:
            signal.setitimer(signal.ITIMER_PROF, 0)
    result["time_s"] = time.perf_counter() - start
    return result


def _restore_interpreter() -> None:
    """Undo what a program may have changed to fake the tests' checks or escape their time
    limits: trace and profile hooks, the alarm handler. (Tests also get their own builtins.)"""
    sys.settrace(None)
    sys.setprofile(None)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGPROF, _on_cpu_limit)


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
                tests_builtins: dict, suite: dict | None = None) -> None:
    namespace: dict = {"__name__": "__program__", "__builtins__": builtins}
    if suite is not None:
        if suite["prelude"] is not None:
            exec(suite["prelude"], namespace)
    elif job["prelude"]:
        exec(compile(job["prelude"], "<prelude>", "exec", dont_inherit=True), namespace)
    report({"event": "start"})
    try:
        code = compile(job["program"], "<program>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:  # ValueError: source with NUL bytes
        report({"event": "end", "phase": PROGRAM, "status": "syntax_error", **_exception_fields(exc)})
        return
    result = _run_with_alarm(code, namespace, job["program_timeout_s"])
    report({"event": "end", "phase": PROGRAM, **result})
    if result["status"] != "passed":
        return

    stop_at_first_failure = job.get("stop_at_first_failure", False)
    for index in range(first_test, len(job["tests"])):
        test = job["tests"][index]
        if job["fail_fast"] and (test["group"] in failed_groups
                                 or (stop_at_first_failure and failed_groups)):
            report({"event": "end", "phase": index, "status": "not_run", "time_s": 0.0})
            continue
        _restore_interpreter()
        # The test's code looks builtins up in this pristine copy, whatever the program
        # did to the builtins module.
        test_namespace = dict(namespace, __builtins__=tests_builtins)
        if suite is not None:  # compiled once, with the setup's names over the program's
            test_namespace.update(suite["names"])
            test_code = suite["codes"][index]
        else:
            try:
                test_code = compile(test["code"], f"<test {test['name']}>", "exec",
                                    dont_inherit=True)
            except SyntaxError as exc:
                test_code = {"status": "sandbox_error", **_exception_fields(exc), "time_s": 0.0}
        if type(test_code) is dict:  # it did not compile, or the suite's setup failed
            result = dict(test_code)
        else:
            result = _run_with_alarm(test_code, test_namespace, test["timeout_s"],
                                     test.get("cpu_limit_s"))
            if "__result__" in test_namespace:
                result["value"] = _bounded_repr(test_namespace["__result__"])
        # A function the test defined refers back to its namespace: a cycle that would keep
        # the test's data (a big answer) alive until a full collection, in the next test's memory.
        test_namespace.clear()
        report({"event": "end", "phase": index, **result})
        if result["status"] != "passed":
            failed_groups.add(test["group"])


def _child_process(job: dict, secret: bytes, result_fd: int, first_test: int,
                   failed_groups: set[str], tests_builtins: dict, suite: dict | None) -> None:
    """The child after its setup: run the job, report each phase, exit. Never returns."""
    exit_code = 0
    try:
        def report(event: dict) -> None:
            os.write(result_fd, secret + _encode_event(event) + b"\n")

        if _is_python(job):
            _child_main(job, report, first_test, set(failed_groups), tests_builtins, suite)
        else:  # sandbox/languages.py compiles and runs it; the child exits with its code
            exit_code = LANGUAGES.run_job(job, report)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - must never return into the worker loop
        traceback.print_exc()
        exit_code = CHILD_FAILED
    os._exit(exit_code)


SEALED_FUNCTIONS = (_exception_fields, _status_of, _bounded_repr, _on_alarm, _on_cpu_limit,
                    _run_with_alarm,
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


def prepare_suite(wire: dict, tests_builtins: dict) -> dict:
    """What every sample of a suite shares: the names its setup defines (with pristine
    builtins: a program's patches to the builtins module do not reach its checkers), its
    prelude and its tests compiled. A test that does not compile, or every test of a suite
    whose setup failed, carries its sandbox_error result instead of code."""
    prepared: dict = {"id": wire["id"], "names": {}, "prelude": None, "codes": []}
    digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
    try:
        if digits is not None:  # trusted data may hold integers of any size
            sys.set_int_max_str_digits(0)
        namespace: dict = {"__name__": "__suite__", "__builtins__": tests_builtins}
        if wire["setup"]:
            exec(compile(wire["setup"], "<suite setup>", "exec", dont_inherit=True), namespace)
        prepared["names"] = {k: v for k, v in namespace.items() if not k.startswith("__")}
        if wire["prelude"]:
            prepared["prelude"] = compile(wire["prelude"], "<prelude>", "exec", dont_inherit=True)
        for test in wire["tests"]:
            try:
                code: types.CodeType | dict = compile(test["code"], f"<test {test['name']}>", "exec",
                                                dont_inherit=True)
            except SyntaxError as exc:
                code = {"status": "sandbox_error", **_exception_fields(exc), "time_s": 0.0}
            prepared["codes"].append(code)
    except BaseException as exc:  # noqa: BLE001 - a broken suite is every test's sandbox error
        failure = _exception_fields(exc)
        failure["message"] = f"the suite's setup failed: {failure['message']}"[:MESSAGE_LIMIT]
        prepared["codes"] = [{"status": "sandbox_error", **failure, "time_s": 0.0}
                             for _ in wire["tests"]]
        prepared["prelude"] = None
    finally:
        if digits is not None:
            sys.set_int_max_str_digits(digits)
    return prepared


def suite_tests(wire: dict) -> list[dict]:
    """A suite's tests as the worker's side needs them (limits, names; no code)."""
    return [{"name": t["name"], "group": t["group"], "timeout_s": t["timeout_s"],
             "cpu_limit_s": t.get("cpu_limit_s")} for t in wire["tests"]]


class _AllowedPackages:
    """Finds the allowed third-party packages in the environment's package folders."""

    def __init__(self, names: tuple[str, ...], folders: list[str]):
        self.names = names
        self.folders = folders

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:  # submodules come from their package's own __path__
            return None
        return importlib.machinery.PathFinder.find_spec(name, self.folders)


def package_folders() -> list[str]:
    """The environment's own package folders (site-packages), where THIRD_PARTY_PACKAGES come
    from; the same in the harness and in a worker started with -I."""
    return [p for p in site.getsitepackages() if os.path.isdir(p)]


def stdlib_folders(path: list[str]) -> list[str]:
    """The entries of an import path that hold the standard library: folders of the
    interpreter's own installation that are not package folders (a .pth file may add others)."""
    bases = {sys.base_prefix, sys.base_exec_prefix}
    bases |= {os.path.realpath(b) for b in bases}
    packages = set(site.getsitepackages())
    return [p for p in path if p and p not in packages and os.path.isdir(p)
            and any(_is_within(p, base) or _is_within(os.path.realpath(p), base) for base in bases)]


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _limit_packages() -> None:
    """Programs get the standard library and THIRD_PARTY_PACKAGES, not the rest of the
    harness's environment: a verdict must not depend on what the harness happens to have
    installed, nor a program's stray `import torch` cost seconds."""
    sys.meta_path[:] = [
        _AllowedPackages(THIRD_PARTY_PACKAGES, package_folders()),
        importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter,
        importlib.machinery.PathFinder]
    sys.path[:] = stdlib_folders(sys.path)


def promised_modules() -> list[str]:
    """What programs may import, as this interpreter has it (found, not imported): every
    top-level module of the standard library, the submodules packages load lazily, and the
    THIRD_PARTY_PACKAGES. The environment probe imports them all in the sandbox."""
    folders = stdlib_folders(sys.path)
    names = [name for name in sorted(sys.stdlib_module_names - PROBE_SKIPPED)
             if name in sys.builtin_module_names
             or importlib.machinery.FrozenImporter.find_spec(name) is not None
             or importlib.machinery.PathFinder.find_spec(name, folders) is not None]
    names += [name for name in PROBE_SUBMODULES if name.partition(".")[0] in names]
    for package, submodules in THIRD_PARTY_PACKAGES_SUBMODULES.items():
        if importlib.machinery.PathFinder.find_spec(package, package_folders()) is not None:
            names += [package, *submodules]
    return names


def importable(names: list[str]) -> list[str]:
    """Those of names that import in this process (which has no sandbox around it)."""
    import contextlib
    import importlib
    import warnings

    warnings.simplefilter("ignore")
    found = []
    with contextlib.redirect_stdout(sys.stderr):
        for name in names:
            try:
                importlib.import_module(name)
            except BaseException:  # noqa: BLE001, S112 - a module that cannot import here
                continue
            found.append(name)
    return found


# ---------------------------------------------------------------- the Python the programs see
#
# As root, programs run as an unprivileged user, who must reach this Python: its installation,
# its package folder and their files. An interpreter under a private home (pyenv, uv or conda
# under /root, mode 0700) is out of that user's reach. Then the worker takes a mount namespace
# of its own (dying with it) where each such folder is covered by an empty tmpfs that everyone
# may enter, holding read-only binds of only the Python folders: the user reaches the
# interpreter and nothing else of the private home (whose other files disappear from the view
# of the worker and its programs). The host's folders and permissions are left as they are.

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 16384, 1 << 18)
O_PATH = getattr(os, "O_PATH", 0o10000000)


def python_folders() -> list[str]:
    """The folders programs import from: the interpreter's installation (and the virtual
    environment's), its standard library and package folders, and the folder of its shared
    library (which a program's `subprocess.run([sys.executable, ...])` loads)."""
    import sysconfig

    folders = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
               *stdlib_folders(sys.path), *package_folders()}
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and sysconfig.get_config_var("LIBDIR"):
        folders.add(sysconfig.get_config_var("LIBDIR"))
    return sorted(f for f in folders if os.path.isdir(f))


def _closed_to_others(folder: str) -> bool:
    try:
        return not os.stat(folder).st_mode & 0o001
    except OSError:
        return False


def _top_closed_folder(path: str) -> str | None:
    """The highest folder above path (not path itself) that other users cannot enter."""
    parts = path.rstrip("/").split("/")
    for end in range(2, len(parts)):
        folder = "/".join(parts[:end])
        if _closed_to_others(folder):
            return folder
    return None


def _symlinks_on_the_way(path: str) -> list[tuple[str, str]]:
    """(link, target) of each symbolic link resolving path goes through."""
    links, todo, current = [], [p for p in path.split("/") if p], "/"
    for _ in range(256):
        if not todo:
            break
        candidate = os.path.join(current, todo.pop(0))
        if os.path.islink(candidate):
            target = os.readlink(candidate)
            links.append((candidate, target))
            resolved = os.path.normpath(os.path.join(current, target))
            todo = [p for p in resolved.split("/") if p] + todo
            current = "/"
        else:
            current = candidate
    return links


def exposure_plan(paths: list[str], writable: list[str] | tuple[()] = ()) -> dict:
    """What to mount so that the unprivileged user reaches paths (read-only) and writable (as
    they are): the closed folders to cover, and what to recreate or bind inside them."""
    wanted = [(p, False) for p in paths] + [(p, True) for p in writable]
    covers: set[str] = set()
    for path, _ in wanted:
        for candidate in (path, os.path.realpath(path)):
            folder = _top_closed_folder(candidate)
            if folder:
                covers.add(folder)
    covers = {c for c in covers if not any(c != o and _is_within(c, o) for o in covers)}
    if not covers:
        return {"covers": [], "links": [], "binds": []}
    binds: dict[str, bool] = {}
    links: dict[str, str] = {}
    for path, rw in wanted:
        real = os.path.realpath(path)
        if any(_is_within(real, c) for c in covers):
            binds[real] = binds.get(real, False) or rw
        for link, target in _symlinks_on_the_way(path):
            if any(_is_within(link, c) for c in covers):
                links[link] = target
    # A bind inside another bind comes with it (a writable one keeps its own).
    binds = {b: rw for b, rw in binds.items()
             if rw or not any(o != b and _is_within(b, o) for o in binds)}
    links = {l: t for l, t in links.items() if not any(_is_within(l, b) for b in binds)}
    return {"covers": sorted(covers), "links": sorted(links.items()),
            "binds": sorted(binds.items(), key=lambda item: item[0].count("/"))}


def expose(plan: dict, libc) -> None:
    """Carry out an exposure plan in a new mount namespace of this process."""
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                           ctypes.c_char_p]

    def mount(source, target, fstype, flags, data=None):
        if libc.mount(source and os.fsencode(source), os.fsencode(target),
                      fstype and fstype.encode(), flags, data and data.encode()) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"mount {target}: {os.strerror(errno)}")

    if libc.unshare(CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare(CLONE_NEWNS): {os.strerror(errno)}")
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing propagates back to the host
    # Opened in the new namespace (binds come from its mounts), before covering hides them.
    sources = {path: os.open(path, O_PATH) for path, _ in plan["binds"]}
    try:
        for cover in plan["covers"]:
            mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for link, target in plan["links"]:
            os.makedirs(os.path.dirname(link), 0o755, exist_ok=True)
            os.symlink(target, link)
        for path, writable in plan["binds"]:
            if os.path.isdir(f"/proc/self/fd/{sources[path]}"):
                os.makedirs(path, 0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
                open(path, "a").close()
            mount(f"/proc/self/fd/{sources[path]}", path, None, MS_BIND | MS_REC)
            if not writable:
                mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    finally:
        for fd in sources.values():
            os.close(fd)


def _mount_points_within(folder: str) -> frozenset[str]:
    """Mount points strictly inside folder (read-only binds of Python folders under a
    bubblewrapped worker's /tmp): emptying the folder leaves them and the folders above them."""
    found = set()
    try:
        with open("/proc/self/mountinfo") as mounts:
            for line in mounts:
                point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)),
                               line.split()[4])
                if point != folder and _is_within(point, folder):
                    found.add(point)
    except OSError:
        pass
    return frozenset(found)


def _cpu_limit(job: dict) -> int:
    """Seconds of CPU time a child may use: a backstop for the wall-clock limits."""
    if not _is_python(job):
        return LANGUAGES.job_cpu_s(job)
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
        self.exposed, self.exposure_error = self._expose_python()
        # Read-only binds inside the scratch folder (a Python under /tmp, bubblewrapped):
        # emptying the folder after a job leaves them, and the folders above them, alone.
        self.kept = _mount_points_within(self.scratch)
        # Suites the host sent: id -> {"tests": limits and names, "blob": marshal of the
        # suite}, least recently used first. The current template has template_suites.
        self.suites: dict[str, dict] = {}
        self.suite_bytes = 0
        self.template_suites: set[str] = set()
        self.prepared: dict[str, dict] = {}  # in the template: id -> prepare_suite()
        self.suites_memory = 0  # in the template: how much its address space grew for them
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
        signal.signal(signal.SIGPROF, sealed["_on_cpu_limit"])
        self.tests_builtins = dict(builtins.__dict__)
        exec(compile(WARM_UP, "<warm-up>", "exec", dont_inherit=True), {"__name__": "__warm_up__"})
        gc.collect()
        gc.freeze()

    def _expose_python(self) -> tuple[list[str], str | None]:
        """As root, make this Python reachable by the programs' user where a closed folder
        (a private home) hides it; return the covered folders, or why it could not be done
        (the environment probe then says what fails)."""
        if self.uid is None:
            return [], None
        plan = exposure_plan(python_folders(), [self.scratch])
        if not plan["covers"]:
            return [], None
        try:
            expose(plan, self.libc)
        except OSError as exc:
            return [], f"could not cover {', '.join(plan['covers'])} in a mount namespace: {exc}"
        return plan["covers"], None

    def close(self) -> None:
        self._stop_template()
        self._kill_descendants()
        _empty_folder(self.scratch, self.kept)
        try:
            os.rmdir(self.scratch)
        except OSError:
            pass

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
        self.template_suites = set()

    def _stop_template(self) -> None:
        self.template_socket.close()  # the waiting template sees the end and exits
        try:
            os.waitpid(self.template_pid, 0)
        except ChildProcessError:
            pass

    def _serve_as_template(self, jobs: socket.socket) -> None:
        for number, handler in PROGRAM_SIGNALS.items():  # the worker has its own
            signal.signal(number, handler)  # type: ignore[arg-type]
        os.closerange(3, jobs.fileno())
        os.closerange(jobs.fileno() + 1, 65536)
        bare = _address_space()
        while True:
            message, fds, _, _ = socket.recv_fds(jobs, 256, CHILD_FDS)
            if not message:  # the worker is gone
                return
            if message[:1] == b"s":  # prepare a suite, for this template's successors
                try:
                    wire = marshal.loads(os.pread(fds[0], os.fstat(fds[0]).st_size, 0))
                finally:
                    for fd in fds:
                        os.close(fd)
                self.prepared[wire["id"]] = prepare_suite(wire, self.tests_builtins)
                gc.freeze()  # out of the collector's way, in every child
                self.suites_memory = max(0, _address_space() - bare)
                jobs.send(b"ok")
                continue
            if message[:1] == b"d":  # forget a suite
                self.prepared.pop(message[1:].decode(), None)
                self.suites_memory = max(0, _address_space() - bare)
                continue
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
        suite = request.get("suite")
        if suite is not None and suite not in self.prepared:
            print(f"suite {suite} is not prepared", file=sys.stderr)
            os._exit(CHILD_FAILED)
        self.child_process(job, request["secret"], result_fd, request["first_test"],
                           set(request["failed_groups"]), self.tests_builtins,
                           self.prepared.get(suite) if suite is not None else None)

    # -- suites

    def define_suite(self, wire: dict) -> None:
        """Keep a suite the host sent; the template prepares it when a job first needs it."""
        if wire["id"] in self.suites:
            self.suites[wire["id"]] = self.suites.pop(wire["id"])
            return
        blob = marshal.dumps(wire)
        self.suites[wire["id"]] = {"tests": suite_tests(wire), "blob": blob}
        self.suite_bytes += len(blob)
        while len(self.suites) > 1 and (len(self.suites) > MAX_SUITES
                                         or self.suite_bytes > MAX_SUITE_BYTES):
            self._forget_suite(next(iter(self.suites)))

    def _forget_suite(self, suite_id: str) -> None:
        self.suite_bytes -= len(self.suites.pop(suite_id)["blob"])
        if suite_id in self.template_suites:
            self.template_suites.discard(suite_id)
            try:
                self.template_socket.send(b"d" + suite_id.encode())
            except OSError:  # a dead template: the next job starts another
                pass

    def _suite_in_template(self, suite_id: str) -> None:
        """Have the template prepare the suite, unless it has it."""
        if suite_id in self.template_suites:
            return
        blob = self.suites[suite_id]["blob"]
        for _ in range(2):
            fd = _memory_file(blob)
            try:
                self.template_socket.settimeout(SUITE_PREPARE_S)
                socket.send_fds(self.template_socket, [b"s"], [fd])
                reply = self.template_socket.recv(64)
            except OSError:
                reply = b""
            finally:
                os.close(fd)
                self.template_socket.settimeout(TEMPLATE_ANSWER_S)
            if reply:
                self.template_suites.add(suite_id)
                return
            _signal(self.template_pid, signal.SIGKILL)
            self._stop_template()
            self._start_template()
        raise RuntimeError("the template process did not prepare the suite")

    def _child_from_template(self, fds: list[int], suite_id: str | None = None) -> int:
        """Have the template become a child with these descriptors (and the suite prepared);
        return its pid. The child is this worker's: its parent, the previous child, is gone."""
        for _ in range(2):
            if suite_id is not None:
                self._suite_in_template(suite_id)
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
        suite_id = job.get("suite")
        if suite_id is not None:
            if suite_id not in self.suites:  # the host sends it, then the job again
                return {"job_id": job["id"], "missing_suite": suite_id}
            self.suites[suite_id] = self.suites.pop(suite_id)  # the most recently used
            job = {**job, "tests": self.suites[suite_id]["tests"]}
        try:
            os.mkdir(self.workdir, 0o700)
        except FileExistsError:  # an earlier job's folder that could not be removed
            _empty_folder(self.scratch, self.kept)
            os.mkdir(self.workdir, 0o700)
        if self.uid is not None and self.gid is not None:
            os.chown(self.workdir, self.uid, self.gid)
        try:
            outcome = self._run_phases(job)
        finally:
            _empty_folder(self.scratch, self.kept)
        outcome["job_id"] = job["id"]
        outcome["wall_time_s"] = time.perf_counter() - start
        return outcome

    def _run_phases(self, job: dict) -> dict:
        """Run the job; after a crash inside a test, run the remaining tests in a new child."""
        outcome: dict = {"status": "sandbox_error", "tests": [], "stdout": "", "stderr": "",
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
            "job": job, "secret": secret, "first_test": first_test, "suite": job.get("suite"),
            "failed_groups": sorted(failed_groups), "max_processes": self._process_limit()}))
        fds = [request_fd, stdin_fd, out_write, err_write, result_write]
        try:
            pid = self._child_from_template(fds, job.get("suite"))
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
        memory = (job["memory_mb"] if _is_python(job) else LANGUAGES.job_memory_mb(job)) * 1024 * 1024
        # The prepared suites are in the child's address space too: not out of its program's.
        memory += self.suites_memory
        cpu = _cpu_limit(job)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size, self.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.uid is not None and self.gid is not None:
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
                          bytes(buffers[out_fd]), bytes(buffers[err_fd]))


class _PhaseClock:
    """The wall-clock deadline of whatever phase the child is in, from its reports: the
    program starts at the "start" report, and each test right after the previous phase's end."""

    def __init__(self, job: dict, first_test: int):
        self.job = job
        self.first_test = first_test
        self.program_s = job["program_timeout_s"]
        if not _is_python(job):  # a compiled language's program phase: compilation and run
            self.program_s += job["compile_timeout_s"]
        self.deadline = time.monotonic() + STARTUP_GRACE_S + self.program_s

    def on_event(self, event: dict) -> None:
        if event["event"] == "start":
            limit = self.program_s
        else:
            following = self.first_test if event["phase"] == PROGRAM else event["phase"] + 1
            tests = self.job["tests"]
            limit = tests[following]["timeout_s"] if following < len(tests) else STARTUP_GRACE_S
        self.deadline = time.monotonic() + limit + PHASE_GRACE_S


def _address_space() -> int:
    """This process's virtual memory size, in bytes (what RLIMIT_AS limits)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _memory_file(data: bytes) -> int:
    """A file descriptor reading data from its start, backed by memory only."""
    fd = os.memfd_create("job")
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _empty_folder(folder: str, kept: frozenset[str] = frozenset()) -> None:
    """Remove everything in folder, even subfolders a program made unreadable, except the
    mount points in kept; the folders that lead to them are emptied and keep mode 0755 (a
    program that could change it would hide what is mounted there)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.path in kept:
                    continue
                if any(_is_within(point, entry.path) for point in kept):
                    os.chmod(entry.path, 0o755)
                    _empty_folder(entry.path, kept)
                elif entry.is_dir(follow_symlinks=False):
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
    events: list[dict] = []
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
    parser.add_argument("--list-modules", metavar="OUT",
                        help="write the modules programs may import that import here (all "
                             "promised ones, or NAMES) to OUT as JSON ('-': stdout), and exit")
    parser.add_argument("names", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.list_modules:
        names = args.names or promised_modules()
        _limit_packages()
        found = json.dumps(importable(names))
        if args.list_modules == "-":
            print(found, file=sys.__stdout__, flush=True)
        else:
            with open(args.list_modules, "w") as out:
                out.write(found + "\n")
        return 0
    if sys.flags.hash_randomization:
        sys.exit(f"worker.py: start it with PYTHONHASHSEED={HASH_SEED} and without -E or -I, "
                 "so that every worker hashes strings the same")
    if os.path.dirname(os.path.abspath(__file__)) in sys.path[:1]:  # what -I's -P leaves out
        del sys.path[0]
    if os.getpid() == 1:
        # As a container's init, only signals with a handler reach it from inside; dropping
        # Python's SIGINT handler leaves programs no signal that stops the worker.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        # Stopped from outside: still kill the job's processes and remove the scratch folder.
        signal.signal(signal.SIGTERM, _exit_on_signal)
    jobs, outcomes = _take_protocol_streams()
    worker = Worker(args.uid, args.gid, args.max_processes, args.file_size_mb, args.scratch)
    write_message(outcomes, {"ready": True, "pid": os.getpid(), "exposed": worker.exposed,
                             "exposure_error": worker.exposure_error,
                             "languages": ["python", *(LANGUAGES.detect() if LANGUAGES else [])]})
    try:
        while (job := read_message(jobs)) is not None:
            if "suite" in job and isinstance(job["suite"], dict):  # a suite, not a job
                try:
                    worker.define_suite(job["suite"])
                except Exception:  # noqa: BLE001 - its jobs then come back missing_suite
                    traceback.print_exc()
                continue
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
