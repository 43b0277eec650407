"""Publishing a built leaderboard: copy it, commit it to a git branch, push its table to the Hub."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from codeharness.core.errors import HarnessError


def copy_site(site: Path, to: Path) -> Path:
    shutil.copytree(site, to, dirs_exist_ok=True)
    return to


def commit_to_branch(site: Path, repo: Path, branch: str, message: str) -> str:
    """Commit the site as the whole content of `branch` (created as an orphan if new), through
    a temporary worktree so the user's checkout is left alone. Returns the commit sha."""
    def git(*args: str, cwd: Path = repo) -> str:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        if result.returncode != 0:
            raise HarnessError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
        return result.stdout.strip()

    git("rev-parse", "--git-dir")
    exists = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                            cwd=repo, capture_output=True).returncode == 0
    with tempfile.TemporaryDirectory() as scratch:
        worktree = Path(scratch) / "site"
        if exists:
            git("worktree", "add", str(worktree), branch)
        else:
            git("worktree", "add", "--detach", str(worktree))
            git("checkout", "--orphan", branch, cwd=worktree)
        try:
            git("rm", "-r", "-q", "--ignore-unmatch", ".", cwd=worktree)
            shutil.copytree(site, worktree, dirs_exist_ok=True)
            git("add", "-A", cwd=worktree)
            git("-c", "user.name=codeharness", "-c", "user.email=codeharness@localhost",
                "commit", "-q", "--allow-empty", "-m", message, cwd=worktree)
            return git("rev-parse", "HEAD", cwd=worktree)
        finally:
            git("worktree", "remove", "--force", str(worktree))


def push_to_hub(site: Path, repo_id: str) -> None:
    """The leaderboard table as a Hugging Face dataset (needs network and a token)."""
    import pandas as pd

    try:
        import datasets
    except ImportError as exc:
        raise HarnessError("--hub needs `pip install codeharness[datasets]`") from exc
    table = pd.read_json(site / "leaderboard.json", orient="records")
    try:
        datasets.Dataset.from_pandas(table).push_to_hub(repo_id)
    except Exception as exc:  # noqa: BLE001 - network and auth errors end here alike
        raise HarnessError(f"could not push the leaderboard to the Hub dataset {repo_id!r}: {exc}") from exc
