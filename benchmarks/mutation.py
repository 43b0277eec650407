"""Mutation testing of the code that decides numbers and verdicts, with cosmic-ray.

    python benchmarks/mutation.py                      # every target below
    python benchmarks/mutation.py passk b4 dia         # some targets
    python benchmarks/mutation.py --known              # the five hand-made mutants of issue 20
    python benchmarks/mutation.py --report             # the last run's scores, without running
    python benchmarks/mutation.py --survivors dia      # the last run's survivors again, on new tests

cosmic-ray rewrites the source files it mutates, so nothing runs in this checkout: the
script copies the working tree (tracked files and untracked ones git does not ignore, so new
tests count before they are committed) into a scratch folder (--scratch, default
/var/tmp/codeharness-mutation; not under /tmp, whose folders the bubblewrapped local sandbox
cannot be relied on to reach), gives it a virtual environment of its own that imports
`codeharness` from the copy (the project's packages come from this checkout's .venv; numpy
is installed into it, as programs in the sandbox may import it), and installs cosmic-ray
(COSMIC_RAY) in a second environment there. Then, for each target, cosmic-ray makes every
mutant of the target's functions, one small change at a time (an operator, a comparison, a
number, a boolean, a `break`, a loop that never runs, ...), and runs the target's fast
tests on it (`pytest -x`, well under a minute): a mutant the tests fail on is killed, one
they pass on survived. It prints each target's score and its survivors, each with the
diff; benchmarks/mutation_equivalent.md lists the survivors that change no behaviour.

Not part of CI (all targets take about an hour on two cores). Run it niced on a shared
machine: `nice -n 10 .venv/bin/python benchmarks/mutation.py`.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COSMIC_RAY = "cosmic-ray==8.7.0"
DEFAULT_SCRATCH = Path("/var/tmp/codeharness-mutation")
MUTANT_TIMEOUT_S = 120  # a mutant that makes the tests hang (an endless loop) is killed by it
# The operators run, one replacement each, as mutmut makes them: arithmetic to its inverse
# (+ -, * /, / //), a comparison to its boundary (< <=, > >=) or opposite (== !=, is not),
# `not` added to a condition or removed, numbers +- 1, booleans, and/or, break/continue, a
# loop that never runs, an exception type nothing raises, a decorator removed. cosmic-ray's
# other replacements (+ to ** or %, < to is, ...) mostly raise TypeError at once and would
# only add runs.
KEPT_OPERATORS = (
    r"core/ReplaceBinaryOperator_(Add_Sub|Sub_Add|Mul_Div|Div_Mul|Div_FloorDiv|FloorDiv_Div|Mod_FloorDiv|Pow_Mul)$",
    r"core/ReplaceComparisonOperator_(Eq_NotEq|NotEq_Eq|Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Is_IsNot|IsNot_Is)$",
    r"core/ReplaceUnaryOperator_\w+$",
    r"core/(AddNot|ReplaceTrueWithFalse|ReplaceFalseWithTrue|ReplaceAndWithOr|ReplaceOrWithAnd)$",
    r"core/(ReplaceBreakWithContinue|ReplaceContinueWithBreak|NumberReplacer|ZeroIterationForLoop)$",
    r"core/(ExceptionReplacer|RemoveDecorator)$",
)


@dataclass
class Target:
    """A module, the parts of it to mutate (top-level names; None: all of it, module-level
    constants included) and the fast tests that must kill its mutants."""

    name: str
    path: str
    tests: list[str]
    parts: tuple[str, ...] | None = None
    constants: tuple[str, ...] = ()  # module-level assignments mutated with `parts`
    notes: str = ""
    methods: dict[str, tuple[str, ...]] = field(default_factory=dict)  # class -> methods only


SELECTION_TESTS = ["tests/test_b4.py", "tests/test_selection_selectors.py"]
HOSTILE_TESTS = ["tests/security/test_local_hostile.py"]
# The worker's own unit tests, then the hostile cases about verdicts and reports through
# bubblewrap. (The cases about resources and confinement, bombs, floods, files and network,
# take seconds each and, on a loaded machine, can end in another verdict than their own.)
WORKER_TESTS = ["tests/test_worker_verdicts.py", *HOSTILE_TESTS,
                "-k", "not (without_bwrap or bomb or SIGTERM or GB or outside or files or loopback "
                      "or grandchild or disk or past)"]

TARGETS = [
    Target("passk", "harness/core/passk.py", ["tests/test_passk.py"]),
    Target("b4", "harness/scorers/b4.py", SELECTION_TESTS),
    Target("selectors", "harness/scorers/selectors.py", SELECTION_TESTS),
    Target("groups", "harness/scorers/groups.py", SELECTION_TESTS),
    Target("selection", "harness/pipeline/selection.py", SELECTION_TESTS),
    Target("prefs", "harness/pipeline/prefs.py",
           ["tests/test_prefs.py", "-k", "not collators"],
           parts=("dstc_choice", "preference_pairs", "_correct", "_response", "pair_statistics",
                  "_count", "dpo_records", "kto_records"),
           constants=("SKIP_EMPTY", "SKIP_NOTHING_PASSED", "SKIP_ALL_PASSED"),
           notes="DSTC pairs; writing the datasets is TRL's format, tested apart (slow)"),
    Target("dia", "harness/scorers/dia.py", ["tests/test_dia.py", "-k", "metrics or near_miss or scored"]),
    Target("p3", "harness/scorers/p3.py",
           ["tests/test_p3_scoring.py", "tests/test_p3.py", "tests/test_p3_bootstrap.py"]),
    Target("hallucination", "harness/scorers/hallucination.py",
           ["tests/test_hallucination_scoring.py", "tests/test_hallucination.py",
            "tests/test_codehalu.py::test_compat_counts_each_test_case_once_but_divides_by_all_samples",
            "tests/test_codehalu.py::test_replayed_programs_are_classified_per_sample",
            "tests/test_codehalu.py::test_a_run_scores_hallucination_rates_in_both_modes"],
           parts=("subcategory_of_codehalu_type", "strict_class", "compat_label",
                  "_failed_leading_import", "leading_import_modules", "rates", "compat_rates",
                  "strict_rates", "HallucinationProfile", "HallucinationRates", "_share"),
           constants=("BREAKDOWN_TOKENS", "SUBCATEGORIES", "CLASS_NAMES", "CLASS_TYPES",
                      "STRICT_EXCEPTIONS", "COMPAT_LABELS", "MISSING_MODULE"),
           methods={"BreakdownRule": ("__init__", "applies")},
           notes="loading a tokenizer is left out"),
    Target("evalplus", "tasks/evalplus_check.py",
           ["tests/test_evalplus_rules.py", "tests/test_tasks_evalplus.py"]),
    Target("rundir", "harness/core/rundir.py", ["tests/test_rundir.py"],
           parts=("JsonlLog", "sample_key", "write_json_atomic"),
           methods={"RunDir": ("open", "manifest", "exists")},
           notes="resume: torn lines, keys, refusal of another config"),
    Target("worker", "sandbox/worker.py", WORKER_TESTS,
           parts=("_exception_fields", "_status_of", "_bounded_repr", "_run_with_alarm", "_encode_event",
                  "_child_main", "_child_process", "_PhaseClock", "_parse_reports", "_is_report",
                  "_summarize", "_strip", "_exit_code", "_crash_result"),
           constants=("PROGRAM", "STATUSES", "CHILD_FAILED"),
           notes="the verdict and the report channel; the process handling around them is left out"),
]


# ---------------------------------------------------------------- the scratch copy


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def sync_scratch(scratch: Path, head: bool) -> None:
    """Copy the working tree's files (or, with head, the last commit's) into scratch,
    overwriting, removing none of its own."""
    if head:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, check=True,
                                 capture_output=True).stdout
        run(["tar", "-x", "-C", str(scratch)], input=archive)
        return
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source, target = REPO / name, scratch / name
        if not source.is_file() or source.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copy2(source, target)


def project_python() -> Path:
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        sys.exit(f"{python} is missing: make the project's environment first (README)")
    return python


def prepare(scratch: Path, head: bool) -> tuple[Path, Path]:
    """The copy, its environment and cosmic-ray's; returns their Pythons."""
    scratch.mkdir(parents=True, exist_ok=True)
    sync_scratch(scratch, head)
    info = json.loads(subprocess.run(
        [str(project_python()), "-c", "import json, site, sys; import numpy; print(json.dumps("
         "[sys.base_prefix, site.getsitepackages()[0], numpy.__version__]))"],
        check=True, capture_output=True, text=True).stdout)
    base_prefix, packages, numpy_version = info
    base_python = str(Path(base_prefix) / "bin" / "python3")
    venv = scratch / ".venv"
    python = venv / "bin" / "python"
    if not (venv / "ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        run([base_python, "-m", "venv", str(venv)])
        site_packages = Path(subprocess.run(
            [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
            check=True, capture_output=True, text=True).stdout.strip())
        # The project's packages, after the copy's own (the .pth line appends the folder).
        (site_packages / "project-packages.pth").write_text(packages + "\n")
        # The venv's own old setuptools would shadow the project's, which pyproject.toml needs.
        run([str(python), "-m", "pip", "uninstall", "-q", "-y", "setuptools"])
        run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e",
             str(scratch)])
        run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed",
             f"numpy=={numpy_version}"])
        (venv / "ready").write_text("")
    tool_venv = scratch / ".cosmic-ray-venv"
    tool_python = tool_venv / "bin" / "python"
    if not (tool_venv / "ready").exists():
        shutil.rmtree(tool_venv, ignore_errors=True)
        run([base_python, "-m", "venv", str(tool_venv)])
        run([str(tool_python), "-m", "pip", "install", "-q", COSMIC_RAY])
        (tool_venv / "ready").write_text("")
    where = subprocess.run([str(python), "-c", "import codeharness; print(codeharness.__file__)"],
                           check=True, capture_output=True, text=True, cwd="/").stdout.strip()
    if not where.startswith(str(scratch)):
        sys.exit(f"the scratch environment imports codeharness from {where}, not the copy")
    return python, tool_python


# ---------------------------------------------------------------- sessions


def line_ranges(source: str, target: Target) -> list[tuple[int, int]] | None:
    """The lines of the target's parts (None: the whole module)."""
    if target.parts is None and not target.methods:
        return None
    ranges = []
    for node in ast.parse(source).body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        if any(n in (target.parts or ()) or n in target.constants for n in names):
            ranges.append((node.lineno, node.end_lineno))
        if isinstance(node, ast.ClassDef) and node.name in target.methods:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in target.methods[node.name]:
                    ranges.append((item.lineno, item.end_lineno))
    return ranges


def write_config(scratch: Path, python: Path, target: Target) -> Path:
    folder = scratch / ".mutation"
    folder.mkdir(exist_ok=True)
    tests = " ".join(f'"{t}"' if " " in t else t for t in target.tests)
    command = (f"{python} -m pytest -x -q -p no:cacheprovider -o addopts= --timeout "
               f"{MUTANT_TIMEOUT_S} {tests}")
    config = folder / f"{target.name}.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{target.path}"\n'
        f"timeout = {MUTANT_TIMEOUT_S + 30}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        "\n[cosmic-ray.distributor]\nname = \"local\"\n")
    return config


def session_path(scratch: Path, target: Target) -> Path:
    return scratch / ".mutation" / f"{target.name}.sqlite"


def cosmic_ray(tool_python: Path, *args: str, cwd: Path) -> None:
    run([str(tool_python.with_name("cosmic-ray")), *args], cwd=cwd)


def run_target(scratch: Path, python: Path, tool_python: Path, target: Target) -> None:
    config = write_config(scratch, python, target)
    session = session_path(scratch, target)
    session.unlink(missing_ok=True)
    baseline = subprocess.run([str(python), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               "-o", "addopts=", *target.tests], cwd=scratch, capture_output=True,
                              text=True)
    if baseline.returncode != 0:
        sys.exit(f"{target.name}: the tests fail before any mutation:\n{baseline.stdout[-3000:]}")
    cosmic_ray(tool_python, "init", str(config), str(session), cwd=scratch)
    ranges = line_ranges((scratch / target.path).read_text(), target)
    run([str(tool_python), __file__, "--filter", str(session), json.dumps(ranges)], cwd=scratch)
    cosmic_ray(tool_python, "exec", str(config), str(session), cwd=scratch)


def rerun_survivors(scratch: Path, python: Path, tool_python: Path, target: Target) -> None:
    """Run the last session's surviving mutants again, on the tests as they are now (a new
    test only adds kills); the killed ones stay killed."""
    import sqlite3

    session = session_path(scratch, target)
    if not session.exists():
        return run_target(scratch, python, tool_python, target)
    config = write_config(scratch, python, target)
    with sqlite3.connect(session) as db:
        db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    cosmic_ray(tool_python, "exec", str(config), str(session), cwd=scratch)


def filter_session(session: str, ranges_json: str) -> None:
    """Runs in cosmic-ray's environment: skip the mutants outside the target's parts and
    those of operators not kept."""
    import re

    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    ranges = json.loads(ranges_json)
    kept = re.compile("|".join(f"(?:{pattern})" for pattern in KEPT_OPERATORS))
    with use_db(session, WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            for mutation in item.mutations:
                line = mutation.start_pos[0]
                outside = ranges is not None and not any(a <= line <= b for a, b in ranges)
                if outside or not kept.match(mutation.operator_name):
                    db.set_result(item.job_id, WorkResult(
                        output="outside the target" if outside else "operator not kept",
                        worker_outcome=WorkerOutcome.SKIPPED))
                    break


def session_report(session: str) -> None:
    """Runs in cosmic-ray's environment: the session's counts and survivors, as JSON."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    report = {"killed": 0, "survived": [], "pending": 0, "incompetent": 0}
    with use_db(session, WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            mutation = item.mutations[0]
            if result.test_outcome == TestOutcome.SURVIVED:
                report["survived"].append({
                    "line": mutation.start_pos[0], "operator": mutation.operator_name,
                    "occurrence": mutation.occurrence, "diff": result.diff})
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                report["incompetent"] += 1
            else:
                report["killed"] += 1
        report["pending"] = sum(1 for _ in db.pending_work_items)
    print(json.dumps(report))


def print_report(scratch: Path, tool_python: Path, targets: list[Target], diffs: bool) -> None:
    killed_all = total_all = 0
    lines = []
    for target in targets:
        session = session_path(scratch, target)
        if not session.exists():
            continue
        report = json.loads(subprocess.run([str(tool_python), __file__, "--session-report", str(session)],
                                           check=True, capture_output=True, text=True).stdout)
        survived = sorted(report["survived"], key=lambda s: s["line"])
        # Incompetent mutants (the mutated module does not even load) count as killed.
        killed = report["killed"] + report["incompetent"]
        total = killed + len(survived)
        killed_all, total_all = killed_all + killed, total_all + total
        score = f"{100 * killed / total:5.1f}%" if total else "   n/a"
        pending = f", {report['pending']} not run" if report["pending"] else ""
        lines.append(f"{target.name:14} {target.path:34} {killed:4}/{total:<4} killed  {score}{pending}")
        for survivor in survived:
            lines.append(f"    survived: {target.path}:{survivor['line']} {survivor['operator']}"
                         f" #{survivor['occurrence']}")
            if diffs and survivor["diff"]:
                lines += ["        " + line for line in survivor["diff"].splitlines()
                          if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    print("\n".join(lines))
    if total_all:
        print(f"{'all':14} {'':34} {killed_all:4}/{total_all:<4} killed  {100 * killed_all / total_all:5.1f}%")


# ---------------------------------------------------------------- issue 20's mutants

KNOWN_MUTANTS = [
    ("bootstrap interval tail (1 - C) / 2 -> (1 - C)", "harness/core/passk.py",
     "tail = (1.0 - CONFIDENCE) / 2 * 100", "tail = (1.0 - CONFIDENCE) * 100", ["tests/test_passk.py"]),
    ("B4 default beta0 1e4 -> 1e3", "harness/scorers/b4.py", "BETA0 = 1e4", "BETA0 = 1e3",
     ["tests/test_b4.py"]),
    ("tie pooling by exact float equality", "harness/scorers/selectors.py",
     "np.flatnonzero(np.isclose(scores, best, rtol=TIE_RTOL, atol=0))", "np.flatnonzero(scores == best)",
     ["tests/test_selection_selectors.py"]),
    ("DIA near-miss threshold 0.8 -> 0.7", "harness/scorers/dia.py", "NEAR_MISS = 0.8", "NEAR_MISS = 0.7",
     ["tests/test_dia.py", "-k", "metrics or near_miss"]),
    ("report lines accepted without the per-job secret", "sandbox/worker.py",
     "        if line.startswith(secret):\n            try:\n                event = json.loads(line[len(secret):])",
     "        if True:\n            try:\n                event = json.loads(line[len(secret):] if line.startswith(secret) else line)",
     HOSTILE_TESTS),
]


def run_known(scratch: Path, python: Path) -> bool:
    all_killed = True
    for name, path, old, new, tests in KNOWN_MUTANTS:
        file = scratch / path
        text = file.read_text()
        if text.count(old) != 1:
            print(f"{name}: the code to mutate is not in {path} (changed since?)")
            all_killed = False
            continue
        command = [str(python), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *tests]
        real = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
        file.write_text(text.replace(old, new))
        try:
            mutated = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
        finally:
            file.write_text(text)
        failed = [line for line in mutated.stdout.splitlines() if line.startswith("FAILED")]
        killed = real.returncode == 0 and mutated.returncode != 0
        all_killed &= killed
        print(f"{'killed  ' if killed else 'SURVIVED'} {name}"
              f" (tests on the real code: {'pass' if real.returncode == 0 else 'FAIL'})")
        for line in failed[:2]:
            print(f"         {line[:160]}")
    return all_killed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=", ".join(t.name for t in TARGETS))
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    parser.add_argument("--known", action="store_true", help="run issue 20's five mutants only")
    parser.add_argument("--report", action="store_true", help="print the last run's results only")
    parser.add_argument("--head", action="store_true",
                        help="measure the last commit, not the working tree")
    parser.add_argument("--diffs", action="store_true", help="print each survivor's change")
    parser.add_argument("--survivors", action="store_true",
                        help="run only the last run's survivors again, on the current tests")
    parser.add_argument("--filter", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--session-report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.filter:
        filter_session(*args.filter)
        return 0
    if args.session_report:
        session_report(args.session_report)
        return 0
    unknown = set(args.targets) - {t.name for t in TARGETS}
    if unknown:
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}")
    targets = [t for t in TARGETS if not args.targets or t.name in args.targets]
    scratch = args.scratch.resolve()
    if scratch == REPO or REPO in scratch.parents:
        parser.error("the scratch folder must be outside the checkout")
    if args.report:
        print_report(scratch, scratch / ".cosmic-ray-venv" / "bin" / "python", targets, args.diffs)
        return 0
    python, tool_python = prepare(scratch, args.head)
    if args.known:
        return 0 if run_known(scratch, python) else 1
    for target in targets:
        print(f"== {target.name}: {target.path}", flush=True)
        (rerun_survivors if args.survivors else run_target)(scratch, python, tool_python, target)
    print_report(scratch, tool_python, targets, args.diffs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
