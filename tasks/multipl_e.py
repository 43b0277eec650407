"""MultiPL-E (Cassano et al., IEEE TSE 2023): HumanEval and MBPP translated to other languages,
the "reworded" prompts. Its licence forbids using it as training data (evaluation is fine).

Tasks, as `multiple_<benchmark>_<language>` with the benchmark `humaneval` or `mbpp` and
MultiPL-E's own language code: cpp, cs, d, go, java, jl, js, lua, php, pl, py, r, rb, rkt, rs,
scala, sh, swift, ts (BigCode's harness calls the HumanEval ones `multiple-cpp`, ...).
Sources: `--data-path` one of upstream's `{humaneval,mbpp}-<lang>-reworded.jsonl[.gz]` files,
or `hf:nuprl/MultiPL-E` (the default; the config is `<benchmark>-<lang>`, split test).

A program is `prompt + completion + "\\n" + tests` (the completion cut at the first of the
problem's stop tokens), judged by the rules of upstream's evaluation/src/eval_<lang>.py
(reimplemented): exit code 0, compile errors apart; Go also fails on "FAIL" in stdout, Perl on
"ERROR" in its output, Racket and Scala on any stderr; C# fails on a Debug.Assert or unhandled
exception report in stderr whatever its exit code (as upstream, which ignores mono's exit
code). MultiPL-E ships no reference solutions in other languages: tests/test_multipl_e.py
checks each language with hand-written right and wrong ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from codeharness.core import registry
from codeharness.core.data import load_task_records, require_fields
from codeharness.core.errors import HarnessError
from codeharness.sandbox.jobs import Environment, Job, Outcome, TestCase
from codeharness.tasks.base import Judgement, Problem, Status
from codeharness.tasks.multilang import MultiLanguageTask, output_excerpt

HF_DATASET = "nuprl/MultiPL-E"
FIELDS = ("name", "language", "prompt", "tests", "stop_tokens")


@dataclass(frozen=True)
class Language:
    """One of MultiPL-E's languages: its code, the sandbox's toolchain and how upstream runs it."""

    code: str
    toolchain: str
    fence_tags: tuple[str, ...]
    source_name: str = ""
    compile_args: tuple[str, ...] = ()
    run_args: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    compile_timeout_s: float = 60.0
    aliases: tuple[str, ...] = ()  # other names of it in records' `language` field


LANGUAGES = {language.code: language for language in (
    Language("cpp", "cpp", ("cpp", "c++"), compile_args=("-std=c++17",)),
    Language("cs", "csharp", ("csharp", "cs", "c#")),
    Language("d", "d", ("d",), compile_args=("-funittest",)),  # upstream: rdmd -unittest -main
    Language("go", "go", ("go", "golang"), source_name="main_test.go", aliases=("go_test.go",)),
    Language("java", "java", ("java",), source_name="Problem.java", run_args=("-ea",),
             libraries=("javatuples",)),
    Language("jl", "julia", ("julia", "jl")),
    Language("js", "js", ("javascript", "js")),
    Language("lua", "lua", ("lua",), libraries=("luaunit",)),
    Language("php", "php", ("php",)),
    Language("pl", "perl", ("perl", "pl"), libraries=("test-deep",)),
    Language("py", "python", ("python", "py", "python3", "")),
    Language("r", "r", ("r",)),
    Language("rb", "ruby", ("ruby", "rb")),
    Language("rkt", "racket", ("racket", "rkt", "scheme")),
    Language("rs", "rust", ("rust", "rs")),  # rustc's default edition (2015), as upstream
    Language("scala", "scala", ("scala",), source_name="Problem.scala", compile_timeout_s=120.0),
    Language("sh", "sh", ("bash", "sh", "shell")),
    Language("swift", "swift", ("swift",)),
    Language("ts", "ts", ("typescript", "ts")),
)}
BENCHMARKS = ("humaneval", "mbpp")


@dataclass
class MultiPLE(MultiLanguageTask):
    """One benchmark in one language (the registered subclasses are made below)."""

    benchmark: ClassVar[str] = ""
    spec: ClassVar[Language] = LANGUAGES["py"]

    timeout_s: float = 15.0  # upstream's safe_subprocess default

    def load(self) -> list[Problem]:
        config = f"{self.benchmark}-{self.language}"
        records, where = load_task_records(self, HF_DATASET, split="test", config=config)
        problems, seen = [], set()
        for index, record in enumerate(records):
            require_fields(record, FIELDS, f"{where} record {index + 1}")
            if record["language"] not in (self.language, *self.spec.aliases):
                raise HarnessError(f"{where} record {index + 1}: language {record['language']!r}, "
                                   f"not {self.language!r}; is this the {config} file?")
            if not str(record["name"]).lower().startswith(self.benchmark):
                raise HarnessError(f"{where} record {index + 1}: {record['name']!r} is not a "
                                   f"{self.benchmark} problem; is this the {config} file?")
            if record["name"] in seen:
                raise HarnessError(f"{where} record {index + 1}: problem {record['name']!r} again")
            seen.add(record["name"])
            problems.append(Problem(id=record["name"], prompt=record["prompt"],
                                    meta={"tests": record["tests"],
                                          "stop_tokens": list(record["stop_tokens"])}))
        if not problems:
            raise HarnessError(f"{where}: no problems")
        return problems

    def stops(self, problem: Problem) -> tuple[str, ...]:
        return tuple(problem.meta["stop_tokens"])

    def program_from_chat(self, problem: Problem, code: str) -> str:
        """A chat answer holds the whole function; the tests close what the prompt opened (a
        brace language's function, Java's class), so the answer is cut where the prompt's
        function would end: the prompt plus the body up to the first stop token."""
        prompt = problem.prompt.rstrip()
        signature = prompt.split("\n")[-1].strip()
        at = code.find(signature) if signature else -1
        body = code[at + len(signature):] if at >= 0 else code
        return problem.prompt + self.completion_body(problem, body.lstrip("\n"))

    def source(self, problem: Problem, program: str) -> str:
        return program + "\n" + problem.meta["tests"]

    def job_options(self, problem: Problem) -> dict:
        spec = self.spec
        options: dict = {"compile_args": list(spec.compile_args), "run_args": list(spec.run_args),
                         "libraries": list(spec.libraries)}
        if spec.source_name:
            options["source_name"] = spec.source_name
        return options

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        if self.toolchain == "python":  # `python3 file.py`, as a Python job of the sandbox
            return Job(job_id, program, [TestCase("tests", "\n" + problem.meta["tests"],
                                                  timeout_s=self.timeout_s)],
                       memory_mb=self.memory_mb)
        job = super().build_job(problem, program, job_id)
        job.compile_timeout_s = max(self.compile_timeout_s, self.spec.compile_timeout_s)
        return job

    def pass_rule(self, outcome: Outcome) -> str | None:
        code = self.language
        if code == "go" and "FAIL" in outcome.stdout:
            return "FAIL in stdout: " + output_excerpt(outcome.stdout)
        if code == "pl" and ("ERROR" in outcome.stdout or "ERROR" in outcome.stderr):
            return "ERROR in the output: " + output_excerpt(outcome.stderr or outcome.stdout)
        if code in ("rkt", "scala") and outcome.stderr:
            return "output on stderr: " + output_excerpt(outcome.stderr)
        if code == "cs" and cs_failed(outcome.stderr):
            return "assertion or exception reported on stderr: " + output_excerpt(outcome.stderr)
        return None

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        if (self.language == "cs" and outcome.status in (Status.ERROR, Status.FAILED)
                and outcome.exit_code is not None and outcome.exit_code > 0
                and not cs_failed(outcome.stderr)):
            # Upstream ignores mono's exit code: only what stderr reports fails a program.
            return Judgement(Status.PASSED, {g: Status.PASSED for g in self.groups},
                             {"rule": f"exit code {outcome.exit_code} ignored, as upstream"})
        return super().judge(problem, outcome)


def cs_failed(stderr: str) -> bool:
    return "System.Diagnostics.DefaultTraceListener.Fail" in stderr or "Unhandled Exception" in stderr


def _environment(spec: Language) -> Environment:
    return Environment(languages=(spec.toolchain,),
                       libraries=tuple(f"{spec.toolchain}:{library}" for library in spec.libraries))


def _register(benchmark: str, spec: Language) -> type:
    """The task class of one benchmark in one language (names fixed by the tables above)."""
    name = f"multiple_{benchmark}_{spec.code}"
    cls = dataclass(type(
        "MultiPLE" + benchmark.capitalize() + re.sub(r"\W", "", spec.code.capitalize()), (MultiPLE,),
        {"__module__": __name__, "__qualname__": name, "__doc__": f"MultiPL-E {benchmark} in {spec.code}.",
         "name": name, "benchmark": benchmark, "spec": spec, "language": spec.code,
         "toolchain": spec.toolchain, "fence_tags": spec.fence_tags,
         "environment": _environment(spec)}))
    return registry.tasks.register(cls)


TASKS = {f"multiple_{benchmark}_{code}": _register(benchmark, spec)
         for benchmark in BENCHMARKS for code, spec in LANGUAGES.items()}
