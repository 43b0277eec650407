"""The files the selection stages add to a run directory, and the manifest sections that
tie each file to the settings that made it."""

from __future__ import annotations

import sys

from codeharness.core.errors import HarnessError
from codeharness.core.rundir import RunDir

TEST_GENERATIONS = "test_generations.jsonl"
MATRIX = "matrix.jsonl"
# A stage's section in manifest.json, and the files that depend on its settings.
DOWNSTREAM = {"test_generation": (TEST_GENERATIONS, MATRIX), "matrix": (MATRIX,)}


def claim_section(run: RunDir, section: str, settings: dict, overwrite: bool) -> None:
    """Record a stage's settings in the manifest, or check them against the recorded ones.

    Different settings are refused unless overwrite, which deletes the stage's files and
    everything made from them. Files without a section belong to a run that was replaced
    (`--overwrite` of the main run drops the whole manifest), so they are deleted too.
    """
    recorded = run.manifest().get(section)
    if recorded == settings:
        return
    files = [run.path / name for name in DOWNSTREAM[section]]
    if recorded is not None and not overwrite:
        changed = sorted(k for k in set(recorded) | set(settings) if recorded.get(k) != settings.get(k))
        raise HarnessError(
            f"{run.path}: its {section.replace('_', ' ')} was made with other settings (differs "
            f"in: {', '.join(changed)}); use --overwrite to redo it")
    for path in files:
        if path.exists():
            print(f"removing {path} (made with other settings)", file=sys.stderr)
            path.unlink()
    run.update_manifest({section: settings})
