"""Programs in languages other than Python: how the sandbox compiles and runs them.

A job whose `language` is not "python" carries one source file (the program and its test
harness, assembled by the task) that is written into the job's folder, compiled when the
language has a compiler, and run as its own process. The worker (sandbox/worker.py) loads
this file by path, forks the job's child as for any job (new session, rlimits, the programs'
user, the job's folder), and the child calls `run_job` instead of running Python: it is the
trusted driver of the job. It compiles (compile time limit, compiler output captured), then
runs the program (run time limit), copying the program's stdout and stderr through to the
job's own (bounded) and keeping a copy to classify the ending: passed (exit 0), failed (a
failed assertion of the test harness), error (another exception or abnormal exit, with its
type where the language names one), timeout, out of memory, or compile error. It reports the
result through the worker's signed channel; the program never sees that channel (it is not
inherited) nor the secret, and cannot trace the driver (not dumpable). A program that kills
its driver ends as an error, never as a pass. What a benchmark adds to exit 0 (HumanEval-X
JavaScript's empty output, MultiPL-E's words in the output) is the task's rule, on the
outcome's stdout and stderr.

Toolchains come from Debian packages (and npm for TypeScript where Debian's is not used);
`detect()` says which languages and libraries this machine offers, as the programs' user sees
it (the worker reports it when it starts). Two things are prepared once, as root, by
`python3 languages.py --prepare DIR` (tests/run.sh, the Docker image recipes): the Rust crates
HumanEval-X's programs use (rand, regex, md5, built from Debian's crate sources with Debian's
cargo, offline) and a Go build cache holding testify and the standard packages, which each Go
job copies into its own folder (a shared writable cache would let one program poison the next
one's build).

Standard library only: the same file runs on the host and in the Docker image.
"""

from __future__ import annotations

import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import time

# Where `--prepare` puts what it builds, and where `detect()` looks for it.
PREPARED_DIRS = ("/usr/local/lib/codeharness", "/opt/codeharness")
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
OUTPUT_LIMIT = 64 * 1024  # bytes of the program's stdout and of its stderr kept and copied
COMPILE_OUTPUT_LIMIT = 16 * 1024  # bytes of compiler output kept
MESSAGE_LIMIT = 2000
DRAIN_S = 0.5  # after the program exits, for processes it left to close its output
CARGO_SOURCE = "/usr/share/cargo/registry"
GOPATH = "/usr/share/gocode"
RUST_CRATES = {"rand": "0.8", "regex": "1", "md5": "0.7"}  # HumanEval-X's (upstream pins rand 0.4)
GO_SEED_IMPORTS = ("github.com/stretchr/testify/assert", "bytes", "crypto/md5", "fmt", "math",
                   "math/rand", "reflect", "regexp", "sort", "strconv", "strings", "testing",
                   "time", "unicode")
NODE_MODULE_DIRS = ("/usr/local/lib/node_modules", "/usr/lib/node_modules", "/usr/share/nodejs")
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CompressedClassSpaceSize=64m",
             "-XX:ReservedCodeCacheSize=64m", "-XX:-UsePerfData", "-Xshare:auto")


class Toolchain:
    """How one language is compiled and run. Argument templates may hold {source} (the file
    name), {stem} (the name without its extension: Java's and Scala's main class),
    {compile_args} and {run_args} (the job's own flags, spliced in), {classpath} and
    {heap_mb}; libraries add arguments and environment (see LIBRARIES)."""

    def __init__(self, name: str, source: str, run: tuple, compile: tuple = (),
                 packages: str = "", compile_timeout_s: float = 60.0, env: dict | None = None,
                 jvm: bool = False, compile_memory_mb: int = 4096, commands: tuple = ()):
        self.name = name
        self.source = source
        self.compile = compile
        self.run = run
        self.packages = packages
        self.compile_timeout_s = compile_timeout_s
        self.env = env or {}
        self.jvm = jvm  # its heap is bounded by -Xmx (the address-space limit is above it)
        self.compile_memory_mb = compile_memory_mb
        self.commands = commands or tuple(
            dict.fromkeys(argv[0] for argv in (compile, run) if argv and "/" not in argv[0]))


TOOLCHAINS = {t.name: t for t in (
    Toolchain("cpp", "main.cpp", ("./main", "{run_args}"),
              ("g++", "{source}", "-o", "main", "{compile_args}"),
              packages="g++ libboost-dev libssl-dev"),
    Toolchain("c", "main.c", ("./main", "{run_args}"),
              ("gcc", "{source}", "-o", "main", "{compile_args}", "-lm"), packages="gcc"),
    Toolchain("java", "Main.java",
              ("java", *JVM_FLAGS, "-Xmx{heap_mb}m", "{run_args}", "-cp", "{classpath}", "{stem}"),
              ("javac", *(f"-J{flag}" for flag in JVM_FLAGS), "-J-Xmx512m", "-encoding", "UTF8",
               "-d", ".", "-cp", "{classpath}", "{compile_args}", "{source}"),
              packages="default-jdk-headless libjavatuples-java", jvm=True),
    Toolchain("go", "main_test.go", ("./main.test", "{run_args}"),
              ("go", "test", "-c", "-o", "main.test", "{compile_args}", "{source}"),
              packages="golang-go golang-github-stretchr-testify-dev",
              env={"GO111MODULE": "off", "GOPATH": GOPATH, "GOPROXY": "off", "GOFLAGS": "",
                   "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOTELEMETRY": "off"}),
    Toolchain("js", "main.js", ("node", "{run_args}", "{source}"), packages="nodejs"),
    Toolchain("ts", "main.ts", ("node", "{run_args}", "main.js"),
              # --skipLibCheck: the bundled declaration files are not checked again for each
              # program (half of tsc's time); the program's own types are.
              ("tsc", "--target", "esnext", "--skipLibCheck", "{compile_args}", "{source}"),
              packages="nodejs node-typescript (or: npm install -g typescript)"),
    Toolchain("rust", "main.rs", ("./main", "{run_args}"),
              ("rustc", "{compile_args}", "{source}", "-o", "main"),
              packages="rustc (and for HumanEval-X: cargo librust-rand-dev librust-regex+default-dev "
                       "librust-md5-dev, then `python3 sandbox/languages.py --prepare "
                       f"{PREPARED_DIRS[0]}` as root)"),
    Toolchain("sh", "main.sh", ("bash", "{source}", "{run_args}"), packages="bash"),
    Toolchain("lua", "main.lua", ("lua5.3", "{source}", "{run_args}"), packages="lua5.3 lua-unit"),
    Toolchain("php", "main.php", ("php", "{source}", "{run_args}"), packages="php-cli"),
    Toolchain("perl", "main.pl", ("perl", "{source}", "{run_args}"),
              packages="perl libtest-deep-perl"),
    Toolchain("ruby", "main.rb", ("ruby", "{source}", "{run_args}"), packages="ruby"),
    Toolchain("r", "main.r", ("Rscript", "{source}", "{run_args}"), packages="r-base-core"),
    Toolchain("racket", "main.rkt", ("racket", "{source}", "{run_args}"), packages="racket"),
    Toolchain("scala", "Main.scala", ("scala", "-cp", ".", "{run_args}", "{stem}"),
              ("scalac", "-d", ".", "{compile_args}", "{source}"), packages="scala", jvm=True,
              compile_timeout_s=120.0),
    Toolchain("csharp", "main.cs", ("mono", "main.exe", "{run_args}"),
              ("mcs", "-d:DEBUG", "-r:System.Numerics.dll", "{compile_args}", "{source}",
               "-out:main.exe"),
              packages="mono-mcs mono-runtime", env={"MONO_TRACE_LISTENER": "Console.Error"}),
    Toolchain("d", "main.d", ("./main", "{run_args}"),
              ("gdc", "{compile_args}", "{source}", "-o", "main"), packages="gdc"),
    # Not in Debian 12 (nor npm): defined for machines that have them, untested here.
    Toolchain("julia", "main.jl", ("julia", "{run_args}", "{source}"),
              packages="julia (not packaged in Debian 12: julialang.org's release)"),
    Toolchain("swift", "main.swift", ("./main", "{run_args}"),
              ("swiftc", "{compile_args}", "{source}", "-o", "main"),
              packages="swift (not packaged in Debian 12: swift.org's release)"),
)}

# Libraries a job may ask for by name: files that must exist (any one of each tuple), and what
# they add. Rust's crates and Go's cache are found in a prepared folder (see prepare()).
LIBRARIES: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "cpp": {"boost": (("/usr/include/boost/any.hpp",),),
            "openssl": (("/usr/include/openssl/md5.h",),)},
    "java": {"javatuples": (("/usr/share/java/javatuples.jar",),)},
    "go": {"testify": ((f"{GOPATH}/src/github.com/stretchr/testify/assert/assertions.go",),)},
    "js": {"js-md5": tuple([tuple(f"{d}/js-md5/package.json" for d in NODE_MODULE_DIRS)])},
    "lua": {"luaunit": (("/usr/share/lua/5.3/luaunit.lua",),)},
    "perl": {"test-deep": (("/usr/share/perl5/Test/Deep.pm",),)},
    "rust": {"rand": (), "regex": (), "md5": ()},  # from the prepared crates' manifest
}
# Marks in a failed program's output that say a test's assertion failed, per language.
ASSERTION_MARKS = {
    "cpp": ("Assertion `",), "c": ("Assertion `",),
    "java": ("java.lang.AssertionError",), "scala": ("java.lang.AssertionError",),
    "js": ("AssertionError",), "ts": ("AssertionError",),
    "go": ("--- FAIL",), "rust": ("panicked at 'assertion failed", "assertion `left",
                                  "panicked at 'assertion"),
    "sh": ("",), "perl": ("",),  # their tests just exit non-zero
    "lua": ("Failed tests:", "FAIL"), "php": ("Test failed!",),
    "ruby": ("Failure:",), "r": ("is not TRUE", "are not all TRUE", "is not all TRUE"),
    "racket": ("FAILURE",), "csharp": ("DefaultTraceListener.Fail",),
    "d": ("AssertError", "unittest failure"),
}
OOM_MARKS = ("std::bad_alloc", "java.lang.OutOfMemoryError", "JavaScript heap out of memory",
             "memory allocation of", "fatal error: runtime: out of memory", "cannot allocate memory",
             "Cannot allocate memory", "failed to allocate memory", "Out of memory",
             "out of memory", "OutOfMemoryException")
SYNTAX_MARKS = {
    "js": ("SyntaxError:",), "sh": ("syntax error",), "php": ("PHP Parse error", "Parse error:"),
    "ruby": ("SyntaxError", "syntax error"), "perl": ("syntax error at",),
    "lua": ("syntax error near", "expected near", "unexpected symbol"),
    "r": ("Error: unexpected",), "racket": ("read-syntax",),
}
# The exception's name in an error's output, per language (the first group).
EXCEPTION_PATTERNS = {
    "java": r"Exception in thread \"main\" (?:[\w$]+\.)*([\w$]+)",
    "scala": r"Exception in thread \"main\" (?:[\w$]+\.)*([\w$]+)",
    "js": r"^(?:Uncaught )?([A-Z]\w*(?:Error|Exception))\b", "ts": r"^([A-Z]\w*(?:Error|Exception))\b",
    "cpp": r"terminate called after throwing an instance of '([^']+)'",
    "go": r"^panic: (runtime error|[^\n\[]+)", "rust": r"panicked at '([^']{0,80})",
    "csharp": r"Unhandled Exception:\s*(?:[\w]+\.)*(\w+)", "ruby": r"\((\w+(?:Error|Exception))\)",
    "php": r"PHP Fatal error:\s+Uncaught (\w+)", "d": r"^(?:[\w]+\.)*(\w+)@",
    "python": r"^(\w+Error):",
}


# ---------------------------------------------------------------- what this machine offers


def prepared_dir() -> str | None:
    return next((d for d in PREPARED_DIRS if os.path.isdir(d)), None)


def rust_crates() -> dict | None:
    """The prepared crates' manifest (crate -> rlib, the deps folder, rustc's version)."""
    for folder in PREPARED_DIRS:
        try:
            with open(os.path.join(folder, "rust-crates", "manifest.json")) as f:
                manifest = json.load(f)
        except (OSError, ValueError):
            continue
        if all(os.path.isfile(path) for path in manifest["crates"].values()):
            return manifest
    return None


def go_cache_seed() -> str | None:
    for folder in PREPARED_DIRS:
        seed = os.path.join(folder, "go-cache")
        if os.path.isdir(seed):
            return seed
    return None


def detect() -> list[str]:
    """What programs can use here: language names, and "language:library" for each library;
    by files alone (nothing runs), as the process calling it sees the filesystem."""
    found = []
    for name, chain in TOOLCHAINS.items():
        if all(shutil.which(command, path=SANDBOX_PATH) for command in chain.commands):
            found.append(name)
            for library, needs in LIBRARIES.get(name, {}).items():
                if all(any(os.path.exists(path) for path in options) for options in needs):
                    found.append(f"{name}:{library}")
    if "rust" in found:
        crates = rust_crates()
        found = [f for f in found if not f.startswith("rust:") or (crates and f[5:] in crates["crates"])]
    return found


def install_hint(feature: str) -> str:
    """How to get a language or library (Debian packages)."""
    language, _, library = feature.partition(":")
    chain = TOOLCHAINS.get(language)
    if chain is None:
        return ""
    if library and language == "rust":
        return (f"apt-get install rustc cargo librust-rand-dev librust-regex+default-dev "
                f"librust-md5-dev, then as root: python3 sandbox/languages.py --prepare {PREPARED_DIRS[0]}")
    if library == "js-md5":
        return "npm install -g js-md5@0.7.3"
    extra = {"boost": "libboost-dev", "openssl": "libssl-dev", "javatuples": "libjavatuples-java",
             "testify": "golang-github-stretchr-testify-dev", "luaunit": "lua-unit",
             "test-deep": "libtest-deep-perl"}.get(library)
    return f"apt-get install {extra}" if extra else f"apt-get install {chain.packages}"


# ---------------------------------------------------------------- limits of a job's child


def job_memory_mb(job: dict) -> int:
    """The address-space limit the worker gives a compiled job's child: the larger of the
    compile and run phases' (each phase then lowers it for its own process)."""
    chain = TOOLCHAINS.get(job.get("language", "python"))
    if chain is None:
        return job["memory_mb"]
    return max(_run_address_space_mb(chain, job), chain.compile_memory_mb if chain.compile else 0)


def job_cpu_s(job: dict) -> int:
    """CPU seconds per process of the job (a backstop under the wall-clock limits; a JVM or a
    compiler uses more than one core)."""
    return int(2 * (job["program_timeout_s"] + job.get("compile_timeout_s", 0.0))) + 2


def _run_address_space_mb(chain: Toolchain, job: dict) -> int:
    # A JVM reserves ~0.5 GB beyond its heap (code cache, class space, thread stacks); its
    # heap is the job's memory, so its address space is above it.
    return job["memory_mb"] + 1024 if chain.jvm else job["memory_mb"]


# ---------------------------------------------------------------- in the job's child


def run_job(job: dict, report, libc=None) -> int:
    """The driver: compile and run the job's program, report its ending; the exit code the
    child ends with (the program's)."""
    if libc is not None:
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE: the program cannot trace its driver
    chain = TOOLCHAINS.get(job["language"])
    source = job.get("source_name") or (chain.source if chain else "")
    report({"event": "start"})
    if chain is None or not re.fullmatch(r"[\w.+-]+", source) or source.startswith("."):
        report(_end("sandbox_error", "UnknownLanguage",
                    f"no toolchain for {job['language']!r} or bad source name {source!r}"))
        return 70
    try:
        with open(source, "w", encoding="utf-8") as f:
            f.write(job["program"])
        env, compile_extra, run_extra = _environment(chain, job)
    except (OSError, RuntimeError) as exc:
        report(_end("sandbox_error", type(exc).__name__, str(exc)))
        return 70
    values = {"source": source, "stem": source.rsplit(".", 1)[0],
              "classpath": ":".join([".", *_classpath(job)]),
              "heap_mb": str(max(64, job["memory_mb"])),
              "compile_args": [*compile_extra, *job.get("compile_args", [])],
              "run_args": [*run_extra, *job.get("run_args", [])]}
    if chain.jvm and chain.name == "scala":  # the scala scripts take JVM flags from JAVA_OPTS
        env["JAVA_OPTS"] = " ".join([*JVM_FLAGS, f"-Xmx{values['heap_mb']}m"])
    if chain.compile:
        compiled = _compile(_expand(chain.compile, values), env, job, chain)
        if compiled is not None:
            report(compiled)
            return 1
    start = time.perf_counter()
    try:
        ended = _run_program(_expand(chain.run, values), env, job, chain)
    except OSError as exc:  # the toolchain's program is missing: the sandbox's fault
        report(_end("sandbox_error", "ToolchainMissing", f"{chain.run[0]}: {exc}"))
        return 70
    result, code = ended
    result["time_s"] = time.perf_counter() - start
    report(result)
    return code


def _end(status: str, exception_type: str | None = None, message: str | None = None) -> dict:
    event = {"event": "end", "phase": -1, "status": status, "time_s": 0.0}
    if exception_type is not None:
        event["exception_type"] = exception_type
        event["message"] = (message or "")[:MESSAGE_LIMIT]
    return event


def _environment(chain: Toolchain, job: dict) -> tuple[dict, list, list]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "TMPDIR", "LANG") if key in os.environ}
    env.update(chain.env)
    compile_extra: list[str] = []
    run_extra: list[str] = []
    libraries = job.get("libraries", [])
    if chain.name == "rust" and libraries:
        crates = rust_crates()
        if crates is None:
            raise RuntimeError("the prepared Rust crates are missing (see sandbox/languages.py)")
        compile_extra += ["-L", f"dependency={crates['deps']}"]
        for crate in libraries:
            if crate not in crates["crates"]:
                raise RuntimeError(f"no prepared Rust crate {crate!r}")
            compile_extra += ["--extern", f"{crate}={crates['crates'][crate]}"]
    if chain.name == "go":
        env["GOCACHE"] = os.path.join(os.getcwd(), ".gocache")
        seed = go_cache_seed()
        if seed:  # this job's own copy: nothing a program writes outlives its job
            shutil.copytree(seed, env["GOCACHE"], copy_function=shutil.copyfile)
    if chain.name == "js" and "js-md5" in libraries:
        env["NODE_PATH"] = ":".join(d for d in NODE_MODULE_DIRS if os.path.isdir(d))
    return env, compile_extra, run_extra


def _classpath(job: dict) -> list[str]:
    if "javatuples" in job.get("libraries", []):
        return ["/usr/share/java/javatuples.jar"]
    return []


def _expand(template: tuple, values: dict) -> list[str]:
    argv: list[str] = []
    for part in template:
        if part in ("{compile_args}", "{run_args}"):
            argv += values[part[1:-1]]
        else:
            argv.append(part.format(**{k: v for k, v in values.items() if isinstance(v, str)}))
    return argv


def _limits(memory_mb: int):
    def apply() -> None:
        limit = memory_mb * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def _compile(argv: list[str], env: dict, job: dict, chain: Toolchain) -> dict | None:
    """Run the compiler; None when it succeeded, else the report of the job's end."""
    timeout = job.get("compile_timeout_s") or chain.compile_timeout_s
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                   preexec_fn=_limits(chain.compile_memory_mb))
    except OSError as exc:
        return _end("sandbox_error", "ToolchainMissing", f"{argv[0]}: {exc}")
    output, _, timed_out = _collect(process, timeout, [bytearray()], COMPILE_OUTPUT_LIMIT)
    text = output[0].decode(errors="replace")
    if timed_out:
        return _end("timeout", "CompileTimeout", f"compiling took over {timeout:g} s")
    if process.returncode != 0:
        if any(mark in text for mark in OOM_MARKS) or process.returncode == -signal.SIGKILL:
            return _end("out_of_memory", "CompilerOutOfMemory", text)
        return _end("compile_error", "CompileError", text.strip() or
                    f"{argv[0]} exited with code {process.returncode}")
    return None


def _run_program(argv: list[str], env: dict, job: dict, chain: Toolchain) -> tuple[dict, int]:
    process = subprocess.Popen(argv, stdin=0, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, start_new_session=True,
                               preexec_fn=_limits(_run_address_space_mb(chain, job)))
    buffers = [bytearray(), bytearray()]
    _, _, timed_out = _collect(process, job["program_timeout_s"], buffers, OUTPUT_LIMIT,
                               echo=(1, 2))
    stdout, stderr = (b.decode(errors="replace") for b in buffers)
    code = process.returncode
    if timed_out:
        return _end("timeout", "Timeout", "wall-clock limit exceeded; killed"), 124
    if code == 0:
        return {"event": "end", "phase": -1, "status": "passed"}, 0
    return _classify(chain.name, code, stdout, stderr), (code if code > 0 else 128 - code) & 0xFF


def _classify(language: str, code: int, stdout: str, stderr: str) -> dict:
    output = stderr + "\n" + stdout
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return _end("timeout", "CPUTimeLimit", "CPU time limit exceeded")
        if sig == signal.SIGKILL:
            return _end("out_of_memory", "Killed", "killed by SIGKILL (the out-of-memory killer, "
                                                   "or the program itself)")
        if any(mark in output for mark in OOM_MARKS):
            return _end("out_of_memory", "OutOfMemory", _tail(stderr) or name)
        if sig == signal.SIGABRT and any(m and m in output for m in ASSERTION_MARKS.get(language, ())):
            return _end("failed", "AssertionError", _tail(stderr))
        return _end("error", name, _tail(stderr) or f"killed by signal {name}")
    if any(mark in output for mark in OOM_MARKS):
        return _end("out_of_memory", "OutOfMemory", _tail(stderr))
    if any(mark in output for mark in SYNTAX_MARKS.get(language, ())):
        return _end("syntax_error", "SyntaxError", _tail(stderr or stdout))
    pattern = EXCEPTION_PATTERNS.get(language)
    match = re.search(pattern, stderr, re.MULTILINE) if pattern else None
    marks = ASSERTION_MARKS.get(language, ())
    if any(mark in output for mark in marks if mark) or (
            "" in marks and match is None and "Error" not in stderr):
        return _end("failed", "AssertionError", _tail(stderr or stdout))
    name = match.group(1).strip() if match else "NonZeroExit"
    return _end("error", name, _tail(stderr or stdout) or f"exited with code {code}")


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT // 2] + "\n...\n" + text[-MESSAGE_LIMIT // 2:]


def _collect(process, timeout: float, buffers: list, limit: int, echo: tuple = ()):
    """Read the process's pipes until it exits (and its output closes, or DRAIN_S after) or
    the timeout passes; kill its process group at the end. Keeps up to `limit` bytes of each
    pipe; with echo, also writes them to those descriptors."""
    pipes = [process.stdout] + ([process.stderr] if process.stderr is not None else [])
    fds = {pipe.fileno(): index for index, pipe in enumerate(pipes)}
    deadline = time.monotonic() + timeout
    timed_out = False
    exited_at = None
    while fds:
        now = time.monotonic()
        if process.poll() is not None and exited_at is None:
            exited_at = now
        if exited_at is not None and now - exited_at > DRAIN_S:
            break
        if now >= deadline:
            timed_out = process.poll() is None
            break
        wait = min(deadline - now, 0.05 if exited_at is None else DRAIN_S)
        ready, _, _ = select.select(list(fds), [], [], wait)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                del fds[fd]
                continue
            index = fds[fd]
            room = limit - len(buffers[index])
            if room > 0:
                buffers[index] += chunk[:room]
                if echo:
                    _write_all(echo[index], chunk[:room])
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    for pipe in pipes:
        pipe.close()
    return buffers, process.returncode, timed_out


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            written = os.write(fd, data)
        except OSError:
            return
        data = data[written:]


# ---------------------------------------------------------------- prepared once, as root


def prepare(dest: str, log=print) -> dict:
    """Build what some benchmarks need beyond the Debian packages, into dest: the Rust crates
    (rust-crates/) and the Go build cache (go-cache/); each only where its toolchain is
    installed. Returns what was made."""
    made = {}
    os.makedirs(dest, exist_ok=True)
    if shutil.which("cargo", path=SANDBOX_PATH) and os.path.isdir(CARGO_SOURCE):
        made["rust-crates"] = _prepare_rust(os.path.join(dest, "rust-crates"), log)
    if shutil.which("go", path=SANDBOX_PATH) and os.path.isdir(f"{GOPATH}/src/github.com/stretchr"):
        made["go-cache"] = _prepare_go(os.path.join(dest, "go-cache"), log)
    _open_to_all(dest)
    return made


def _prepare_rust(dest: str, log) -> str:
    import tempfile

    rustc, cargo = (shutil.which(tool, path=SANDBOX_PATH) for tool in ("rustc", "cargo"))
    if rustc is None or cargo is None:
        raise RuntimeError("rustc and cargo are needed (apt-get install rustc cargo)")
    version = subprocess.run([rustc, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        with open(os.path.join(dest, "manifest.json")) as f:
            built = json.load(f)
        if built["rustc"] == version and all(os.path.isfile(p) for p in built["crates"].values()):
            log(f"the Rust crates in {dest} are up to date")
            return dest
    except (OSError, ValueError, KeyError):
        pass
    log(f"building the Rust crates {', '.join(RUST_CRATES)} with {version} (a few minutes)")
    with tempfile.TemporaryDirectory(prefix="codeharness-crates-") as scratch:
        os.makedirs(os.path.join(scratch, "src"))
        os.makedirs(os.path.join(scratch, ".cargo"))
        with open(os.path.join(scratch, "Cargo.toml"), "w") as f:
            f.write('[package]\nname = "codeharness-crates"\nversion = "0.1.0"\nedition = "2021"\n'
                    "[dependencies]\n" + "".join(f'{k} = "{v}"\n' for k, v in RUST_CRATES.items()))
        with open(os.path.join(scratch, "src", "lib.rs"), "w") as f:
            f.write("")
        with open(os.path.join(scratch, ".cargo", "config.toml"), "w") as f:
            f.write('[source.crates-io]\nreplace-with = "debian"\n[source.debian]\n'
                    f'directory = "{CARGO_SOURCE}"\n[net]\noffline = true\n')
        env = {"PATH": SANDBOX_PATH, "HOME": scratch, "CARGO_HOME": os.path.join(scratch, "home"),
               "RUSTC": rustc, "CARGO_TARGET_DIR": os.path.join(scratch, "target")}
        result = subprocess.run([cargo, "build", "--release",
                                 "--message-format=json"], cwd=scratch, env=env,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"cargo build failed:\n{result.stderr[-3000:]}")
        artifacts = {}
        for line in result.stdout.splitlines():
            message = json.loads(line)
            if message.get("reason") == "compiler-artifact" and message["target"]["name"] in RUST_CRATES:
                artifacts[message["target"]["name"]] = next(
                    p for p in message["filenames"] if p.endswith(".rlib"))
        deps = os.path.join(scratch, "target", "release", "deps")
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        for name in os.listdir(deps):
            if name.endswith((".rlib", ".rmeta", ".so")):
                shutil.copy2(os.path.join(deps, name), os.path.join(dest, name))
    manifest = {"rustc": version, "deps": dest,
                "crates": {k: os.path.join(dest, os.path.basename(v)) for k, v in artifacts.items()}}
    with open(os.path.join(dest, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return dest


def _prepare_go(dest: str, log) -> str:
    import tempfile

    version = subprocess.run(["go", "version"], capture_output=True, text=True,
                             env={"PATH": SANDBOX_PATH}).stdout.strip()
    stamp = os.path.join(dest, "codeharness-go-version")
    try:
        with open(stamp) as f:
            if f.read().strip() == version:
                log(f"the Go cache in {dest} is up to date")
                return dest
    except OSError:
        pass
    log("building the Go cache (testify and the standard packages Go benchmarks import)")
    with tempfile.TemporaryDirectory(prefix="codeharness-gocache-") as scratch:
        imports = "".join(f'\t_ "{path}"\n' for path in GO_SEED_IMPORTS if path != "testing")
        with open(os.path.join(scratch, "seed_test.go"), "w") as f:
            f.write(f'package seed\n\nimport (\n{imports}\t"testing"\n)\n\n'
                    "func TestSeed(t *testing.T) {}\n")
        cache = os.path.join(scratch, "cache")
        env = {"PATH": SANDBOX_PATH, "HOME": scratch, "GOCACHE": cache,
               **TOOLCHAINS["go"].env}
        result = subprocess.run(["go", "test", "-c", "-o", "seed.test", "seed_test.go"],
                                cwd=scratch, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"go test -c failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(cache, dest)
    with open(stamp, "w") as f:
        f.write(version + "\n")
    return dest


def _open_to_all(folder: str) -> None:
    """Readable by the programs' users (folders 0755, files 0644): they only read it."""
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Toolchains of the codeharness sandbox.")
    parser.add_argument("--prepare", metavar="DIR",
                        help="build the Rust crates and the Go cache into DIR (as root; "
                             f"the sandbox looks in {' and '.join(PREPARED_DIRS)})")
    parser.add_argument("--detect", action="store_true",
                        help="print what this machine offers programs, as JSON")
    args = parser.parse_args(argv)
    if args.prepare:
        try:
            made = prepare(args.prepare)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(made))
    if args.detect or not args.prepare:
        print(json.dumps(detect()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
