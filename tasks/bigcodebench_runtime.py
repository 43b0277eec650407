"""Trusted helpers that run one BigCodeBench program inside a sandbox child.

tasks/bigcodebench.py ships this file's source as a job's prelude, so it is standard library
only. The benchmark's programs need its library set (pandas, matplotlib, TensorFlow, ...),
which the sandbox's own Python does not offer: `run_unittest` starts BigCodeBench's
interpreter (`--python`) as a child of the sandboxed process, so it runs under the same
limits, user, namespaces and clean-up, and in that fresh process RUNNER does what upstream's
`unsafe_execute` does: `solution + "\\n" + test` executed as module `__test__` (with `sys`,
`os` and `environ` in its namespace, TZ=UTC, in a temporary folder, standard streams
swallowed, `exit`/`quit` removed), then `TestCases` run by unittest. It passes when no test failed or raised.

The verdict comes back on a pipe, in a line that starts with a secret the program is not
given: a program that exits early or prints a fake verdict cannot pass. The program shares
its interpreter with unittest, as it does upstream, so one that patches unittest can.
"""

import builtins
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

REPORT_LIMIT = 1 << 20  # bytes of the runner's report read back
SHOWN = 600  # characters of a failure shown in the message

RUNNER = r'''
import builtins, contextlib, faulthandler, io, json, os, sys, time, types, unittest

def _main():
    sys.path[:] = [folder for folder in sys.path if folder]  # not the working folder (-I's -P)
    report_fd = int(sys.argv[1])
    payload = json.loads(sys.stdin.read())
    secret = payload.pop("secret")
    write = os.write

    def send(result):
        data = (secret + json.dumps(result) + "\n").encode()
        while data:
            data = data[write(report_fd, data):]

    os.environ["TZ"] = "UTC"
    time.tzset()
    for name, value in (("OMP_NUM_THREADS", "1"), ("TF_CPP_MIN_LOG_LEVEL", "3"),
                        ("TF_ENABLE_ONEDNN_OPTS", "0")):
        os.environ[name] = value
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
        wanted = payload["stack_mb"] * 1024 * 1024
        if hard == resource.RLIM_INFINITY or hard >= wanted:
            resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))
    except (ImportError, ValueError, OSError):
        pass
    faulthandler.disable()
    builtins.exit = None
    builtins.quit = None
    # (upstream's reliability_guard also imports matplotlib.pyplot to close all figures: in a
    # fresh process there are none, so that is left out, and with it a second of imports)

    class WriteOnly(io.StringIO):
        def read(self, *args, **kwargs):
            raise OSError
        readline = readlines = read

        def readable(self, *args, **kwargs):
            return False

    module = types.ModuleType("__test__")
    module.__dict__.update({"__builtins__": builtins, "__file__": "__test__.py",
                            "__package__": None, "__doc__": None, "sys": sys, "os": os,
                            "environ": os.environ})
    stream = WriteOnly()
    saved = sys.stdin
    issues = {}
    try:
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            sys.stdin = stream
            try:
                code = compile(payload["solution"] + "\n" + payload["test"], "__test__.py", "exec")
                exec(code, module.__dict__)
                sys.modules["__test__"] = module
                cases = getattr(module, "TestCases")
                suite = unittest.TestLoader().loadTestsFromTestCase(cases)
                result = unittest.TestResult()
                suite.run(result)
            finally:
                sys.stdin = saved
    except BaseException as exc:
        chain = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins" and c is not object]
        send({"status": "load_error", "exception_type": type(exc).__name__, "chain": chain,
              "message": str(exc)[:2000]})
        return
    for kind, items in (("failure", result.failures), ("error", result.errors)):
        for test, trace in items:
            issues[test.id().split(".")[-1]] = {"kind": kind, "trace": trace[-4000:]}
    send({"status": "pass" if not issues else "fail", "tests": result.testsRun, "issues": issues})

_main()
'''


class TestsFailed(AssertionError):
    """A unittest test of the task failed (an assertion)."""


def run_unittest(python, solution, test, stack_mb=10, mpl_cache=""):
    """Run solution and test in a fresh `python`; raise as the program's outcome: nothing
    when every test passed, AssertionError (TestsFailed) for failed assertions, the
    test's or the program's own exception type otherwise."""
    secret = secrets.token_hex(16)
    workdir = tempfile.mkdtemp(prefix="bigcodebench-")
    # As in the sandbox's workers (sandbox/worker.py HASH_SEED): set order does not change
    # from run to run. So `-s`, not `-I`, whose -E would ignore the seed.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    env.update({"PYTHONHASHSEED": "0", "TZ": "UTC", "OMP_NUM_THREADS": "1",
                "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "MPLBACKEND": "Agg",
                "MPLCONFIGDIR": os.path.join(workdir, ".matplotlib"), "HOME": workdir,
                "TMPDIR": workdir})
    if mpl_cache and os.path.isdir(mpl_cache):  # a font cache built once, not per program
        shutil.copytree(mpl_cache, env["MPLCONFIGDIR"])
    read_end, write_end = os.pipe()
    process = None
    try:
        process = subprocess.Popen(
            [python, "-s", "-c", RUNNER, str(write_end)], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,),
            cwd=workdir, env=env)
        os.close(write_end)
        write_end = -1
        payload = json.dumps({"secret": secret, "solution": solution, "test": test,
                              "stack_mb": stack_mb}).encode()
        try:
            process.stdin.write(payload)
            process.stdin.close()
        except BrokenPipeError:
            pass
        chunks, size = [], 0
        while size < REPORT_LIMIT:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        code = process.wait()
    finally:
        if write_end >= 0:
            os.close(write_end)
        os.close(read_end)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    report = _signed_report(b"".join(chunks).decode("utf-8", "replace"), secret)
    if report is None:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        raise RuntimeError(f"the program {how} before its tests finished")
    if report["status"] == "pass":
        return
    if report["status"] == "load_error":
        raise _exception(report["exception_type"], report["chain"], report["message"])
    issues = report["issues"]
    failures = {n: i for n, i in issues.items() if i["kind"] == "failure"}
    names = ", ".join(sorted(issues))
    if failures:
        first = min(failures)
        raise TestsFailed(f"{len(issues)} of {report['tests']} tests failed ({names}); "
                          f"{first}: {_last_lines(failures[first]['trace'])}")
    first = min(issues)
    kind, message = _error_of(issues[first]["trace"])
    raise _exception(kind, [], f"{len(issues)} of {report['tests']} tests raised ({names}); "
                               f"{first}: {message}")


def _signed_report(text, secret):
    for line in reversed(text.splitlines()):
        if line.startswith(secret):
            try:
                return json.loads(line[len(secret):])
            except ValueError:
                return None
    return None


def _last_lines(trace):
    lines = [line for line in trace.strip().splitlines() if line.strip()]
    return " | ".join(lines[-2:])[-SHOWN:]


def _error_of(trace):
    """The exception class name and message of a traceback's last line."""
    last = trace.strip().splitlines()[-1] if trace.strip() else "Exception"
    kind, _, message = last.partition(":")
    kind = kind.strip().rpartition(".")[2] or "Exception"
    return kind, (message.strip() or last)[-SHOWN:]


def _exception(kind, chain, message):
    """An exception of the same class name (a builtin one where it is one), so the sandbox
    reports the program's own exception."""
    builtin = getattr(builtins, kind, None)
    if isinstance(builtin, type) and issubclass(builtin, BaseException):
        if issubclass(builtin, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            builtin = RuntimeError
        try:
            return builtin(message)
        except TypeError:
            pass
    base = next((getattr(builtins, name) for name in chain
                 if isinstance(getattr(builtins, name, None), type)
                 and issubclass(getattr(builtins, name), Exception)), Exception)
    if kind.isidentifier():
        return type(kind, (base,), {})(message)
    return base(message)


if __name__ == "__main__":  # pragma: no cover - a manual check: python bigcodebench_runtime.py PY
    run_unittest(sys.argv[1], "def task_func():\n    return 1\n",
                 "import unittest\nclass TestCases(unittest.TestCase):\n"
                 "    def test_one(self):\n        self.assertEqual(task_func(), 1)\n")
    print("passed")
