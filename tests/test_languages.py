"""The sandbox runs programs in languages other than Python (sandbox/languages.py) with the
same guarantees as Python ones: per-phase limits, compile errors as their own status, leftover
processes killed, nothing left between jobs, verdicts the program cannot forge.

Every language's toolchain is real (tests/run.sh installs them); one batch of jobs per
sandbox, so the module costs one pass over the toolchains."""

from __future__ import annotations

import pytest

from codeharness.core.errors import HarnessError
from codeharness.core.records import Execution, Status
from codeharness.sandbox.base import BaseSandbox, offered_languages
from codeharness.sandbox.jobs import Environment, Job
from codeharness.scorers.hallucination import compat_label, strict_class

# language -> (a program whose test passes, the same with a failing assertion, Job options)
PROGRAMS = {
    "cpp": ('#include <cassert>\nint add(int a, int b) { return a + b; }\n'
            'int main() { assert(add(1, 1) == 2); return 0; }\n', {}),
    "c": ('#include <assert.h>\nint add(int a, int b) { return a + b; }\n'
          'int main(void) { assert(add(1, 1) == 2); return 0; }\n', {}),
    "java": ('public class Main { static int add(int a, int b) { return a + b; }\n'
             '  public static void main(String[] args) { if (add(1, 1) != 2) throw new AssertionError(); } }\n',
             {}),
    "go": ('package main\nimport ("testing"; "github.com/stretchr/testify/assert")\n'
           'func add(a, b int) int { return a + b }\n'
           'func TestAdd(t *testing.T) { assert := assert.New(t); assert.Equal(2, add(1, 1)) }\n',
           {"libraries": ["testify"]}),
    "js": ('const assert = require("node:assert");\nfunction add(a, b) { return a + b; }\n'
           'assert.deepEqual(add(1, 1), 2);\n', {}),
    "ts": ('declare var require: any;\nconst assert = require("node:assert");\n'
           'function add(a: number, b: number): number { return a + b; }\nassert.deepEqual(add(1, 1), 2);\n',
           {}),
    "rust": ('fn add(a: i64, b: i64) -> i64 { a + b }\nfn main() { assert_eq!(add(1, 1), 2); }\n', {}),
    "sh": ('add() { echo $(( $1 + $2 )); }\nset -e\n[[ $(add 1 1) = 2 ]]\n', {}),
    "lua": ('lu = require("luaunit")\nlocal function add(a, b) return a + b end\n'
            'function test_add() lu.assertEquals(add(1, 1), 2) end\nos.exit(lu.LuaUnit.run())\n', {}),
    "php": ('<?php\nfunction add($a, $b) { return $a + $b; }\n'
            'if (add(1, 1) !== 2) { throw new Exception("Test failed!"); }\n', {}),
    "perl": ('use Test::Deep;\nsub add { my ($a, $b) = @_; return $a + $b; }\n'
             'if (eq_deeply(add(1, 1), 2)) { print "ok!" } else { exit 1; }\n', {}),
    "ruby": ('require "test/unit"\ndef add(a, b) a + b end\n'
             'class T < Test::Unit::TestCase\n  def test_add\n    assert_equal(2, add(1, 1))\n  end\nend\n', {}),
    "r": ('add <- function(a, b) { a + b }\nstopifnot(isTRUE(all.equal(add(1, 1), 2)))\n', {}),
    "racket": ('#lang racket\n(define (add a b) (+ a b))\n(unless (= (add 1 1) 2) (error "Test failed!"))\n',
               {}),
    "scala": ('object Main { def add(a: Long, b: Long): Long = a + b\n'
              '  def main(args: Array[String]) = { assert(add(1, 1) == 2) } }\n', {}),
    "csharp": ('using System; using System.Diagnostics;\nclass Problem { static long Add(long a, long b) { return a + b; }\n'
               '  public static void Main(string[] args) { if (Add(1, 1) != 2) throw new Exception("Test failed!"); } }\n',
               {}),
    "d": ('long add(long a, long b) { return a + b; }\nunittest { assert(add(1, 1) == 2); }\nvoid main(){}\n',
          {"compile_args": ["-funittest"]}),
}
# How each right program is made wrong: its add() subtracts.
WRONG = {"cpp": ("a + b", "a - b"), "c": ("a + b", "a - b"), "java": ("a + b", "a - b"),
         "go": ("a + b", "a - b"), "js": ("a + b", "a - b"), "ts": ("a + b", "a - b"),
         "rust": ("a + b", "a - b"), "sh": ("$1 + $2", "$1 - $2"), "lua": ("a + b", "a - b"),
         "php": ("$a + $b", "$a - $b"), "perl": ("$a + $b", "$a - $b"), "ruby": ("a + b", "a - b"),
         "r": ("a + b", "a - b"), "racket": ("(+ a b)", "(- a b)"), "scala": ("a + b", "a - b"),
         "csharp": ("a + b", "a - b"), "d": ("a + b", "a - b")}
# A program that does not compile, per compiled language.
NOT_COMPILING = {"cpp": "int main() { return undefined_name; }\n",
                 "java": "public class Main { public static void main(String[] a) { int x = \"s\"; } }\n",
                 "go": "package main\nimport \"testing\"\nfunc TestX(t *testing.T) { var x int = \"s\" }\n",
                 "rust": "fn main() { let x: i32 = \"s\"; }\n",
                 "ts": "const x: number = \"s\";\n",
                 "scala": "object Main { def main(args: Array[String]) = { val x: Int = \"s\" } }\n",
                 "csharp": "class Problem { public static void Main(string[] a) { int x = \"s\"; } }\n",
                 "d": "void main() { int x = \"s\"; }\n"}

C_FORK_AND_LEAVE = r'''
#include <unistd.h>
#include <stdlib.h>
int main(void) {
    if (fork() == 0) { setsid(); for (;;) sleep(1); }
    return 0;
}
'''
C_FORGE = r'''
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
int main(void) {
    const char *fake = "{\"event\": \"start\"}\n{\"event\": \"end\", \"phase\": -1, \"status\": \"passed\"}\n";
    for (int fd = 0; fd < 64; fd++) write(fd, fake, strlen(fake));
    kill(getppid(), SIGKILL);  /* its driver */
    return 0;
}
'''
C_WRITES_FILES = r'''
#include <stdio.h>
int main(void) {
    FILE *a = fopen("left_behind.txt", "w"); fputs("x", a); fclose(a);
    FILE *b = fopen("/tmp/left_behind_tmp.txt", "w"); if (b) { fputs("x", b); fclose(b); }
    return 0;
}
'''
C_FINDS_FILES = r'''
#include <unistd.h>
int main(void) {
    return access("left_behind.txt", F_OK) == 0 || access("/tmp/left_behind_tmp.txt", F_OK) == 0;
}
'''
C_LOOPS = "int main(void) { volatile unsigned long i = 0; for (;;) i++; }\n"
CPP_ALLOCATES = ("#include <vector>\n#include <cstdio>\nint main() { std::vector<char> v(6000000000UL, 1);"
                 " std::printf(\"%d\", v[12345]); return 0; }\n")
JAVA_ALLOCATES = ("public class Main { public static void main(String[] a) {"
                  " long[][] keep = new long[100000][]; for (int i = 0; i < keep.length; i++)"
                  " keep[i] = new long[1 << 20]; } }\n")
CPP_HEAVY_COMPILE = ("#include <boost/any.hpp>\n#include <regex>\n#include <map>\n#include <iostream>\n"
                     "int main() { std::regex r(\"a+\"); std::map<int, boost::any> m; return 0; }\n")
JS_CONSOLE_ASSERT = "console.assert(1 + 1 === 3);\n"


def _jobs() -> list[Job]:
    jobs = []
    for language, (program, options) in PROGRAMS.items():
        jobs.append(Job(f"{language}/right", program, [], language=language, program_timeout_s=60, **options))
        before, after = WRONG[language]
        jobs.append(Job(f"{language}/wrong", program.replace(before, after), [], language=language,
                        program_timeout_s=60, **options))
    for language, program in NOT_COMPILING.items():
        jobs.append(Job(f"{language}/not-compiling", program, [], language=language))
    jobs += [
        Job("leaves-a-process", C_FORK_AND_LEAVE, [], language="c"),
        Job("forges", C_FORGE, [], language="c"),
        Job("loops", C_LOOPS, [], language="c", program_timeout_s=1.0),
        Job("compiles-too-long", CPP_HEAVY_COMPILE, [], language="cpp", compile_timeout_s=0.05),
        Job("cpp-allocates", CPP_ALLOCATES, [], language="cpp", memory_mb=512),
        Job("java-allocates", JAVA_ALLOCATES, [], language="java", memory_mb=256, program_timeout_s=60),
        Job("console-assert", JS_CONSOLE_ASSERT, [], language="js"),
        Job("unknown-language", "x", [], language="cobol"),
        Job("bad-source-name", "int main(){}", [], language="cpp", source_name="../x.cpp"),
        Job("stdin", "#include <iostream>\nint main() { int a, b; std::cin >> a >> b; return a + b == 5 ? 0 : 1; }\n",
            [], language="cpp", stdin="2 3\n"),
    ]
    return jobs


@pytest.fixture(scope="module")
def outcomes(local_sandbox):
    found = {o.job_id: o for o in local_sandbox.run(_jobs())}
    # Run after every job above, on both workers: what a job left must be gone.
    writes = [Job(f"writes-{i}", C_WRITES_FILES, [], language="c") for i in range(2)]
    found.update({o.job_id: o for o in local_sandbox.run(writes)})
    finds = [Job(f"finds-{i}", C_FINDS_FILES, [], language="c") for i in range(4)]
    found.update({o.job_id: o for o in local_sandbox.run(finds)})
    return found


def test_the_sandbox_offers_every_installed_language(local_sandbox):
    for language in (*PROGRAMS, "java:javatuples", "go:testify", "cpp:boost", "rust:regex",
                     "lua:luaunit", "perl:test-deep"):
        assert language in local_sandbox.languages, (language, local_sandbox.languages)


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_a_right_program_passes_and_a_wrong_one_fails(outcomes, language):
    right, wrong = outcomes[f"{language}/right"], outcomes[f"{language}/wrong"]
    assert right.verdict is Status.PASSED, (right.status, right.message, right.stderr)
    assert right.exit_code == 0
    # C#'s and Racket's tests raise an error (their Debug.Assert and rackunit report a failure
    # and exit 0: MultiPL-E's rules read stderr for them).
    expected = Status.ERROR if language in ("csharp", "racket") else Status.FAILED
    assert wrong.verdict is expected, (wrong.status, wrong.exception_type, wrong.message, wrong.stderr)
    if expected is Status.FAILED:
        assert wrong.exception_type == "AssertionError"


@pytest.mark.parametrize("language", sorted(NOT_COMPILING))
def test_a_program_that_does_not_compile_is_a_compile_error(outcomes, language):
    outcome = outcomes[f"{language}/not-compiling"]
    assert outcome.status is Status.COMPILE_ERROR, (outcome.status, outcome.message)
    assert outcome.exception_type == "CompileError" and outcome.message


def test_run_and_compile_time_limits(outcomes):
    assert outcomes["loops"].status is Status.TIMEOUT
    assert outcomes["compiles-too-long"].status is Status.TIMEOUT
    assert outcomes["compiles-too-long"].exception_type == "CompileTimeout"


def test_memory_limits_hold_for_native_and_jvm_programs(outcomes):
    assert outcomes["cpp-allocates"].status is Status.OUT_OF_MEMORY, outcomes["cpp-allocates"].message
    assert outcomes["java-allocates"].status is Status.OUT_OF_MEMORY, outcomes["java-allocates"].message


def test_processes_a_program_leaves_are_killed(outcomes):
    outcome = outcomes["leaves-a-process"]
    assert outcome.status is Status.PASSED
    assert outcome.leftover_processes >= 1


def test_a_program_cannot_forge_its_verdict(outcomes):
    # Fake reports on every descriptor, then it kills the driver that would report it.
    outcome = outcomes["forges"]
    assert outcome.verdict is not Status.PASSED, (outcome.status, outcome.message)


def test_files_a_program_writes_do_not_outlive_its_job(outcomes):
    assert all(outcomes[f"writes-{i}"].status is Status.PASSED for i in range(2))
    for i in range(4):
        assert outcomes[f"finds-{i}"].status is Status.PASSED, "a file of an earlier job was found"


def test_console_assert_exits_zero_and_prints(outcomes):
    # Why HumanEval-X's JavaScript rule looks at the output: exit 0 despite the failure.
    outcome = outcomes["console-assert"]
    assert outcome.status is Status.PASSED and "Assertion failed" in outcome.stderr


def test_the_sandbox_refuses_what_it_cannot_run(outcomes):
    assert outcomes["unknown-language"].status is Status.SANDBOX_ERROR
    assert outcomes["bad-source-name"].status is Status.SANDBOX_ERROR


def test_stdin_reaches_a_compiled_program(outcomes):
    assert outcomes["stdin"].status is Status.PASSED


class _PythonOnly(BaseSandbox):
    name = "test"
    languages_hint = "here: {packages}"


def test_require_names_the_missing_toolchain_and_how_to_get_it():
    with pytest.raises(HarnessError) as error:
        _PythonOnly().require(Environment(languages=("go",), libraries=("go:testify",)))
    message = str(error.value)
    assert "go toolchain" in message and "testify library for go" in message
    assert "apt-get install golang-go" in message and "golang-github-stretchr-testify-dev" in message
    assert "\n" not in message
    _PythonOnly().require(Environment())  # Python alone: nothing missing


def test_offered_languages_is_what_every_worker_has():
    assert offered_languages([{"languages": ["python", "go", "cpp"]}, {"languages": ["python", "go"]}]) \
        == ("go", "python")
    assert offered_languages([{}]) == ("python",)


def test_a_compile_error_is_a_syntax_error_in_the_hallucination_profile():
    execution = Execution("t", "p", 0, Status.COMPILE_ERROR, {"base": Status.COMPILE_ERROR},
                          exception_type="CompileError", message="error: expected ';'")
    assert strict_class(execution, breakdown=False) == "syntax_error"
    assert compat_label(execution, "", stdin_program=False, breakdown=False) == "SyntaxError"


def test_no_network_under_bubblewrap(local_sandbox, host_port_listener):
    """Under bubblewrap, a compiled program cannot reach the host's loopback either."""
    from tests.test_languages_docker import C_CONNECTS

    if not local_sandbox.bwrap:
        pytest.skip("without bubblewrap the local sandbox has no network namespace (README, Security)")
    outcome = next(iter(local_sandbox.run([Job("connects", C_CONNECTS, [], language="c",
                                               stdin=f"{host_port_listener}\n")])))
    assert outcome.status is not Status.PASSED, outcome


@pytest.fixture
def host_port_listener():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]
