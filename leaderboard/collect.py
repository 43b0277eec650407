"""Find run directories and read what a leaderboard needs from them.

A run directory is any folder holding a manifest.json. One whose manifest or scores are
missing or malformed is reported with the reason and skipped; it never stops the build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from codeharness.core.rundir import MANIFEST, SCORES, SELECTION


@dataclass
class Run:
    path: Path
    manifest: dict
    scores: dict
    selection: dict | None = None
    run_id: str = ""  # the folder's name, made unique across the collected roots


@dataclass
class Collection:
    runs: list[Run] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def collect(roots: list[Path]) -> Collection:
    found = Collection()
    for root in roots:
        root = Path(root)
        if not root.exists():
            found.skipped.append((root, "no such folder"))
            continue
        for manifest_path in sorted(root.rglob(MANIFEST)):
            run = _read_run(manifest_path.parent, found)
            if run is not None:
                run.run_id = _unique(run.path.name, {r.run_id for r in found.runs})
                found.runs.append(run)
    return found


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def _read_run(path: Path, found: Collection) -> Run | None:
    manifest = _read_json(path / MANIFEST, found)
    if manifest is None:
        return None
    config = manifest.get("config")
    if not isinstance(config, dict) or not config.get("task"):
        found.skipped.append((path, f"{MANIFEST} has no config.task"))
        return None
    if not (path / SCORES).exists():
        found.skipped.append((path, f"no {SCORES} (the run was not scored)"))
        return None
    scores = _read_json(path / SCORES, found)
    if scores is None:
        return None
    selection = _read_json(path / SELECTION, found) if (path / SELECTION).exists() else None
    return Run(path, manifest, scores, selection)


def _read_json(path: Path, found: Collection) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        found.skipped.append((path.parent, f"{path.name} is unreadable or not JSON ({exc})"))
        return None
    if not isinstance(data, dict):
        found.skipped.append((path.parent, f"{path.name} is not a JSON object"))
        return None
    return data
