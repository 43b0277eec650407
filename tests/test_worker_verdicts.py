"""The worker's verdict and report channel, function by function, without a sandbox: how a
child's exception becomes a status, how reports are signed, framed and checked, how the
phases' deadlines move, and how the reports and the child's exit become a job's result.
(tests/security/ and tests/test_sandbox_local.py run the same code through real sandboxes.)"""

from __future__ import annotations

import json
import signal
import time

import pytest
from codeharness.sandbox import worker

SECRET = b"0123456789abcdef0123456789abcdef"


def signed(event: dict | str) -> bytes:
    text = event if isinstance(event, str) else json.dumps(event)
    return SECRET + text.encode() + b"\n"


def end(phase: int, status: str = "passed", **fields) -> dict:
    return {"event": "end", "phase": phase, "status": status, "time_s": 0.1, **fields}


# ---------------------------------------------------------------- statuses of exceptions


@pytest.mark.parametrize("exc, status", [
    (AssertionError("x"), "failed"),
    (worker.Timeout("t"), "timeout"),
    (MemoryError(), "out_of_memory"),
    (SyntaxError("s"), "syntax_error"),
    (IndentationError("i"), "syntax_error"),
    (ValueError("v"), "error"),
    (SystemExit(0), "error"),
    (KeyboardInterrupt(), "error"),
])
def test_status_of_each_exception(exc, status):
    assert worker._status_of(exc) == status


def test_exception_fields_name_the_builtin_chain_and_bound_the_message():
    class Custom(KeyError):
        pass

    fields = worker._exception_fields(Custom("m" * (worker.MESSAGE_LIMIT + 10)))
    assert fields["exception_type"] == "Custom"
    assert fields["exception_chain"] == ["KeyError", "LookupError", "Exception", "BaseException"]
    assert fields["message"] == ("'" + "m" * worker.MESSAGE_LIMIT)[:worker.MESSAGE_LIMIT]
    assert worker._exception_fields(ValueError("short"))["message"] == "short"


def test_bounded_repr():
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no")

    assert worker._bounded_repr([1, "a"]) == "[1, 'a']"
    assert worker._bounded_repr(Hostile()) == "<unrepresentable: RuntimeError>"
    assert worker._bounded_repr("x" * worker.VALUE_LIMIT) == "<too large>"
    exact = "x" * (worker.VALUE_LIMIT - 2)  # its repr is exactly VALUE_LIMIT long
    assert worker._bounded_repr(exact) == repr(exact)


@pytest.fixture
def alarm():
    outer = signal.getitimer(signal.ITIMER_REAL)[0]  # pytest-timeout's own alarm, if any
    previous = signal.signal(signal.SIGALRM, worker._on_alarm)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    signal.setitimer(signal.ITIMER_REAL, outer)


def test_run_with_alarm(alarm):
    namespace = {}
    passed = worker._run_with_alarm(compile("x = 1", "<t>", "exec"), namespace, 5)
    assert passed["status"] == "passed" and namespace["x"] == 1 and passed["time_s"] >= 0
    failed = worker._run_with_alarm(compile("assert 1 == 2, 'no'", "<t>", "exec"), {}, 5)
    assert (failed["status"], failed["exception_type"], failed["message"]) == ("failed", "AssertionError", "no")
    start = time.monotonic()
    slow = worker._run_with_alarm(compile("while True: pass", "<t>", "exec"), {}, 0.2)
    assert slow["status"] == "timeout" and slow["exception_type"] == "Timeout"
    assert 0.15 < slow["time_s"] < 5 and time.monotonic() - start < 5
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0  # no alarm left behind


def test_a_cpu_limit_ends_with_its_test(alarm):
    """A test's CPU-time timer is disarmed when it ends: left armed, it would end a later
    test, or the program, that never had a CPU limit."""
    previous = signal.signal(signal.SIGPROF, worker._on_cpu_limit)
    try:
        for code in ("x = 1", "assert False", "while True: pass"):
            worker._run_with_alarm(compile(code, "<t>", "exec"), {}, 0.3, cpu_s=5.0)
            assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0), code
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


# ---------------------------------------------------------------- the child's reports


def test_encoded_events_are_json():
    event = {"event": "end", "phase": -1, "status": "failed", "time_s": 0.25, "value": None,
             "exception_chain": ["AssertionError", "Exception"], "message": 'é "quoted"\n'}
    encoded = worker._encode_event(event)
    assert encoded.isascii() and b"\n" not in encoded
    assert json.loads(encoded) == event


def run_child(job: dict, first_test: int = 0, failed_groups=(), suite: dict | None = None) -> list[dict]:
    """The sealed _child_main in this process (as a forked child runs it), its reports
    collected; what the program does to the builtins module is undone after."""
    events = []
    builtins = dict(worker.builtins.__dict__)
    outer = signal.getitimer(signal.ITIMER_REAL)[0]  # pytest-timeout's own alarm, if any
    previous = signal.signal(signal.SIGALRM, worker._on_alarm)
    try:
        worker._seal()["_child_main"](job, events.append, first_test, set(failed_groups),
                                      dict(builtins), suite)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        signal.setitimer(signal.ITIMER_REAL, outer)
        for name, value in builtins.items():
            if worker.builtins.__dict__.get(name) is not value:
                setattr(worker.builtins, name, value)
    return events


def child_job(program: str, tests: list[tuple[str, str, str]], fail_fast: bool = True,
              prelude: str = "") -> dict:
    return {"prelude": prelude, "program": program, "program_timeout_s": 5, "fail_fast": fail_fast,
            "tests": [{"name": name, "group": group, "code": code, "timeout_s": 5}
                      for name, group, code in tests]}


def statuses(events: list[dict]) -> list:
    return [(e["event"], e.get("phase"), e.get("status")) for e in events]


def test_child_reports_each_phase_and_skips_a_failed_group():
    job = child_job("def f(x): return x + 1", [
        ("a", "base", "assert f(1) == 2"), ("b", "base", "assert f(1) == 3"),
        ("c", "base", "assert f(2) == 3"), ("d", "plus", "assert f(0) == 1\n__result__ = f(5)"),
        ("e", "plus", "assert f(0) ==")])
    events = run_child(job)
    assert statuses(events) == [("start", None, None), ("end", -1, "passed"), ("end", 0, "passed"),
                                ("end", 1, "failed"), ("end", 2, "not_run"), ("end", 3, "passed"),
                                ("end", 4, "sandbox_error")]
    assert events[4]["time_s"] == 0.0 and events[5]["value"] == "6"
    assert events[6]["time_s"] == 0.0 and events[6]["exception_type"] == "SyntaxError"
    assert "value" not in events[2]
    # Without fail_fast every test runs; from first_test on, with the groups failed so far.
    assert [e.get("status") for e in run_child({**job, "fail_fast": False})][2:] == [
        "passed", "failed", "passed", "passed", "sandbox_error"]
    assert statuses(run_child(job, first_test=3, failed_groups={"plus"}))[2:] == [
        ("end", 3, "not_run"), ("end", 4, "not_run")]


def test_child_reports_a_program_that_fails_and_no_test():
    assert statuses(run_child(child_job("def f(:", [("a", "base", "pass")])))[1:] == [
        ("end", -1, "syntax_error")]
    assert statuses(run_child(child_job("x = 1\0", [("a", "base", "pass")])))[1:] == [
        ("end", -1, "syntax_error")]
    raised = run_child(child_job("raise KeyError('k')", [("a", "base", "pass")]))
    assert statuses(raised)[1:] == [("end", -1, "error")] and raised[1]["exception_type"] == "KeyError"
    assert run_child(child_job("y = x", [], prelude="x = 3"))[1]["status"] == "passed"


def test_a_suites_prelude_and_names_reach_the_program_and_its_tests():
    def suite(prelude: str) -> dict:
        wire = {"id": "s", "setup": "expected = 4", "prelude": prelude,
                "tests": [{"name": "a", "group": "base", "code": "assert f() == expected"}]}
        return worker.prepare_suite(wire, dict(worker.builtins.__dict__))

    job = {**child_job("def f(): return helper() + 1", []), "tests": [
        {"name": "a", "group": "base", "timeout_s": 5}]}
    assert statuses(run_child(job, suite=suite("def helper(): return 3"))) == [
        ("start", None, None), ("end", -1, "passed"), ("end", 0, "passed")]
    alone = {**job, "program": "def f(): return 4"}  # a suite without a prelude
    assert statuses(run_child(alone, suite=suite(""))) == [
        ("start", None, None), ("end", -1, "passed"), ("end", 0, "passed")]


def test_program_and_tests_compile_without_the_workers_future_flags():
    # worker.py has `from __future__ import annotations`; code run in-process must not
    # inherit it (annotations would turn into strings).
    job = child_job("def f(x: int): return x", [
        ("a", "base", "def g(y: str): pass\nassert g.__annotations__['y'] is str"),
        ("b", "base", "assert f.__annotations__['x'] is int"),
        ("c", "base", "assert p.__annotations__['z'] is float")], fail_fast=False,
        prelude="def p(z: float): return z")
    assert [e.get("status") for e in run_child(job)] == [None, "passed", "passed", "passed", "passed"]


def test_tests_get_pristine_builtins():
    job = child_job("import builtins\nbuiltins.len = lambda x: 7\ndef f(): return len([])",
                    [("a", "base", "assert len([]) == 0 and f() == 7")])
    assert [e.get("status") for e in run_child(job)] == [None, "passed", "passed"]


# ---------------------------------------------------------------- the host's side


def test_only_signed_well_formed_reports_count():
    buffer = bytearray(
        b"\n"  # an empty line (a program may write one) holds nothing up
        + signed({"event": "start"})
        + json.dumps(end(0)).encode() + b"\n"  # unsigned
        + b"x" + signed(end(0))  # the secret not at the start of the line
        + SECRET[:-1] + json.dumps(end(0)).encode() + b"\n"  # a wrong secret
        + signed("{not json")
        + signed(end(-1))
        + signed(end(0, "owned"))  # not a status
        + signed(end(2))  # past the last test
        + signed(end(-2))  # before the program
        + signed(end(True))  # a bool is not a phase
        + signed(end("0"))
        + signed({"event": "stop", "phase": 0, "status": "passed"})
        + signed("[1, 2]")
        + signed(end(1, "failed"))
        + signed(end(0))[:-1])  # a line not yet complete
    events = worker._parse_reports(buffer, SECRET, tests=2)
    assert events == [{"event": "start"}, end(-1), end(1, "failed")]
    assert buffer == signed(end(0))[:-1]
    buffer += b"\n"
    assert worker._parse_reports(buffer, SECRET, tests=2) == [end(0)] and buffer == b""
    for status in worker.STATUSES:
        assert worker._is_report(end(0, status), 1)
    assert not worker._is_report(end(0), 0) and worker._is_report(end(-1), 0)


def test_a_flood_without_newline_is_dropped():
    limit = 2 * worker.VALUE_LIMIT
    buffer = bytearray(b"x" * limit)
    assert worker._parse_reports(buffer, SECRET, 1) == [] and len(buffer) == limit
    buffer += b"x"
    assert worker._parse_reports(buffer, SECRET, 1) == [] and buffer == b""


def exited(code: int) -> int:
    return code << 8


def test_exit_codes_and_crashes():
    assert worker._exit_code(exited(0)) == 0 and worker._exit_code(exited(3)) == 3
    assert worker._exit_code(signal.SIGKILL) == -signal.SIGKILL
    killed = worker._crash_result(exited(0), killed_by_us=True, used_all_cpu=False)
    assert (killed["status"], killed["exception_type"], killed["time_s"]) == ("timeout", "Timeout", 0.0)
    early = worker._crash_result(exited(3), killed_by_us=False, used_all_cpu=False)
    assert (early["status"], early["exception_type"], early["time_s"]) == ("error", "EarlyExit", 0.0)
    assert "code 3" in early["message"]
    cases = {(signal.SIGXCPU, False): ("timeout", "CPUTimeLimit"),
             (signal.SIGKILL, True): ("timeout", "CPUTimeLimit"),
             (signal.SIGKILL, False): ("out_of_memory", "Killed"),
             (signal.SIGSEGV, True): ("error", "Signal")}
    for (sig, used_all_cpu), expected in cases.items():
        crash = worker._crash_result(int(sig), killed_by_us=False, used_all_cpu=used_all_cpu)
        assert (crash["status"], crash["exception_type"]) == expected, sig
        assert crash["time_s"] == 0.0
    assert "SIGSEGV" in worker._crash_result(int(signal.SIGSEGV), False, False)["message"]


JOB = {"program_timeout_s": 3.0, "tests": [{"timeout_s": 1.0}, {"timeout_s": 2.0}, {"timeout_s": 4.0}]}
CRASH = {"status": "error", "exception_type": "EarlyExit", "message": "m", "time_s": 0.0}


def summarize(events, wait_status=exited(0), first_test=0, stderr=b""):
    return worker._summarize(JOB, first_test, events, wait_status, CRASH, 0, b"out", stderr)


def test_summary_takes_the_reported_phases_in_order():
    start = {"event": "start"}
    full = summarize([start, end(-1), end(0), end(1, "failed"), end(2)])
    assert full["program"] == {"status": "passed", "time_s": 0.1}
    assert [t["status"] for t in full["tests"]] == ["passed", "failed", "passed"]
    assert full["exit_code"] == 0 and full["stdout"] == "out" and full["crash"] == CRASH
    # A missing test ends the list: the child died in it (the worker then charges the crash).
    assert [t["status"] for t in summarize([start, end(-1), end(0), end(2)])["tests"]] == ["passed"]
    resumed = summarize([start, end(-1), end(1), end(2)], first_test=1)
    assert len(resumed["tests"]) == 2
    assert summarize([start], wait_status=int(signal.SIGKILL))["program"] == CRASH
    assert summarize([start], wait_status=int(signal.SIGKILL))["exit_code"] == -signal.SIGKILL


def test_a_child_that_failed_before_the_program_is_a_sandbox_error():
    failed = summarize([], wait_status=exited(worker.CHILD_FAILED), stderr=b"Traceback: setup")
    assert failed["program"]["status"] == "sandbox_error"
    assert failed["program"]["exception_type"] == "WorkerChildFailed"
    assert failed["program"]["message"] == "Traceback: setup"
    long = summarize([], wait_status=exited(worker.CHILD_FAILED),
                     stderr=b"x" * 10 + b"y" * worker.MESSAGE_LIMIT)
    assert long["program"]["message"] == "y" * worker.MESSAGE_LIMIT  # the end of it
    # The same exit code from a program that had started is its own early exit.
    assert summarize([{"event": "start"}], wait_status=exited(worker.CHILD_FAILED))["program"] == CRASH
    assert summarize([], wait_status=exited(1))["program"] == CRASH


def test_a_compiled_programs_phase_is_its_compilation_and_its_run():
    def program_phase(job):
        return worker._PhaseClock(job, 0).deadline - time.monotonic() - worker.STARTUP_GRACE_S

    compiled = {**JOB, "language": "cpp", "compile_timeout_s": 10.0}
    assert program_phase(compiled) == pytest.approx(13.0, abs=0.1)
    assert program_phase({**compiled, "language": "python"}) == pytest.approx(3.0, abs=0.1)


def test_phase_deadlines_follow_the_reports():
    def deadline_after(*events, first_test=0):
        clock = worker._PhaseClock(JOB, first_test)
        for event in events:
            clock.on_event(event)
        return clock.deadline - time.monotonic()

    grace = worker.PHASE_GRACE_S
    assert deadline_after() == pytest.approx(worker.STARTUP_GRACE_S + 3.0, abs=0.1)
    assert deadline_after({"event": "start"}) == pytest.approx(3.0 + grace, abs=0.1)
    assert deadline_after(end(-1)) == pytest.approx(1.0 + grace, abs=0.1)
    assert deadline_after(end(-1), first_test=2) == pytest.approx(4.0 + grace, abs=0.1)
    assert deadline_after(end(0)) == pytest.approx(2.0 + grace, abs=0.1)
    assert deadline_after(end(1)) == pytest.approx(4.0 + grace, abs=0.1)
    assert deadline_after(end(2)) == pytest.approx(worker.STARTUP_GRACE_S + grace, abs=0.1)
