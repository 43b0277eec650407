"""HumanEval-X (Zheng et al., KDD 2023, CodeGeeX): HumanEval's 164 problems in C++, Go, Java,
JavaScript, Python and Rust, with hand-written tests per language.

One task per language: `humaneval_x_cpp`, `humaneval_x_go`, `humaneval_x_java`,
`humaneval_x_js`, `humaneval_x_python`, `humaneval_x_rust`. Sources: `--data-path` one of
upstream's `humaneval_<lang>.jsonl[.gz]` files (THUDM/CodeGeeX,
codegeex/benchmark/humaneval-x/<lang>/data/), or `hf:THUDM/humaneval-x` (the default; the
language is the dataset's config).

Programs are assembled as upstream's `process_humaneval_test` does (reimplemented), and judged
by its rules: exit code 0 (C++ compiled with `g++ -std=c++11`, plus `-lcrypto -lssl` for
CPP/162; Java's `Main` run without `-ea`; Go as `go test` of `main_test.go` with testify;
Rust as a test binary, edition 2021, with the crates rand, regex and md5), and for JavaScript
nothing on stdout nor stderr (its tests call console.assert, which prints and exits 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from codeharness.core import registry
from codeharness.core.data import load_task_records, require_fields
from codeharness.core.errors import HarnessError
from codeharness.core.records import COMPLETION
from codeharness.sandbox.jobs import Environment, Job, Outcome, TestCase
from codeharness.tasks.base import Problem
from codeharness.tasks.multilang import MultiLanguageTask, output_excerpt

HF_DATASET = "THUDM/humaneval-x"
FIELDS = ("task_id", "prompt", "declaration", "canonical_solution", "test")
TASK_PREFIX = {"cpp": "CPP", "go": "Go", "java": "Java", "js": "JavaScript", "python": "Python",
               "rust": "Rust"}
# Upstream's IMPORT_HELPER (codegeex/benchmark/utils.py), per language.
PYTHON_IMPORTS = (
    "import math", "import re", "import sys", "import copy", "import datetime", "import itertools",
    "import collections", "import heapq", "import statistics", "import functools", "import hashlib",
    "import numpy", "import numpy as np", "import string", "from typing import *",
    "from collections import *")
CPP_INCLUDES = ("#include<stdlib.h>", "#include<algorithm>", "#include<math.h>", "#include<stdio.h>",
                "#include<vector>", "#include<string>", "#include<climits>", "#include<cstring>",
                "#include<iostream>")
GO_PACKAGES = ("math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand",
               "crypto/md5")
RUST_MAIN = "\nfn main(){ \n } \n"
# The end of a brace language's function: a completion is cut just after it.
BRACE_END = "\n}"
PYTHON_STOPS = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```")


@dataclass
class HumanEvalX(MultiLanguageTask):
    """One language of HumanEval-X (the subclasses below are the registered tasks)."""

    timeout_s: float = 10.0  # upstream: 5 s for compilation and run together, 32 workers

    def load(self) -> list[Problem]:
        records, where = load_task_records(self, HF_DATASET, split="test", config=self.language)
        problems = []
        prefix = TASK_PREFIX[self.language] + "/"
        for index, record in enumerate(records):
            require_fields(record, FIELDS, f"{where} record {index + 1}")
            if not str(record["task_id"]).startswith(prefix):
                raise HarnessError(f"{where} record {index + 1}: task {record['task_id']!r} is not "
                                   f"HumanEval-X {self.language} (ids start with {prefix!r}); "
                                   f"is this the humaneval_{self.language} file?")
            prompt = self.model_prompt(record)
            problems.append(Problem(
                id=record["task_id"], prompt=prompt,
                canonical_solution=prompt + record["canonical_solution"],
                meta={"test": record["test"], "import": record.get("import") or "",
                      "test_setup": record.get("test_setup") or ""}))
        if not problems:
            raise HarnessError(f"{where}: no problems")
        return problems

    def model_prompt(self, record: dict) -> str:
        return record["prompt"]

    def stops(self, problem: Problem) -> tuple[str, ...]:
        return (BRACE_END,)

    def completion_body(self, problem: Problem, completion: str) -> str:
        """Up to the end of the function: the first line that is a closing brace alone at
        column 0, kept (a backend that stopped there dropped it: it is added back)."""
        end = completion.find(BRACE_END)
        if end >= 0:
            return completion[:end + len(BRACE_END)] + "\n"
        return completion + BRACE_END + "\n"

    def program_from_chat(self, problem: Problem, code: str) -> str:
        return code if code.strip() else problem.prompt

    def generation(self, problem: Problem, program: str) -> str:
        """What the model added to the prompt (the whole program when it does not continue
        the prompt: a chat answer)."""
        return program[len(problem.prompt):] if program.startswith(problem.prompt) else program


@registry.tasks.register
@dataclass
class HumanEvalXCpp(HumanEvalX):
    name = "humaneval_x_cpp"
    language = "cpp"
    toolchain = "cpp"
    fence_tags = ("cpp", "c++", "cc")
    environment = Environment(languages=("cpp",), libraries=("cpp:boost", "cpp:openssl"))

    def source(self, problem: Problem, program: str) -> str:
        setup = "".join(line + "\n" for line in CPP_INCLUDES if line not in program)
        return setup + "\n" + program + "\n" + problem.meta["test"]

    def job_options(self, problem: Problem) -> dict:
        libraries = ["-lcrypto", "-lssl"] if problem.id == "CPP/162" else []
        return {"source_name": "test.cpp", "compile_args": ["-std=c++11", *libraries]}


@registry.tasks.register
@dataclass
class HumanEvalXJava(HumanEvalX):
    name = "humaneval_x_java"
    language = "java"
    toolchain = "java"
    fence_tags = ("java",)
    environment = Environment(languages=("java",))

    def source(self, problem: Problem, program: str) -> str:
        return program + "\n" + problem.meta["test"]

    def job_options(self, problem: Problem) -> dict:
        return {"source_name": "Main.java"}  # run without -ea, as upstream


@registry.tasks.register
@dataclass
class HumanEvalXJs(HumanEvalX):
    name = "humaneval_x_js"
    language = "js"
    toolchain = "js"
    fence_tags = ("javascript", "js")
    environment = Environment(languages=("js",))
    known_bad = {
        "JavaScript/112": "the dataset's canonical solution returns `(z, false)`, a comma "
                          "expression (false), where the tests want [z, false]: console.assert "
                          "prints 'Assertion failed' (upstream's stderr rule fails it too)",
        "JavaScript/155": "the dataset's canonical solution gives evenOddCount(0) = [0, 0] "
                          "where the tests want [1, 0] (upstream fails it too)",
        "JavaScript/162": "needs the npm package js-md5 (`npm install -g js-md5@0.7.3`; upstream "
                          "used 0.7.3), which the Docker image, built from Debian packages, lacks",
    }

    def source(self, problem: Problem, program: str) -> str:
        return program + "\n" + problem.meta["test"]

    def job_options(self, problem: Problem) -> dict:
        return {"source_name": "test.js", "libraries": ["js-md5"] if "js-md5" in program_needs(
            problem) else []}

    def pass_rule(self, outcome: Outcome) -> str | None:
        if outcome.stdout or outcome.stderr:  # upstream: both must be empty
            return f"output on {'stderr' if outcome.stderr else 'stdout'}: " + output_excerpt(
                outcome.stderr or outcome.stdout)
        return None


def program_needs(problem: Problem) -> str:
    return problem.meta["test"] + problem.prompt + (problem.canonical_solution or "")


@registry.tasks.register
@dataclass
class HumanEvalXGo(HumanEvalX):
    name = "humaneval_x_go"
    language = "go"
    toolchain = "go"
    fence_tags = ("go", "golang")
    environment = Environment(languages=("go",), libraries=("go:testify",))

    def source(self, problem: Problem, program: str) -> str:
        generation = self.generation(problem, program)
        if program.startswith(problem.prompt):
            program = problem.prompt.replace(problem.meta["import"], "", 1) + generation
        else:  # a whole answer: its own package clause and imports make way for upstream's
            program = strip_go_header(program)
        setup = problem.meta["test_setup"]
        packages = [f'"{package}"' for package in GO_PACKAGES if package not in setup
                    and package.split("/")[-1] + "." in generation]
        imports = ("import (\n" + "    ".join(p + "\n" for p in packages) + ")\n") if packages else ""
        return setup + "\n" + imports + program + "\n" + problem.meta["test"]

    def job_options(self, problem: Problem) -> dict:
        return {"source_name": "main_test.go", "libraries": ["testify"]}


def strip_go_header(code: str) -> str:
    """A Go answer without its `package` clause and import declarations."""
    lines, kept, in_import = code.split("\n"), [], False
    for line in lines:
        stripped = line.strip()
        if in_import:
            in_import = stripped != ")"
            continue
        if stripped.startswith("package "):
            continue
        if stripped.startswith("import"):
            in_import = stripped.endswith("(")
            continue
        kept.append(line)
    return "\n".join(kept)


@registry.tasks.register
@dataclass
class HumanEvalXRust(HumanEvalX):
    name = "humaneval_x_rust"
    language = "rust"
    toolchain = "rust"
    fence_tags = ("rust", "rs")
    environment = Environment(languages=("rust",),
                              libraries=("rust:rand", "rust:regex", "rust:md5"))
    known_bad = {
        "Rust/50": "its test calls rand 0.4's gen_range(a, b); Debian has rand 0.8 only "
                   "(gen_range(a..b)), and upstream pins rand 0.4",
    }

    def model_prompt(self, record: dict) -> str:
        # Upstream's program is main + declaration + prompt + generation + test: the model
        # continues the signature (declaration) and the docstring (prompt).
        return record["declaration"] + record["prompt"]

    def source(self, problem: Problem, program: str) -> str:
        return RUST_MAIN + program + problem.meta["test"]

    def job_options(self, problem: Problem) -> dict:
        return {"source_name": "main.rs", "compile_args": ["--edition", "2021", "--test"],
                "libraries": ["rand", "regex", "md5"]}


@registry.tasks.register
@dataclass
class HumanEvalXPython(HumanEvalX):
    name = "humaneval_x_python"
    language = "python"
    toolchain = "python"
    fence_tags = ("python", "py", "python3", "")
    environment = Environment(languages=("python",))

    def stops(self, problem: Problem) -> tuple[str, ...]:
        return PYTHON_STOPS

    def completion_body(self, problem: Problem, completion: str) -> str:
        """Upstream keeps the completion's lines up to the first non-empty one that is not
        indented."""
        kept = []
        for line in completion.split("\n"):
            if line.strip() and line[0] not in (" ", "\t"):
                break
            kept.append(line)
        return "\n".join(kept)

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        if style == COMPLETION:
            return problem.prompt + self.completion_body(problem, completion)
        return super().extract_program(problem, completion, style)

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        helper = "".join(line + "\n" for line in PYTHON_IMPORTS)
        return Job(job_id, helper + program, [TestCase("test", problem.meta["test"] + "\n",
                                                       timeout_s=self.timeout_s)],
                   memory_mb=self.memory_mb)
