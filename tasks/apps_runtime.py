"""Trusted helpers that run APPS-style tests inside a sandbox child.

tasks/apps.py ships this file's source as a job's prelude, so it is standard library only.
The untrusted program never runs in the job's namespace: it runs in globals of its own,
so it cannot rebind these helpers by assignment.

- A stdin/stdout program runs once per test as `__main__`, with the test input on file
  descriptor 0 and its standard output captured from file descriptor 1 (so `input()`,
  `sys.stdin.buffer`, `open(0)` and `os.write(1, ...)` all behave as in a real run).
- A call-based program is loaded once; each test calls its `fn_name` (a method of
  `Solution` when the program defines that class, as in LeetCode-style problems).

Answers are compared the way APPS's evaluation does (see `outputs_match`).
"""

import builtins
import contextlib
import json
import os
import sys

SHOWN_CHARS = 200


class WrongOutput(AssertionError):
    """The program ran to its end, but its answer differs from the expected one."""


class StdioProgram:
    def __init__(self, source, preamble):
        self.code = compile(source, "<program>", "exec")
        self.preamble = compile(preamble, "<preamble>", "exec")

    def check(self, stdin_text, expected):
        actual = run_as_main(self.code, self.preamble, stdin_text)
        if not outputs_match(actual, expected):
            raise WrongOutput(f"expected {_shown(expected)}, got {_shown(actual)}")


class CallProgram:
    def __init__(self, source, preamble):
        self.module = {"__name__": "__program__", "__builtins__": builtins}
        exec(compile(preamble, "<preamble>", "exec"), self.module)
        exec(compile(source, "<program>", "exec"), self.module)

    def check(self, fn_name, args_json, expected_json):
        expected = json.loads(expected_json)
        with restored_builtins():
            actual = self.entry_point(fn_name)(*json.loads(args_json))
        if not call_result_matches(actual, expected):
            raise WrongOutput(f"expected {_shown(repr(expected))}, got {_shown(repr(actual))}")

    def entry_point(self, fn_name):
        solution = self.module.get("Solution")
        if isinstance(solution, type) and hasattr(solution, fn_name):
            return getattr(solution(), fn_name)
        if fn_name in self.module:
            return self.module[fn_name]
        raise NameError(f"name {fn_name!r} is not defined")


def run_as_main(code, preamble, stdin_text):
    """Run compiled code as `__main__` with stdin_text as its input; return what it printed."""
    saved_fds = os.dup(0), os.dup(1)
    saved_streams = sys.stdin, sys.stdout
    stdin_fd = _memory_file("stdin", stdin_text.encode())
    stdout_fd = os.memfd_create("stdout")
    try:
        os.dup2(stdin_fd, 0)
        os.dup2(stdout_fd, 1)
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        try:
            with restored_builtins():
                globals_ = {"__name__": "__main__", "__builtins__": builtins}
                exec(preamble, globals_)
                exec(code, globals_)
                _join_program_threads()
        except SystemExit:
            pass  # exit() or sys.exit() ends the program; its output still counts
        finally:
            _flush(sys.stdout)
    finally:
        os.dup2(saved_fds[0], 0)
        os.dup2(saved_fds[1], 1)
        sys.stdin, sys.stdout = saved_streams
        for fd in (*saved_fds, stdin_fd):
            os.close(fd)
    try:
        return _read_all(stdout_fd).decode("utf-8", errors="replace")
    finally:
        os.close(stdout_fd)


@contextlib.contextmanager
def restored_builtins():
    """Undo the program's changes to builtins before its answer is judged."""
    pristine = dict(builtins.__dict__)
    try:
        yield
    finally:
        builtins.__dict__.clear()
        builtins.__dict__.update(pristine)


def _memory_file(name, data):
    fd = os.memfd_create(name)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_all(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _flush(stream):
    try:
        stream.flush()
    except (OSError, ValueError):  # the program closed or broke its own stdout
        pass


def _join_program_threads():
    """Wait for the program's non-daemon threads, as the interpreter does before it exits
    (competitive programs often run `main` in a thread with a larger stack)."""
    threading = sys.modules.get("threading")  # only a program that imported it has threads
    if threading is None:
        return
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()


def _shown(text):
    text = str(text)
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


# ---------------------------------------------------------------- APPS's comparison rules


def outputs_match(actual, expected):
    """APPS's lenient comparison of a program's standard output with the expected one.

    Any of these accepts: equal text after stripping (also with every line stripped);
    equal lists of non-empty lines; lines that are all numbers and agree within
    1e-5 relative + 1e-8 absolute (numpy.allclose's default); equal collections of
    per-line token sets, also with every token rounded to 3 decimals. The last two are
    APPS's own leniency: they ignore the order of lines, repeated lines, and the order of
    tokens within a line.
    """
    lines = actual.splitlines()
    expected_lines = [line.strip() for line in expected.split("\n") if line]
    non_empty = [line for line in lines if line]
    return (
        _same_text(lines, expected)
        or lines == expected_lines
        or non_empty == expected_lines
        or _close_numbers(non_empty, expected_lines)
        or _same_token_sets(non_empty, expected_lines, str)
        or _same_token_sets(non_empty, expected_lines, _rounded)
    )


def _same_text(lines, expected):
    wanted = expected.strip()
    return ("\n".join(lines).strip() == wanted
            or "\n".join(line.strip() for line in lines).strip() == wanted)


def _close_numbers(lines, expected_lines):
    try:
        actual = [float(line) for line in lines]
        wanted = [float(line) for line in expected_lines]
    except ValueError:
        return False
    return len(actual) == len(wanted) and all(
        a == w or abs(a - w) <= 1e-8 + 1e-5 * abs(w) for a, w in zip(actual, wanted))


def _rounded(token):
    return round(float(token), 3)


def _same_token_sets(lines, expected_lines, convert):
    # An expected line of only spaces gives an empty set; an actual one is dropped (as in APPS).
    try:
        actual = {frozenset(map(convert, line.split())) for line in lines if line.split()}
        wanted = {frozenset(map(convert, line.split())) for line in expected_lines}
    except (ValueError, OverflowError):
        return False
    return actual == wanted


def call_result_matches(actual, expected):
    """APPS's comparison for call-based problems: equal, or equal to the single element of
    the expected list; tuples count as lists."""
    if isinstance(actual, tuple):
        actual = list(actual)
    if actual == expected:
        return True
    if isinstance(expected, list) and expected:
        if actual == expected[0]:
            return True
        try:
            return isinstance(actual[0], tuple) and [list(x) for x in actual] == expected[0]
        except (TypeError, IndexError, KeyError):
            return False
    return False
