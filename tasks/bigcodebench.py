"""BigCodeBench (Zhuo et al., ICLR 2025, arXiv:2406.15877): 1,140 practical Python tasks that
call 139 libraries, each checked by a unittest `TestCases` class.

Tasks: `bigcodebench_complete` (the docstring prompt; completion models continue it, chat
models get it in upstream's instruction) and `bigcodebench_instruct` (the natural-language
prompt, chat models only), and the same two on the hard subset (148 tasks),
`bigcodebench_hard_complete` and `bigcodebench_hard_instruct`.

Sources: `--data-path` a BigCodeBench JSONL file (the Hugging Face schema: `task_id`,
`complete_prompt`, `instruct_prompt`, `canonical_solution`, `code_prompt`, `test`,
`entry_point`, `doc_struct`, `libs`; .jsonl or .jsonl.gz) or `hf:NAME`; by default the Hugging
Face dataset `bigcode/bigcodebench` (`bigcode/bigcodebench-hard` for the hard tasks), split
`--version` (default v0.1.4, upstream's default). The hard subset's ids are those of the
hard dataset: from a local full file it needs `--hard-ids FILE` (a hard file, or one id a
line).

Running programs: they need BigCodeBench's library set, which the sandbox's own Python does
not offer, so each sample runs in a fresh process of BigCodeBench's interpreter (`--python`;
by default the environment `python -m codeharness.tasks.bigcodebench_env` builds, see
tasks/bigcodebench_env.py) started inside the sandboxed process (tasks/bigcodebench_runtime.py
does what upstream's `unsafe_execute` does). `--python sandbox` runs them with the sandbox's
own interpreter instead (a Docker image that has the libraries): the task then declares the
packages, and a sandbox that lacks them says which.

Judging is upstream's: pass when no test failed or raised; solutions are "calibrated" as in
upstream's evaluator (`code_prompt + "\\n    pass\\n"` before the solution, so the task's
imports are there), `--calibrated false` to turn it off. The time limit of a sample is
max(`--timeout-floor-s`, `--timeout-factor` x the reference solution's time), measured by
`prepare` and cached (upstream gives every task at least 240 s: `--timeout-floor-s 240`).

Network: the sandbox has none. By default only network-free tasks are loaded (1,035): those
that import no networking library (requests, socket, urllib, http, smtplib, ftplib, flask,
django, ...) and are not among the few upstream's `network-free-set.txt` also leaves out for
fetching data (seaborn's and nltk's downloads); that rule gives upstream's list exactly where
the list exists (ids 0-570); past 570 the tasks that call `nltk.download` are left out too.
`--network true` loads every task.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from codeharness.core import registry
from codeharness.core.data import HF_PREFIX, load_hf, read_records, require_fields
from codeharness.core.errors import HarnessError
from codeharness.core.extract import code_blocks, parse
from codeharness.core.records import Prompt, Status
from codeharness.sandbox.jobs import Environment, Job, Outcome, TestCase
from codeharness.tasks import bigcodebench_env
from codeharness.tasks.base import CHAT, COMPLETION, PROGRAM, Judgement, Problem
from codeharness.tasks.groundtruth import REFERENCE_TIMEOUT_S, ReferenceTimedTask

HF_DATASET = "bigcode/bigcodebench"
HF_HARD_DATASET = "bigcode/bigcodebench-hard"
DEFAULT_VERSION = "v0.1.4"
FIELDS = ("task_id", "complete_prompt", "instruct_prompt", "canonical_solution", "code_prompt",
          "test", "entry_point", "libs")
RUNTIME_SOURCE = Path(__file__).with_name("bigcodebench_runtime.py").read_text(encoding="utf-8")
HARD_ONLY_FIELDS = ("q_idx", "question", "score")  # fields only the hard dataset has

# upstream's prompts (bigcodebench generate.py / provider/utility.py, Apache-2.0)
INSTRUCTION_PREFIX = ("Please provide a self-contained Python script that solves the following "
                      "problem in a markdown code block:")
RESPONSE_PREFIX = ("Below is a Python script with a self-contained function that solves the "
                   "problem and passes corresponding tests:")
EOS = ("<|endoftext|>", "<|endofmask|>", "</s>", "\nif __name__", "\ndef main(", "\nprint(")
DIRECT_COMPLETION_EOS = ("\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert ")

REFERENCE_LIMIT_S = max(REFERENCE_TIMEOUT_S, 240.0)  # a reference's limit: upstream's per task
UNTIMED_S = 20.0  # upstream's limit for a task whose reference has no time
MEMORY_MB = 30 * 1024  # upstream's max_as_limit and max_data_limit (30 GiB)
STACK_MB = 10  # upstream's max_stack_limit

# Libraries whose tasks reach the network (or serve on it); upstream's network-free set
# leaves out every task that imports one of them (checked on ids 0-570, where it exists).
NETWORK_LIBS = frozenset({
    "requests", "socket", "ftplib", "smtplib", "urllib", "http", "ssl", "cgi", "ipaddress",
    "django", "flask", "flask_restful", "flask_login", "flask_wtf", "flask_mail", "mechanize",
    "wikipedia", "folium", "geopy", "sendgrid", "python_http_client", "email", "selenium",
})
# Tasks upstream's network-free set also leaves out, for what their code or tests fetch
# (seaborn's and nltk's data downloads, a web browser) though they import no network library.
NETWORK_TASKS = frozenset({
    "BigCodeBench/101", "BigCodeBench/154", "BigCodeBench/195", "BigCodeBench/290",
    "BigCodeBench/332", "BigCodeBench/376", "BigCodeBench/490", "BigCodeBench/498",
    # Past id 570, where upstream's list stops: the tasks that download nltk's data at run time
    # (`nltk.download(...)`, as 290 and 376 do), which fails without a network.
    "BigCodeBench/655", "BigCodeBench/656", "BigCodeBench/658", "BigCodeBench/726",
    "BigCodeBench/734", "BigCodeBench/806", "BigCodeBench/808",
})


def imported_modules(*sources: str) -> list[str]:
    """The top-level modules outside the standard library that code imports (a task's
    `libs` name its solution's, not its tests')."""
    found = set()
    for source in sources:
        tree = parse(source)
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return sorted(name for name in found if name not in sys.stdlib_module_names)


def needs_network(task_id: str, libs: list[str]) -> bool:
    return task_id in NETWORK_TASKS or bool(NETWORK_LIBS.intersection(libs))


def task_libs(record: dict) -> list[str]:
    libs = record.get("libs", "[]")
    if isinstance(libs, list):
        return [str(lib) for lib in libs]
    try:
        value = ast.literal_eval(libs)
    except (ValueError, SyntaxError) as exc:
        raise HarnessError(f"{record.get('task_id')}: field libs is not a Python list literal") from exc
    return [str(lib) for lib in value]


# ---------------------------------------------------------------- upstream's sanitizer
# bigcodebench/sanitize.py keeps, from the longest syntactically valid stretch of lines, the
# imports and the definitions the entry point reaches; reimplemented on Python's ast.


def code_extract(text: str) -> str:
    """The longest run of lines that parses (counting non-empty lines), as upstream's
    code_extract; the whole text or a fenced block first, which is what it finds then."""
    if parse(text) is not None:
        return text
    blocks = [b for b in code_blocks(text) if parse(b) is not None]
    if blocks:
        return max(blocks, key=lambda b: sum(1 for line in b.splitlines() if line.strip()))
    lines = text.split("\n")
    best, span = 0, (0, 0)
    for i in range(len(lines)):
        for j in range(len(lines) - 1, i, -1):
            size = sum(1 for line in lines[i:j + 1] if line.strip())
            if size <= best:
                break
            if parse("\n".join(lines[i:j + 1])) is not None:
                best, span = size, (i, j)
                break
    return "\n".join(lines[span[0]:span[1] + 1])


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
           {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)} | \
           {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}


def _definition_name(node: ast.stmt) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
    return target.id if isinstance(target, ast.Name) else None


def sanitize(text: str, entry_point: str) -> str:
    """upstream's sanitize(code, entrypoint): imports, then the classes, functions and
    assignments the entry point depends on (first definition of a name wins), in order."""
    code = code_extract(text.strip())
    tree = parse(code)
    if tree is None:
        return code
    lines = code.split("\n")

    def source(node: ast.stmt) -> str:
        segment = ast.get_source_segment(code, node)
        return segment if segment is not None else "\n".join(lines[node.lineno - 1:node.end_lineno])

    imports, definitions, seen = [], [], set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(source(node))
            continue
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Assign, ast.AnnAssign)):
            continue
        if getattr(node, "decorator_list", None):
            continue  # tree-sitter calls these decorated_definition, which upstream drops
        name = _definition_name(node)
        if name is None or name in seen:
            continue
        seen.add(name)
        definitions.append((name, node))
    deps = {name: _names(node) for name, node in definitions}
    reachable, queue = {entry_point}, [entry_point]
    while queue:
        for neighbour in deps.get(queue.pop(0), ()):
            if neighbour not in reachable:
                reachable.add(neighbour)
                queue.append(neighbour)
    kept = imports + [source(node) for name, node in definitions if name in reachable]
    output = "\n".join(kept)
    # upstream's last step: trailing top-level lines naming the entry point go
    out_lines = output.splitlines()
    outer = []
    for index in range(len(out_lines) - 1, -1, -1):
        if out_lines[index].startswith(" "):
            break
        if entry_point in out_lines[index]:
            outer.append(index)
    if outer:
        output = "\n".join(out_lines[:outer[-1]])
    return output


# ---------------------------------------------------------------- the tasks


@dataclass
class BigCodeBenchTask(ReferenceTimedTask):
    split: ClassVar[str] = "complete"
    hard: ClassVar[bool] = False
    prompt_styles: ClassVar[tuple[str, ...]] = (COMPLETION, CHAT)

    version: str = DEFAULT_VERSION
    python: str = "auto"
    network: bool = False
    calibrated: bool = True
    hard_ids: str | None = None
    timeout_floor_s: float = 10.0
    timeout_factor: float = 4.0
    memory_mb: int = MEMORY_MB

    def __post_init__(self):
        super().__post_init__()
        self._checked_python: str | None = None

    # -- what programs need

    @property
    def environment(self) -> Environment:
        """With --python sandbox the programs import the libraries in the sandbox's own
        Python, which must have them; otherwise they run in BigCodeBench's interpreter,
        which prepare() checks."""
        if self.python != "sandbox":
            return Environment()
        modules = sorted({m for m in bigcodebench_env.TASK_MODULES
                          if m not in ("turtle", "sqlite3", "ssl", "mpl_toolkits")})
        return Environment(packages=tuple(modules))

    def interpreter(self) -> str:
        """The Python programs run with (inside the sandbox), or "" for the sandbox's own."""
        if self.python == "sandbox":
            return ""
        if self.python != "auto":
            return self.python
        built = bigcodebench_env.default_python()
        if not built.exists():
            raise HarnessError(
                f"BigCodeBench's environment is not built ({built} is missing): build it with "
                "`python -m codeharness.tasks.bigcodebench_env` (about 3 GB from PyPI), or pass "
                "--python PATH (a Python with BigCodeBench's libraries that the sandbox can "
                "see) or --python sandbox (the sandbox's own Python has them)")
        return str(built)

    # -- loading

    def load(self) -> list[Problem]:
        records = self._records()
        problems, seen, left_out = [], set(), 0
        for index, record in enumerate(records):
            where = f"{self._where} record {index + 1}"
            if not isinstance(record, dict):
                raise HarnessError(f"{where}: expected a JSON object")
            require_fields(record, FIELDS, where)
            if record["task_id"] in seen:
                raise HarnessError(f"{where}: task id {record['task_id']!r} again")
            seen.add(record["task_id"])
            libs = task_libs(record)
            if not self.network and needs_network(record["task_id"], libs):
                left_out += 1
                continue
            problems.append(Problem(
                id=record["task_id"], prompt=record[f"{self.split}_prompt"],
                entry_point=record["entry_point"],
                canonical_solution=record["complete_prompt"] + "\n" + record["canonical_solution"],
                meta={"test": record["test"], "code_prompt": record["code_prompt"],
                      "complete_prompt": record["complete_prompt"], "libs": libs},
            ))
        if left_out and self._sources:
            self._sources[-1]["left_out_network"] = left_out
        self.remember_data([self.python, self.version, [(p.id, p.canonical_solution, p.meta["test"])
                                                        for p in problems],
                            self._environment_identity()])
        return problems

    def _environment_identity(self) -> str:
        """What decides reference times besides the data: the interpreter and its packages."""
        if self.python == "sandbox":
            return "sandbox"
        path = bigcodebench_env.default_python() if self.python == "auto" else Path(self.python)
        report = bigcodebench_env.read_report(path) or {}
        return f"{path} {hashlib.sha256(json.dumps(report.get('installed', [])).encode()).hexdigest()[:12]}"

    def _records(self) -> list[dict]:
        default = HF_HARD_DATASET if self.hard else HF_DATASET
        source = self.data_path or HF_PREFIX + default
        if source.startswith(HF_PREFIX):
            name = source[len(HF_PREFIX):]
            try:
                dataset = load_hf(name, split=self.version)
            except HarnessError as exc:
                if self.data_path:
                    raise
                raise HarnessError(f"{exc}\nTask {self.name!r} reads {default} from the Hugging "
                                   "Face Hub unless given --data-path FILE (a BigCodeBench "
                                   ".jsonl or .jsonl.gz file).") from exc
            self.record_dataset(dataset)
            records, self._where = [dict(row) for row in dataset], source
            hub_hard = name.endswith("-hard")
        else:
            path = Path(source)
            if not path.is_file():
                raise HarnessError(f"{path}: data file not found")
            records, self._where = read_records(self.record_file(path)), str(path)
            hub_hard = bool(records) and all(f in records[0] for f in HARD_ONLY_FIELDS)
        if not self.hard or (hub_hard and not self.hard_ids):
            return records
        ids = self._hard_ids()
        chosen = [r for r in records if isinstance(r, dict) and r.get("task_id") in ids]
        if not chosen:
            raise HarnessError(f"{self._where}: none of the {len(ids)} hard task ids is in this file")
        return chosen

    def _hard_ids(self) -> set[str]:
        if not self.hard_ids:
            raise HarnessError(
                f"task {self.name!r}: {self._where} is not BigCodeBench's hard dataset, and the "
                "hard subset's task ids are not known here: pass the hard file "
                f"({HF_HARD_DATASET}) as --data-path, or --hard-ids FILE (that file, or one "
                "task id a line)")
        path = Path(self.hard_ids)
        if not path.is_file():
            raise HarnessError(f"{path}: --hard-ids file not found")
        text = path.read_text(encoding="utf-8")
        try:
            return {r["task_id"] for r in read_records(path)}
        except (HarnessError, KeyError, TypeError):
            return {line.strip() for line in text.splitlines() if line.strip()}

    # -- prompts and answers

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        if style == CHAT:
            if self.split == "complete":
                text = f"{INSTRUCTION_PREFIX}\n```\n{problem.prompt.strip()}\n```\n"
            else:
                text = f"{INSTRUCTION_PREFIX}\n{problem.prompt.strip()}\n"
            return Prompt(messages=[{"role": "user", "content": text}])
        if style in (COMPLETION, PROGRAM):
            if self.split == "instruct" and style == COMPLETION:
                raise HarnessError(f"task {self.name!r} needs a chat model (--prompt chat): "
                                   "upstream has no direct completion of the instruct split")
            return Prompt(text=problem.prompt, stop=list(EOS + DIRECT_COMPLETION_EOS))
        raise HarnessError(f"task {self.name!r} has no prompt style {style!r}; "
                           f"choose one of {', '.join(self.prompt_styles)}")

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        """What upstream's sanitizer keeps of the answer (a replayed `solution` is used as
        it is, as upstream's evaluator does)."""
        if style == PROGRAM:
            return completion
        text = problem.meta["complete_prompt"] + completion if style == COMPLETION else completion
        return sanitize(text, problem.entry_point or "task_func")

    # -- running

    def _job(self, problem: Problem, solution: str, job_id: str, timeout_s: float,
             calibrate: bool) -> Job:
        if calibrate:
            solution = problem.meta["code_prompt"] + "\n    pass\n" + solution
        python = self._python_checked()
        if python:
            test = (f"run_unittest({python!r}, {solution!r}, {problem.meta['test']!r}, "
                    f"{STACK_MB}, {self._mpl_cache(python)!r})")
            return Job(job_id, "", [TestCase("unittest", test, timeout_s=timeout_s)],
                       prelude=RUNTIME_SOURCE, program_timeout_s=timeout_s, memory_mb=self.memory_mb)
        test = (f"run_unittest(__import__('sys').executable, {solution!r}, "
                f"{problem.meta['test']!r}, {STACK_MB}, '')")
        return Job(job_id, "", [TestCase("unittest", test, timeout_s=timeout_s)],
                   prelude=RUNTIME_SOURCE, program_timeout_s=timeout_s, memory_mb=self.memory_mb)

    @staticmethod
    def _mpl_cache(python: str) -> str:
        folder = Path(python).parent.parent / bigcodebench_env.MPL_CACHE
        return str(folder) if folder.is_dir() else ""

    def _python_checked(self) -> str:
        if self._checked_python is None:
            self._checked_python = self.interpreter()
        return self._checked_python

    def reference_job(self, problem: Problem) -> Job:
        return self._job(problem, problem.canonical_solution or "", problem.id,
                         REFERENCE_LIMIT_S, calibrate=False)

    def tests(self, problem: Problem) -> list[TestCase]:
        return [TestCase("unittest", "")]

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        seconds = self._reference.get(problem.id, {}).get("time", {}).get("unittest")
        # a reference that did not pass gives no time: upstream then assumes 20 s
        limit = self.limit(seconds) if seconds is not None else max(self.timeout_floor_s, UNTIMED_S)
        return self._job(problem, program, job_id, limit, calibrate=self.calibrated)

    def cache_file(self) -> Path:
        """Reference times are the same for the complete and instruct tasks: one cache."""
        path = super().cache_file()
        return path.with_name("bigcodebench" + path.name[len(self.name):])

    def read_reference(self, problem: Problem, outcome: Outcome) -> dict:
        """The reference's time; a reference that does not pass gives none (and its samples
        upstream's 20 s), with why."""
        test = outcome.tests[0] if outcome.tests else None
        if outcome.status is not Status.PASSED or test is None or test.status is not Status.PASSED:
            failing = test if outcome.status is Status.PASSED and test is not None else outcome
            raise HarnessError(f"the reference solution does not pass: {failing.status.value} "
                               f"{failing.exception_type or ''}: {(failing.message or '')[:300]}")
        return {"time": {"unittest": test.time_s}}

    def reference_programs(self, problem: Problem) -> list[str]:
        return [problem.canonical_solution] if problem.canonical_solution else []

    def prepare(self, problems: list[Problem], sandbox) -> None:
        self._check_interpreter(problems, sandbox)
        super().prepare(problems, sandbox)

    def _check_interpreter(self, problems: list[Problem], sandbox) -> None:
        """Run the interpreter in the sandbox once: it must start there, and the modules the
        problems import that it lacks are named with the tasks they affect."""
        python = self._python_checked() or "__import__('sys').executable"
        quoted = repr(python) if self._checked_python else python
        needed = {p.id: imported_modules(p.canonical_solution or "", p.meta["test"]) for p in problems}
        modules = sorted({name for names in needed.values() for name in names} | {"unittest"})
        code = ("import subprocess, json\n"
                f"probe = {PROBE!r}\n"
                f"done = subprocess.run([{quoted}, '-I', '-c', probe, json.dumps({modules!r})], "
                "capture_output=True, text=True, env={'PATH': '/usr/bin:/bin', 'MPLBACKEND': 'Agg', "
                "'TF_CPP_MIN_LOG_LEVEL': '3', 'HOME': __import__('os').getcwd()})\n"
                "assert done.returncode == 0, (done.returncode, done.stderr[-800:])\n"
                "__result__ = done.stdout.strip().splitlines()[-1]\n")
        job = Job("bigcodebench-interpreter", "", [TestCase("interpreter", code, timeout_s=600.0)],
                  program_timeout_s=600.0, memory_mb=self.memory_mb)
        outcome = next(iter(sandbox.run([job])))
        test = outcome.tests[0] if outcome.tests else None
        if outcome.status is not Status.PASSED or test is None or test.status is not Status.PASSED:
            failure = test if test is not None and outcome.status is Status.PASSED else outcome
            raise HarnessError(
                f"task {self.name!r}: BigCodeBench's interpreter {python} does not run in the "
                f"{sandbox.name} sandbox ({failure.status.value}: {failure.exception_type or ''} "
                f"{(failure.message or '')[:400]}); build the environment with `python -m "
                "codeharness.tasks.bigcodebench_env`, or put it where every user may read it "
                "and the sandbox sees it (inside the harness's environment, /usr/local or /opt)")
        missing = json.loads(ast.literal_eval(test.value))
        if missing:
            affected = {name: sorted(pid for pid, names in needed.items() if name in names)
                        for name in missing}
            self._missing_modules = affected
            lines = "; ".join(f"{name} ({missing[name][:120]}): {len(ids)} tasks, "
                              f"{', '.join(ids[:6])}{' ...' if len(ids) > 6 else ''}"
                              for name, ids in affected.items())
            warnings.warn(f"{self.name}: BigCodeBench's interpreter {python} cannot import "
                          f"{', '.join(missing)}; the tasks that use them fail: {lines}",
                          stacklevel=2)

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        status = outcome.verdict
        details = {}
        failing = outcome.first_failure()
        if failing is not None and failing.message and status is not Status.PASSED:
            details["reason"] = f"{failing.exception_type}: {failing.message}"[:1000]
        return Judgement(status, {"base": status}, details)


PROBE = ("import importlib, json, sys, warnings\nwarnings.simplefilter('ignore')\nfailed = {}\n"
         "for name in json.loads(sys.argv[1]):\n"
         "    try:\n        importlib.import_module(name)\n"
         "    except BaseException as exc:\n"
         "        failed[name] = (type(exc).__name__ + ': ' + str(exc))[:300]\n"
         "print(json.dumps(failed))\n")


@registry.tasks.register
@dataclass
class BigCodeBenchComplete(BigCodeBenchTask):
    name = "bigcodebench_complete"
    split = "complete"


@registry.tasks.register
@dataclass
class BigCodeBenchInstruct(BigCodeBenchTask):
    name = "bigcodebench_instruct"
    split = "instruct"
    prompt_styles = (CHAT, COMPLETION)


@registry.tasks.register
@dataclass
class BigCodeBenchHardComplete(BigCodeBenchTask):
    name = "bigcodebench_hard_complete"
    split = "complete"
    hard = True


@registry.tasks.register
@dataclass
class BigCodeBenchHardInstruct(BigCodeBenchTask):
    name = "bigcodebench_hard_instruct"
    split = "instruct"
    hard = True
    prompt_styles = (CHAT, COMPLETION)
