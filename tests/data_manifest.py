"""The vendored test data (tests/data/) against its manifest, tests/data/SHA256SUMS
(`sha256sum` format: one `<sha256>  <path relative to tests/data>` line per data file).

Every data file must be listed and match; documentation (*.md) and licence files (LICENSE*)
are not data and are not listed. Check by hand with `cd tests/data && sha256sum -c SHA256SUMS`."""

from __future__ import annotations

import hashlib
from pathlib import Path

TEST_DATA = Path(__file__).resolve().parent / "data"
MANIFEST = "SHA256SUMS"


def is_data_file(relative: Path) -> bool:
    return not (relative.name == MANIFEST or relative.suffix == ".md" or relative.name.startswith("LICENSE"))


def manifest_problems(root: Path = TEST_DATA) -> list[str]:
    """Every way the files under `root` differ from its manifest (empty when they agree)."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return [f"{manifest} is missing"]
    listed: dict[str, str] = {}
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            return [f"{manifest}:{number}: not a `<sha256>  <path>` line: {line!r}"]
        listed[name] = digest
    problems = []
    for name, digest in listed.items():
        path = root / name
        if not path.is_file():
            problems.append(f"{path}: listed in {MANIFEST} but missing")
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            problems.append(f"{path}: sha256 {actual}, {MANIFEST} says {digest} (changed or corrupted)")
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and is_data_file(relative) and relative.as_posix() not in listed:
            problems.append(f"{path}: not in {MANIFEST} (add its sha256, its origin and licence in README.md)")
    return problems
