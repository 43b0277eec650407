"""Code hallucinations (CodeHalu, Tian et al., 2024): what kind of wrong a program is, read
from how its execution ended.

Four types, eight sub-categories:
  Mapping   Data Compliance (TypeError, ValueError, ZeroDivisionError),
            Structure Access (IndexError, KeyError)
  Naming    Identity (NameError, AttributeError, UnboundLocalError),
            External Source (ImportError, ModuleNotFoundError)
  Resource  Physical Constraint (RecursionError, MemoryError),
            Computational Boundary (OverflowError, StopIteration)
  Logic     Deviation (ran, wrong output), Breakdown (degenerate code: by the reference,
            a program of 1,300 or more tokens)

Two modes.

`compat` computes what the reference implementation (yuchen814/CodeHalu, eval.py and
testing_utils.py) computes, quirks included, so published numbers can be compared:
  - an outcome counts only under its exact class name (a UnicodeDecodeError is no ValueError);
  - timeouts, and processes killed for time or memory, count in no category;
  - a program that fails to load (a syntax error, an exception while a call-based program's
    module runs, a failing import among a stdin program's leading import lines) ends as
    UnboundLocalError, an Identity hallucination: the reference's loader swallows the error
    and then reads its own unset variable;
  - Logic Breakdown goes to programs of >= 1,300 tokens (which the reference does not run)
    under the name "Logic Breakdown", while its category table says "Logic_Breakdown": such
    programs count nowhere;
  - the rate of file k counts one outcome per distinct (APPS task, test case) of the file,
    that of its first sample, and divides by the number of samples in the file.
`strict` (the default) fixes those quirks:
  - exception subclasses count in their parents' categories (through the execution's
    exception_chain, e.g. UnicodeDecodeError -> ValueError -> Data Compliance);
  - syntax errors are their own class, outside the eight; so are other unmapped errors
    (EOFError, RuntimeError, a program's own failed assert, ...) and sandbox errors;
  - an unresolvable import anywhere in the program is External Source;
  - the sandbox's real memory limit makes memory exhaustion observable: MemoryError and
    out-of-memory kills are Physical Constraint;
  - timeouts are a Resource class of their own ("Timeout");
  - Logic Breakdown is counted, for programs that did not pass;
  - every sample counts, in its file's numerator and denominator.

The token rule uses a configurable tokenizer (`BreakdownRule`): the reference used
CodeLlama-7B-Instruct's (`codellama/CodeLlama-7b-Instruct-hf`, or a local copy); the default
here is the embedded SmolLM2's, which works offline. scores.json names the one used.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.records import Status
from codeharness.scorers.base import BaseScorer, Chart, Column

BREAKDOWN_TOKENS = 1300
EMBEDDED_TOKENIZER = "embedded"
STRICT, COMPAT = "strict", "compat"


@dataclass(frozen=True)
class SubCategory:
    key: str
    name: str
    type: str
    exceptions: tuple[str, ...]
    codehalu_type: str  # the benchmark's `halu_type` of the file that tests this sub-category


SUBCATEGORIES = (
    SubCategory("data_compliance", "Data Compliance", "Mapping",
                ("TypeError", "ValueError", "ZeroDivisionError"), "Data Compliance Hallucination"),
    SubCategory("structure_access", "Structure Access", "Mapping",
                ("IndexError", "KeyError"), "Structural Access Hallucination"),
    SubCategory("identity", "Identity", "Naming",
                ("NameError", "AttributeError", "UnboundLocalError"), "Identification Hallucination"),
    SubCategory("external_source", "External Source", "Naming",
                ("ImportError", "ModuleNotFoundError"), "External Source Hallucination"),
    SubCategory("physical_constraint", "Physical Constraint", "Resource",
                ("RecursionError", "MemoryError"), "Physical Constraint Hallucination"),
    SubCategory("computational_boundary", "Computational Boundary", "Resource",
                ("OverflowError", "StopIteration"), "Calculate Boundary Hallucination"),
    SubCategory("logic_deviation", "Logic Deviation", "Logic", (), "Logic Deviation"),
    SubCategory("logic_breakdown", "Logic Breakdown", "Logic", (), "Logic Breakdown"),
)
# Strict mode's classes beyond the eight (the passing class is "correct").
TIMEOUT, SYNTAX_ERROR, OTHER_ERROR, SANDBOX_ERROR, CORRECT = (
    "timeout", "syntax_error", "other_error", "sandbox_error", "correct")
CLASS_NAMES = {**{s.key: s.name for s in SUBCATEGORIES}, TIMEOUT: "Timeout",
               SYNTAX_ERROR: "Syntax Error", OTHER_ERROR: "Other Error",
               SANDBOX_ERROR: "Sandbox Error"}
CLASS_TYPES = {**{s.key: s.type for s in SUBCATEGORIES}, TIMEOUT: "Resource"}
STRICT_EXCEPTIONS = {name: s.key for s in SUBCATEGORIES for name in s.exceptions}
# The reference's outcome names and the file whose rate each one counts in.
COMPAT_LABELS = {**STRICT_EXCEPTIONS, "Logic_Deviation": "logic_deviation",
                 "Logic_Breakdown": "logic_breakdown"}


def subcategory_of_codehalu_type(halu_type: str) -> SubCategory | None:
    """The sub-category of a CodeHaluEval `halu_type` ("Data Compliance Hallucination") or
    of a reference result file's stem ("Data_Compliance_Hallucination")."""
    wanted = halu_type.replace("_", " ").strip()
    return next((s for s in SUBCATEGORIES if s.codehalu_type == wanted), None)


# ---------------------------------------------------------------- classifying one outcome


def strict_class(execution, breakdown: bool) -> str:
    """Strict mode's class of one execution; `breakdown`: its program is degenerate."""
    status = execution.status
    if status is Status.PASSED:
        return CORRECT
    if breakdown:
        return "logic_breakdown"
    # A program in a compiled language that does not compile is CodeHalu's nearest class to a
    # Python program that does not parse: a syntax error (type errors and unknown names
    # included, which a compiler finds before the program runs).
    simple = {Status.SYNTAX_ERROR: SYNTAX_ERROR, Status.COMPILE_ERROR: SYNTAX_ERROR,
              Status.TIMEOUT: TIMEOUT,
              Status.OUT_OF_MEMORY: "physical_constraint", Status.SANDBOX_ERROR: SANDBOX_ERROR,
              Status.FAILED: "logic_deviation"}
    if status in simple:
        return simple[status]
    for name in execution.exception_chain or [execution.exception_type]:
        if name in STRICT_EXCEPTIONS:
            return STRICT_EXCEPTIONS[name]
    return OTHER_ERROR


def compat_label(execution, program: str, stdin_program: bool, breakdown: bool) -> str:
    """The name the reference gives this outcome: an exception class name, or one of
    Correct, Logic_Deviation, Logic Breakdown, TimeoutException, TimeError."""
    status = execution.status
    if breakdown:
        return "Logic Breakdown"
    if status is Status.PASSED:
        return "Correct"
    if status is Status.SANDBOX_ERROR:
        return "SandboxError"
    if status is Status.COMPILE_ERROR:
        return "SyntaxError"
    if status is Status.OUT_OF_MEMORY and execution.exception_type != "MemoryError":
        return "TimeError"  # killed: the reference's outer time limit ends such a run
    if not execution.tests:  # the program failed to load
        return "UnboundLocalError"
    if status is Status.TIMEOUT:
        return "TimeoutException"
    if status is Status.FAILED:
        return "Logic_Deviation"
    if stdin_program and "ImportError" in execution.exception_chain and \
            _failed_leading_import(program, execution.message or ""):
        return "UnboundLocalError"
    return execution.exception_type or "Error"


MISSING_MODULE = re.compile(r"No module named '([^']+)'|cannot import name '[^']+' from '([^']+)'")


def _failed_leading_import(program: str, message: str) -> bool:
    """Whether the import that failed is one of the program's leading import lines, which the
    reference runs while loading the program (every later line runs inside a function)."""
    match = MISSING_MODULE.search(message)
    if not match:
        return False
    missing = match.group(1) or match.group(2)
    return any(module == missing or module.startswith(missing + ".") or missing.startswith(module + ".")
               for module in leading_import_modules(program))


def leading_import_modules(program: str) -> set[str]:
    modules = set()
    for line in program.split("\n"):
        if not line.startswith(("import ", "from ")):
            break
        statement = line.split("#")[0]
        if statement.startswith("from "):
            modules.add(statement.split()[1])
        else:
            modules.update(part.split(" as ")[0].strip() for part in statement[len("import "):].split(","))
    return modules


# ---------------------------------------------------------------- rates


def rates(outcomes_by_file: dict[str, Counter], samples_by_file: dict[str, int],
          category_of: dict[str, str], correct: str) -> dict:
    """Hallucination rate of each file k: its outcomes that fall in category k, over its
    samples; their unweighted mean; the correct rate over all samples."""
    files = {}
    for key in (s.key for s in SUBCATEGORIES if s.key in samples_by_file):
        outcomes, samples = outcomes_by_file.get(key, Counter()), samples_by_file[key]
        count = sum(n for label, n in outcomes.items() if category_of.get(label) == key)
        files[key] = {"rate": count / samples, "count": count, "samples": samples,
                      "correct_rate": outcomes[correct] / samples,
                      "outcomes": dict(outcomes.most_common())}
    total = sum(samples_by_file.values())
    return {
        "files": files,
        "mean_rate": sum(f["rate"] for f in files.values()) / len(files) if files else 0.0,
        "correct_rate": sum(o[correct] for o in outcomes_by_file.values()) / total if total else 0.0,
    }


def compat_rates(outcomes_by_file: dict[str, Counter], samples_by_file: dict[str, int]) -> dict:
    return rates(outcomes_by_file, samples_by_file, COMPAT_LABELS, "Correct")


def strict_rates(outcomes_by_file: dict[str, Counter], samples_by_file: dict[str, int]) -> dict:
    return rates(outcomes_by_file, samples_by_file, {s.key: s.key for s in SUBCATEGORIES}, CORRECT)


# ---------------------------------------------------------------- Logic Breakdown


class BreakdownRule:
    """A program is degenerate when it has `threshold` or more tokens.

    `tokenizer`: "embedded" (the embedded SmolLM2's, once `codeharness models prepare` has
    run), a folder or tokenizer.json file, or a Hugging Face model id. When it cannot be
    loaded the rule is not applied, and `describe()` says why and how many programs were
    long enough to need it (`unchecked_programs`). Token counts, and so Logic Breakdown
    numbers, compare with the paper's only under its tokenizer, CodeLlama-7B-Instruct's
    (`codellama/CodeLlama-7b-Instruct-hf`, or a local copy of its tokenizer.json).
    """

    def __init__(self, tokenizer: str = EMBEDDED_TOKENIZER, threshold: int = BREAKDOWN_TOKENS):
        self.tokenizer = tokenizer
        self.threshold = threshold
        self.error: str | None = None
        self.unchecked = 0  # programs long enough to need the tokenizer while it was missing
        self._loaded = None

    def applies(self, program: str) -> bool:
        # A token spans at least one UTF-8 byte, and a SentencePiece tokenizer adds at most
        # one leading marker: shorter programs need no tokenizer.
        if len(program.encode()) + 1 < self.threshold:
            return False
        tokenizer = self._tokenizer()
        if tokenizer is None:
            self.unchecked += 1
            return False
        return len(tokenizer.encode(program, add_special_tokens=False).ids) >= self.threshold

    def load(self) -> bool:
        """Load the tokenizer now (False, with `error` set, when it cannot be)."""
        return self._tokenizer() is not None

    def restart(self) -> None:
        """Count unchecked programs afresh (one scoring pass)."""
        self.unchecked = 0

    def describe(self) -> dict:
        return {"tokenizer": self.tokenizer, "threshold": self.threshold, "error": self.error,
                "unchecked_programs": self.unchecked}

    def _tokenizer(self):
        if self._loaded is None and self.error is None:
            loaded = load_tokenizer(self.tokenizer)
            if isinstance(loaded, Exception):
                self.error = (f"not applied: tokenizer {self.tokenizer!r} unavailable ({loaded}); "
                              "give one with --breakdown-tokenizer (a tokenizer.json, a folder with "
                              "one, or a Hugging Face model id)")
            else:
                self._loaded = loaded
        return self._loaded


_TOKENIZERS: dict[str, object] = {}


def load_tokenizer(spec: str):
    """The tokenizer, or the exception that stopped its loading (kept, so a missing one is
    not searched for again)."""
    if spec not in _TOKENIZERS:
        try:
            from tokenizers import Tokenizer

            _TOKENIZERS[spec] = Tokenizer.from_file(str(_tokenizer_file(spec)))
        except Exception as exc:  # noqa: BLE001 - missing package, file, network: all say "unavailable"
            _TOKENIZERS[spec] = exc
    return _TOKENIZERS[spec]


def _tokenizer_file(spec: str) -> Path:
    if spec == EMBEDDED_TOKENIZER:
        from codeharness.core.models import READY_MARKER, embedded_checkpoint

        if not (embedded_checkpoint() / READY_MARKER).exists():
            raise FileNotFoundError("the embedded model is not prepared; run `codeharness models prepare`")
        return embedded_checkpoint() / "tokenizer.json"
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "tokenizer.json").is_file():
            raise FileNotFoundError(f"{path} has no tokenizer.json")
        return path / "tokenizer.json"
    if path.is_file():
        return path
    if _looks_like_a_path(spec):
        raise FileNotFoundError(f"no such file or folder: {path}")
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(spec, "tokenizer.json"))


def _looks_like_a_path(spec: str) -> bool:
    """A Hugging Face model id is NAME or OWNER/NAME; anything else names a file or folder."""
    return (spec.startswith(("/", ".", "~")) or spec.count("/") > 1 or spec.endswith(".json")
            or "\\" in spec)


# ---------------------------------------------------------------- scorers


@registry.scorers.register
class HallucinationProfile(BaseScorer):
    """For any task: the strict class of every failed sample, as counts and shares."""

    name = "hallucination_profile"

    def __init__(self, tokenizer: str = EMBEDDED_TOKENIZER, threshold: int = BREAKDOWN_TOKENS):
        self.rule = BreakdownRule(tokenizer, threshold)

    def score(self, task, problems, generations, executions) -> dict:
        self.rule.restart()
        programs = {g.key: g.program for g in generations}
        failed = [e for e in executions if e.status is not Status.PASSED]
        counts = Counter(strict_class(e, self.rule.applies(programs.get(e.key, ""))) for e in failed)
        types: Counter = Counter()
        for key, count in counts.items():
            types[CLASS_TYPES.get(key, CLASS_NAMES[key])] += count
        return {
            "mode": STRICT,
            "samples": len(executions),
            "failed": len(failed),
            "classes": {key: {"count": counts[key], "share": _share(counts[key], len(failed))}
                        for key in CLASS_NAMES},
            "types": {name: _share(count, len(failed)) for name, count in types.most_common()},
            "breakdown": self.rule.describe(),
        }

    def columns(self, result: dict) -> list[Column]:
        return [Column(f"halu {name}", share, percent=True) for name, share in result["types"].items()]

    def report(self, result: dict) -> list:
        lines = []
        if result["failed"]:
            shares = [f"{CLASS_NAMES[key]} {100 * value['share']:.1f}%"
                      for key, value in result["classes"].items() if value["count"]]
            lines.append(f"why {result['failed']} samples failed (strict): " + ", ".join(shares))
        return lines + _breakdown_warning(result["breakdown"])

    def charts(self, result: dict) -> list[Chart]:
        if not result["failed"]:
            return []
        points = [[name, 100 * share] for name, share in result["types"].items()]
        return [Chart("hallucination_profile", "bars", "hallucination profile of failed samples", "",
                      "share of failed samples (%)", points)]


@registry.scorers.register
class HallucinationRates(BaseScorer):
    """CodeHalu's metrics, in both modes, and each sample's class in both (compat: None for
    a sample that the reference does not count), for a task whose every problem belongs to
    one sub-category's file: problem.meta["halu_category"] (a sub-category key),
    meta["case_key"] (its APPS task and test case) and meta["fn_name"] (None for stdin
    programs)."""

    name = "hallucination_rates"

    def __init__(self, tokenizer: str = EMBEDDED_TOKENIZER, threshold: int = BREAKDOWN_TOKENS):
        self.rule = BreakdownRule(tokenizer, threshold)

    def score(self, task, problems, generations, executions) -> dict:
        # Logic Breakdown is one of CodeHalu's eight sub-categories: whether its tokenizer
        # loads is always reported, even when no program was long enough to need it.
        self.rule.restart()
        self.rule.load()
        order = {p.id: index for index, p in enumerate(problems)}
        by_id = {p.id: p for p in problems}
        programs = {g.key: g.program for g in generations}
        samples: Counter = Counter()
        strict: dict[str, Counter] = defaultdict(Counter)
        compat: dict[str, Counter] = defaultdict(Counter)
        seen_cases = set()
        per_sample = {}
        ordered = sorted((e for e in executions if e.problem_id in by_id),
                         key=lambda e: (order[e.problem_id], e.sample_index))
        for execution in ordered:
            problem = by_id[execution.problem_id]
            file = problem.meta["halu_category"]
            program = programs.get(execution.key, "")
            breakdown = self.rule.applies(program)
            samples[file] += 1
            classes = {STRICT: strict_class(execution, breakdown), COMPAT: None}
            strict[file][classes[STRICT]] += 1
            case = (file, problem.meta["case_key"])
            if case not in seen_cases:  # compat: only a test case's first sample counts
                seen_cases.add(case)
                stdin_program = not problem.meta["fn_name"]
                classes[COMPAT] = compat_label(execution, program, stdin_program, breakdown)
                compat[file][classes[COMPAT]] += 1
            per_sample[f"{execution.problem_id}#{execution.sample_index}"] = classes
        return {STRICT: strict_rates(strict, samples), COMPAT: compat_rates(compat, samples),
                "breakdown": self.rule.describe(), "per_sample": per_sample}

    def columns(self, result: dict) -> list[Column]:
        return [Column(f"{label} ({mode})", result[mode][field], percent=True)
                for mode in (STRICT, COMPAT) for label, field in (("HR mean", "mean_rate"),
                                                                  ("correct rate", "correct_rate"))]

    def report(self, result: dict) -> list:
        from rich.table import Table

        table = Table(title="hallucination rate (HR) per sub-category file")
        for column in ("sub-category", "samples", "HR strict", "HR compat"):
            table.add_column(column, justify="left" if column == "sub-category" else "right")
        for key, strict in result[STRICT]["files"].items():
            table.add_row(CLASS_NAMES[key], str(strict["samples"]), f"{100 * strict['rate']:.2f}%",
                          f"{100 * result[COMPAT]['files'][key]['rate']:.2f}%")
        for label, field in (("mean HR", "mean_rate"), ("correct", "correct_rate")):
            table.add_row(label, "", f"{100 * result[STRICT][field]:.2f}%",
                          f"{100 * result[COMPAT][field]:.2f}%")
        return [table, *_breakdown_warning(result["breakdown"])]


def _breakdown_warning(breakdown: dict) -> list:
    """The yellow line a run whose breakdown tokenizer did not load prints (as rich Text, so
    brackets in paths and messages are printed, not read as markup)."""
    if not breakdown.get("error"):
        return []
    from rich.text import Text

    unchecked = breakdown.get("unchecked_programs")
    counted = (f" ({unchecked} program(s) of {breakdown['threshold']:,}+ bytes went unchecked)"
               if unchecked else "")
    return [Text(f"Logic Breakdown {breakdown['error']}{counted}", style="yellow")]


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0
