"""The test-generation stage: the model writes tests for each problem, CodeT style.

The prompt (CodeT's, the default, for chat models too: the embedded SmolLM2 writes usable
asserts in 11 of 18 samples this way, 8 of 18 when asked in a chat message) is the
function's signature and docstring with a `pass` body, then `# check the correctness of
<fn>` and `assert `, which the model continues. Like CodeT, the docstring's examples are
removed first: they are often the hidden tests themselves. `--test-prompt chat` asks for
asserts in a chat message instead. Each sample is parsed into single assert statements
that reference the entry point: split at each `assert` that starts a line, cut at CodeT's
boundaries (a new top-level class/def/#/if/print), keep the first statement that compiles,
de-duplicate (by the normalized source), and keep the first `tests_per_sample` (CodeT: 5).
Records go to test_generations.jsonl, one per sample, so a killed stage resumes where it
stopped.
"""

from __future__ import annotations

import ast
import hashlib
import re
import warnings
from dataclasses import asdict, dataclass, field, replace

from codeharness.backends.base import ModelBackend
from codeharness.core.errors import HarnessError
from codeharness.core.extract import code_blocks, prompt_imports
from codeharness.core.records import (
    CHAT,
    COMPLETION,
    Completion,
    Problem,
    Prompt,
    SamplingConfig,
)
from codeharness.core.rundir import JsonlLog, RunDir, sample_key
from codeharness.pipeline.runfiles import TEST_GENERATIONS, claim_section
from codeharness.pipeline.stages import missing_requests, sample_into, shown_prompt

BOUNDARY = re.compile(r"\n(?:class|def|#|if|print)")
EXAMPLE_BLOCK_START = re.compile(r"^(>>>|(for )?examp?les?\b|input\s*:)", re.IGNORECASE)
# A call with literal arguments shown with its result: `f(3) == 5`, `f("a") -> 1`.
EXAMPLE_CALL = r"""\(([^A-Za-z_()]|"[^"]*"|'[^']*')*\)\s*(==|=|->|=>|➞)"""
ASSERT_AT_LINE_START = re.compile(r"^[ \t]*assert\b", re.MULTILINE)


# CodeT's: 10 test samples at temperature 0.8, top-p 0.95, up to 300 tokens.
TEST_SAMPLING = SamplingConfig(n=10, temperature=0.8, top_p=0.95, max_tokens=300)


@dataclass
class TestGenerationSettings:
    sampling: SamplingConfig = field(default_factory=lambda: replace(TEST_SAMPLING))
    prompt_style: str = COMPLETION
    tests_per_sample: int = 5
    samples: str | None = None  # replay this file's test samples (CodeT's format) instead

    def recorded(self) -> dict:
        """As the manifest keeps them (one flat section, as since the stage began)."""
        return {**asdict(self.sampling), "prompt_style": self.prompt_style,
                "tests_per_sample": self.tests_per_sample, "samples": self.samples}


@dataclass
class TestGeneration:
    """One line of test_generations.jsonl: one test sample of one problem."""

    task: str
    problem_id: str
    sample_index: int
    prompt: str | list[dict]
    completion: str
    tests: list[str]
    finish_reason: str
    truncated: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None


@dataclass
class GeneratedTest:
    id: str
    code: str


# ------------------------------------------------------------------ prompts


def function_stub(problem: Problem) -> str:
    """The problem's function with its docstring and a `pass` body, no solution."""
    name = problem.entry_point
    if not name:
        raise HarnessError(f"problem {problem.id}: no entry point to write tests for")
    stub = problem.prompt.rstrip() + "\n    pass\n"
    tree = _parse_or_none(stub)
    function = tree and _function(tree, name)
    if function:  # HumanEval style: the prompt is the signature and docstring
        return _without_examples(stub, function)
    return _stub_from_reference(problem)


def _function(tree: ast.AST, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    return next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == name), None)


def _without_examples(code: str, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """code without the examples in function's docstring: blocks that start with `>>>`,
    "Example(s)", "For example" or "Input:" up to the next blank line, and lines showing a
    call with literal arguments and its result."""
    docstring = function.body[0]
    if not (isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
            and isinstance(docstring.value.value, str)):
        return code
    lines = code.split("\n")
    first, last = docstring.lineno - 1, (docstring.end_lineno or docstring.lineno) - 1
    if last == first or lines[last].strip() not in ('"""', "'''"):
        return code
    call = re.compile(re.escape(function.name) + EXAMPLE_CALL)
    kept: list[str] = []
    in_example = False
    for line in lines[first + 1:last]:
        text = line.strip()
        in_example = bool(text) and (in_example or bool(EXAMPLE_BLOCK_START.match(text)))
        if not in_example and not call.match(text) and (text or (kept and kept[-1].strip())):
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(lines[:first + 1] + kept + lines[last:])


def _stub_from_reference(problem: Problem) -> str:
    """MBPP style: the signature of the reference solution, the task text as docstring
    (without the task's own asserts, which are the hidden tests)."""
    reference = problem.canonical_solution or ""
    node = _function(_parse_or_empty(reference), problem.entry_point or "")
    if node is None:
        raise HarnessError(f"problem {problem.id}: neither its prompt nor its reference solution "
                           f"gives the signature of {problem.entry_point}()")
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    text = problem.meta.get("text") or problem.prompt
    description = [line.strip() for line in text.strip().splitlines()
                   if line.strip() and not line.strip().startswith("assert")
                   and line.strip() not in ('"""', "'''")]
    docstring = "\n".join(f"    {line}" for line in description).replace("'''", '"""')
    return (f"{prompt_imports(reference)}def {node.name}({ast.unparse(node.args)}){returns}:\n"
            f"    '''\n{docstring}\n    '''\n    pass\n")


def test_prompt(problem: Problem, style: str) -> Prompt:
    stub = function_stub(problem)
    name = problem.entry_point
    if style == COMPLETION:
        return Prompt(text=f"{stub}\n# check the correctness of {name}\nassert ")
    if style == CHAT:
        return Prompt(messages=[{"role": "user", "content": (
            f"```python\n{stub}```\n\nWrite 5 test cases for `{name}`. Each test case is one line "
            f"`assert {name}(...) == ...` with concrete arguments and the expected result. Do not "
            f"write the function itself. Answer with one ```python code block of asserts only.")}])
    raise HarnessError(f"test generation has no prompt style {style!r}; choose {COMPLETION} or {CHAT}")


# ------------------------------------------------------------------ parsing


def parse_tests(text: str, entry_point: str, limit: int | None = None) -> list[str]:
    """The distinct single asserts in text that reference entry_point, in order."""
    tests: list[str] = []
    starts = [m.end() for m in ASSERT_AT_LINE_START.finditer(text)]
    ends = [m.start() for m in ASSERT_AT_LINE_START.finditer(text)][1:] + [len(text)]
    for start, end in zip(starts, ends):
        test = _single_assert(text[start:end], entry_point)
        if test and test not in tests:
            tests.append(test)
            if len(tests) == limit:
                break
    return tests


def _single_assert(rest: str, entry_point: str) -> str | None:
    """`assert <rest>` cut to its first complete statement, normalized; None unless it is
    an assert that references entry_point."""
    boundary = BOUNDARY.search(rest)
    lines = rest[: boundary.start() if boundary else len(rest)].strip().split("\n")
    for count in range(1, len(lines) + 1):
        tree = _parse_or_none("assert " + "\n".join(lines[:count]))
        if tree is not None:
            statement = tree.body[0]
            if isinstance(statement, ast.Assert) and _references(statement, entry_point):
                return ast.unparse(statement)
            return None
    return None


def _references(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _parse_or_none(code: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like in model code
            return ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: NUL bytes
        return None


def _parse_or_empty(code: str) -> ast.Module:
    return _parse_or_none(code) or ast.Module(body=[], type_ignores=[])


def test_text(completion: str, style: str) -> str:
    """The code to look for asserts in: the continuation of the prompt's `assert `, or the
    code blocks of a chat answer (the whole answer when it has none)."""
    if style == COMPLETION:
        return "assert " + completion
    return "\n".join(code_blocks(completion)) or completion


# ------------------------------------------------------------------ the stage


def test_generations(run: RunDir) -> JsonlLog:
    return JsonlLog(run.path / TEST_GENERATIONS, sample_key)


def generate_tests(run: RunDir, task, problems: list[Problem], settings: TestGenerationSettings,
                   backend: ModelBackend, overwrite: bool = False) -> None:
    """Sample every missing test generation, writing each as it arrives: the generate stage
    with test prompts and TestGeneration records."""
    claim_section(run, "test_generation", settings.recorded(), overwrite)
    log = test_generations(run)
    counts = backend.sample_counts(problems, settings.sampling.n)
    run.update_manifest({"test_sample_counts": counts})
    style = settings.prompt_style
    by_id = {p.id: p for p in problems}
    requests = missing_requests(log, counts, lambda pid: test_prompt(by_id[pid], style))
    if not requests:
        return
    run.update_manifest({"test_prompt_style": style})
    sample_into(log, requests, backend, settings.sampling,
                lambda request, completion: asdict(_record(task, by_id[request.problem_id], request.prompt,
                                                           completion, style, settings.tests_per_sample)),
                "generating tests")


def _record(task, problem: Problem, prompt: Prompt, completion: Completion, style: str,
            tests_per_sample: int) -> TestGeneration:
    return TestGeneration(
        task=task.name, problem_id=problem.id, sample_index=completion.sample_index,
        prompt=shown_prompt(prompt, completion), completion=completion.text,
        tests=parse_tests(test_text(completion.text, style), problem.entry_point or "", tests_per_sample),
        finish_reason=completion.finish_reason, truncated=completion.finish_reason == "length",
        prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
        latency_s=completion.latency_s,
    )


def problem_tests(run: RunDir, problems: list[Problem]) -> dict[str, list[GeneratedTest]]:
    """Each problem's distinct tests over all its samples, in sample order. Refuses while a
    problem still misses samples: the matrix needs the final test set."""
    counts = run.manifest().get("test_sample_counts")
    if counts is None:
        raise HarnessError(f"{run.path}: no generated tests; run `codeharness gen-tests {run.path}` first")
    wanted = {p.id for p in problems}
    samples: dict[str, list[dict]] = {pid: [] for pid in wanted}
    for record in test_generations(run):
        if record["problem_id"] in wanted:
            samples[record["problem_id"]].append(record)
    incomplete = sorted(pid for pid, records in samples.items()
                        if pid not in counts or len(records) < counts[pid])
    if incomplete:
        raise HarnessError(f"{run.path}: test generation is unfinished for {len(incomplete)} "
                           f"problem(s) (first: {incomplete[0]}); rerun `codeharness gen-tests`")
    tests = {}
    for pid, records in samples.items():
        codes = dict.fromkeys(code for r in sorted(records, key=lambda r: r["sample_index"])
                              for code in r["tests"])
        tests[pid] = [GeneratedTest(test_id(code), code) for code in codes]
    return tests


def test_id(code: str) -> str:
    return "t-" + hashlib.sha256(code.encode()).hexdigest()[:12]
