"""Run directories: append-only JSONL stage files plus a manifest.

Every record is written with one write() of a complete line to a file opened in append
mode, so a run killed at any moment leaves at most one torn last line. Opening a log
detects such a line, cuts it off (it is re-done on resume), and reports the keys already
present so a resumed stage only does what is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from codeharness.core.errors import HarnessError
from codeharness.core.manifest import command_line, now

MANIFEST = "manifest.json"
GENERATIONS = "generations.jsonl"
EXECUTIONS = "executions.jsonl"
SCORES = "scores.json"
SELECTION = "selection.json"  # `codeharness select`'s result, which leaderboards show too
WRITER_LOCK = ".writer.lock"  # held by the one process that writes the run directory


class JsonlLog:
    def __init__(self, path: Path, key: Callable[[dict], tuple]):
        self.path = path
        self._key = key
        self._keys: set[tuple] = set()
        self.dropped_torn_line = False
        self._repair_and_index()

    def _repair_and_index(self) -> None:
        if not self.path.exists():
            return
        good_end = 0
        with open(self.path, "rb") as f:
            for line_number, line in enumerate(f, start=1):
                if not line.endswith(b"\n"):
                    self.dropped_torn_line = True
                    break
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise HarnessError(
                        f"{self.path}:{line_number}: not a JSON record ({exc}); "
                        "the file was changed by something other than codeharness"
                    ) from exc
                self._keys.add(self._key(record))
                good_end += len(line)
        if self.dropped_torn_line:
            with open(self.path, "r+b") as f:
                f.truncate(good_end)

    def __contains__(self, key: tuple) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def append(self, record: dict) -> None:
        key = self._key(record)
        if key in self._keys:
            raise HarnessError(f"{self.path}: duplicate record {key}")
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        self._keys.add(key)

    def __iter__(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def sample_key(record: dict) -> tuple:
    return (record["problem_id"], record["sample_index"])


class RunDir:
    """A run's folder: manifest.json, generations.jsonl, executions.jsonl, scores.json."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the run directory for writing: a second process that asks is refused with
        who holds it. The lock dies with its process, so a killed run never blocks a resume.
        A folder this call made and that got no manifest is removed again."""
        made = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        lock_path = self.path / WRITER_LOCK
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = lock_path.read_text(errors="replace").strip() or "another process"
                raise HarnessError(f"{self.path} is in use by {holder}; one process writes a run "
                                   "directory at a time: wait for it to finish or stop it") from None
            os.ftruncate(fd, 0)
            os.write(fd, f"process {os.getpid()} (`{command_line()}`, since {now()})\n".encode())
            yield
        finally:
            os.close(fd)
            if made and not self.exists():
                shutil.rmtree(self.path, ignore_errors=True)

    def manifest(self) -> dict:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError as exc:
            raise HarnessError(f"{self.path}: not a run directory (no {MANIFEST})") from exc
        except ValueError as exc:
            raise HarnessError(f"{self.manifest_path}: malformed JSON ({exc})") from exc

    def open(self, config: dict, manifest: dict, overwrite: bool) -> None:
        """Create the run, or resume it when its config matches; refuse a mismatch."""
        if self.exists():
            previous = self.manifest().get("config")
            if previous != config and not overwrite:
                changed = sorted(k for k in set(previous or {}) | set(config)
                                 if (previous or {}).get(k) != config.get(k))
                raise HarnessError(
                    f"{self.path} holds a run with a different config (differs in: "
                    f"{', '.join(changed)}); use --overwrite to replace it or choose another "
                    "--run-dir"
                )
            if previous == config:
                self.update_manifest({"resumed_at": manifest["timestamps"]["created"]},
                                     section="timestamps")
                return
            for name in (MANIFEST, GENERATIONS, EXECUTIONS, SCORES):
                (self.path / name).unlink(missing_ok=True)
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_manifest(manifest)

    def write_manifest(self, manifest: dict) -> None:
        write_json_atomic(self.manifest_path, manifest)

    def update_manifest(self, values: dict, section: str | None = None) -> None:
        manifest = self.manifest()
        target = manifest.setdefault(section, {}) if section else manifest
        target.update(values)
        self.write_manifest(manifest)

    def generations(self) -> JsonlLog:
        return JsonlLog(self.path / GENERATIONS, sample_key)

    def executions(self) -> JsonlLog:
        return JsonlLog(self.path / EXECUTIONS, sample_key)

    def write_scores(self, scores: dict) -> None:
        write_json_atomic(self.path / SCORES, scores)

    def scores(self) -> dict:
        return json.loads((self.path / SCORES).read_text())


def write_json_atomic(path: Path, data: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(temporary, path)
