"""The environment probe: a sandbox proves it offers what programs may import before it runs
anything, and again on every worker as jobs go by.

Programs may import the whole standard library that the interpreter has, and the packages the
sandbox offers (numpy). A sandbox where some of it fails to import (a Python that the
unprivileged user cannot read, a folder emptied with the scratch files, a process limit too
low for a package's threads) would turn correct programs into errors, silently. So the probe
job, an ordinary job through the same workers, imports every promised module and tries what
needs more than an import (codecs, threads, numpy's linear algebra, a temporary file). A
module that fails there but imports outside the sandbox is a failure: the sandbox refuses to
start (or stops a run) with a message naming the modules, why they fail and what to do.
Modules that fail outside the sandbox too (a tkinter without its library) are recorded as
not offered.

Cost: importing the whole list (about 330 modules with numpy) takes ~0.4 s of CPU, numpy a
third of it. So the list is split in shares, one per worker: at start the workers import all
of it together, each its share; after a worker's 1st job it imports only what every probe
imports (the modules programs use most, numpy, and the checks: ~0.15 s), and after its 10th,
100th, ... job the next share. A sandbox configured as one that already passed the full probe
in this process imports only those too at start (tests open many sandboxes).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job, Outcome, TestCase

# Imported by every probe, whatever its share: what programs import most, and numpy.
ALWAYS = ("threading", "logging", "queue", "concurrent.futures", "dataclasses", "subprocess",
          "collections", "itertools", "re", "math", "json", "numpy")
PROBE_ID = "environment-probe"
PROBE_TIMEOUT_S = 120.0  # a loaded machine imports slowly; the probe must not fail for that
REASON_LIMIT = 300

PROGRAM = '''
import importlib, json, warnings
warnings.simplefilter("ignore")
promised = {names!r}
if promised is None:  # the list the image recorded when it was built
    with open({modules_file!r}) as listed:
        promised = json.load(listed)
share = [] if {share} is None else promised[{share}::{shares}]
names = [name for name in {always!r} if name in promised]
names += [name for name in share if name not in names]
failed = {{}}
for name in names:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed[name] = (type(exc).__name__ + ": " + str(exc))[:{limit}]
'''

CHECKS = {
    "imports": "__result__ = {'checked': names, 'promised': len(promised), 'failed': failed}",
    "codecs": "for codec in ('idna', 'punycode', 'cp1252', 'cp437', 'utf-16', 'utf-32', "
              "'mac-roman', 'latin-1'):\n"
              "    assert 'bücher.example'.encode(codec).decode(codec) == 'bücher.example'\n"
              "assert 'bücher.example'.encode('idna') == b'xn--bcher-kva.example'",
    "threads": "if 'concurrent.futures' not in failed:\n"
               "    import concurrent.futures\n"
               "    with concurrent.futures.ThreadPoolExecutor(4) as pool:\n"
               "        assert list(pool.map(abs, [-1, -2, -3, -4])) == [1, 2, 3, 4]",
    "numpy": "if 'numpy' in promised and 'numpy' not in failed:\n"
             "    import numpy\n"
             "    m = numpy.arange(1.0, 10.0).reshape(3, 3) + numpy.eye(3)\n"
             "    assert numpy.allclose(numpy.linalg.inv(m) @ m, numpy.eye(3))\n"
             "    assert numpy.fft.fft(numpy.ones(4))[0] == 4\n"
             "    assert numpy.random.default_rng(0).random(3).shape == (3,)",
    "files": "import os, tempfile\n"
             "with tempfile.TemporaryDirectory() as folder:\n"
             "    with open(os.path.join(folder, 'x'), 'w') as f:\n"
             "        f.write('x')",
}


@dataclass
class Probe:
    """What a sandbox promises, and how to tell its failures apart from the interpreter's own.

    `modules`: the promised names, or None when the sandbox reads them from `modules_file`
    (the Docker image lists its own). `baseline(names)` says which of names import outside
    the sandbox (None: all promised modules do). `shares`: how many parts one full import of
    the list is split into (the pool's size). `key`: what decides the environment (the
    interpreter, the isolation, the image); a key that passed the full probe in this process
    is in `VERIFIED`."""

    modules: list[str] | None
    shares: int = 1
    modules_file: str = ""
    baseline: Callable[[list[str]], set[str]] | None = None
    key: tuple = ()

    def job(self, share: int | None = 0) -> Job:
        """The probe job importing one share of the list (None: none) besides ALWAYS."""
        program = PROGRAM.format(names=self.modules, modules_file=self.modules_file,
                                 share=None if share is None else share % self.shares,
                                 shares=self.shares, always=ALWAYS, limit=REASON_LIMIT)
        return Job(PROBE_ID, program,
                   [TestCase(name, code, group=name, timeout_s=PROBE_TIMEOUT_S)
                    for name, code in CHECKS.items()],
                   program_timeout_s=PROBE_TIMEOUT_S, fail_fast=False)

    def report(self, outcomes: list[Outcome]) -> dict:
        """The findings of probe jobs (one per worker): ok, what failed and why."""
        failed: dict[str, str] = {}
        checks: dict[str, str] = {}
        checked: set[str] = set()
        promised, seconds = 0, 0.0
        for outcome in outcomes:
            seconds = max(seconds, outcome.wall_time_s)
            if outcome.status is not Status.PASSED:
                stderr = outcome.stderr.strip().splitlines()[-1:] or [""]
                checks["probe job"] = (f"{outcome.status.value}: {outcome.exception_type or ''} "
                                       f"{outcome.message or ''} {stderr[0]}").strip()
                continue
            for test in outcome.tests:
                if test.name == "imports" and test.status is Status.PASSED:
                    found = ast.literal_eval(test.value or "{}")
                    checked.update(found["checked"])
                    promised = found["promised"]
                    failed.update(found["failed"])
                elif test.status is not Status.PASSED:
                    checks[test.name] = (f"{test.status.value}: {test.exception_type or ''} "
                                         f"{test.message or ''}").strip()[:REASON_LIMIT]
        offered_outside = (self.baseline(sorted(failed)) if failed and self.baseline
                           else set(failed))
        not_offered = sorted(set(failed) - offered_outside)
        failing = {name: reason for name, reason in failed.items() if name in offered_outside}
        return {"ok": not failing and not checks, "promised": promised, "imported": len(checked),
                "failed": failing, "checks_failed": checks, "not_offered": not_offered,
                "seconds": round(seconds, 3)}


VERIFIED: set[tuple] = set()  # probe keys that passed the full probe in this process


def summary(report: dict) -> str:
    """The failures of a report, in one line."""
    parts = []
    if report["failed"]:
        names = sorted(report["failed"], key=lambda n: (n not in ALWAYS, n))
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        parts.append(f"{len(names)} of {report['promised']} modules programs may import fail "
                     f"({shown}; {names[0]}: {report['failed'][names[0]]})")
    for check, reason in report["checks_failed"].items():
        parts.append(f"the {check} check fails ({reason})")
    return "; ".join(parts)
