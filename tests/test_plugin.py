"""A third-party benchmark with its own metric, installed as a plugin package and run through
the real command line, with no edit to codeharness: tests/data/plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "data" / "plugin"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    """The plugin installed into a folder of its own (the test environment stays untouched)."""
    source = tmp_path_factory.mktemp("source") / "plugin"
    shutil.copytree(PLUGIN, source)
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def codeharness(plugin_path: Path, *args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(plugin_path), "CODEHARNESS_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "codeharness", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def replay_file(path: Path, bodies: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"task_id": f"kata/{name}", "completion": body}) + "\n"
                            for name, body in bodies.items()))
    return path


GOOD = {"shout": "    return text.upper() + '!'\n",
        "initials": "    return ''.join(w[0].upper() for w in name.split())\n",
        "vowels": "    return sum(c in 'aeiou' for c in text.lower())\n",
        "is_palindrome": "    t = text.replace(' ', '').lower()\n    return t == t[::-1]\n"}
# Each wrong in a way one of its three tests catches: partial credit sees what pass@1 cannot.
HALF = {"shout": "    return text.upper() + '!' if text else ''\n",
        "initials": "    return name[0].upper() + ''.join(w[0].upper() for w in name.split()[1:])\n",
        "vowels": "    return sum(c in 'aeiou' for c in text)\n",
        "is_palindrome": "    return text == text[::-1]\n"}


def test_the_plugin_task_runs_scores_and_ranks_with_its_own_metric(plugin_path, tmp_path):
    listed = codeharness(plugin_path, "tasks", "list", cwd=tmp_path)
    assert "string_kata" in listed.stdout.split(), listed.stderr
    checked = codeharness(plugin_path, "check-gt", "--task", "string_kata", "--workers", "1", cwd=tmp_path)
    assert checked.returncode == 0 and "4/4 reference solutions pass" in checked.stdout, checked.stdout + checked.stderr

    results = tmp_path / "results"
    for name, bodies in (("good", GOOD), ("half", HALF)):
        run = codeharness(plugin_path, "eval", "--task", "string_kata", "--backend", "replay",
                          "--samples", replay_file(tmp_path / f"{name}.jsonl", bodies), "--model-name", name,
                          "--workers", "1", "--run-dir", results / name, cwd=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "partial credit:" in run.stdout
    good = json.loads((results / "good" / "scores.json").read_text())
    half = json.loads((results / "half" / "scores.json").read_text())
    assert good["scorers"][0] == "partial_credit" and good["primary_metric"] == "partial credit"
    assert good["partial_credit"]["partial_credit"] == 1.0
    assert half["columns"]["partial credit"]["value"] == pytest.approx((2 / 3 + 2 / 3 + 2 / 3 + 2 / 3) / 4)
    assert half["columns"]["base pass@1"]["value"] == 0.0

    rescored = codeharness(plugin_path, "score", results / "half", cwd=tmp_path)
    assert rescored.returncode == 0 and "partial credit: 66.7% of the tests" in rescored.stdout
    unknown = codeharness(plugin_path, "score", results / "half", "--scorer", "no_such_scorer", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown scorer 'no_such_scorer'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    site = tmp_path / "site"
    built = codeharness(plugin_path, "leaderboard", "build", results, "--out", site, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    table = json.loads((site / "leaderboard.json").read_text())
    ranked = {row["model"]: row for row in table}
    assert ranked["good"]["primary metric"] == "partial credit" and ranked["good"]["rank"] == 1
    assert ranked["half"]["partial credit"] == pytest.approx(2 / 3)
    assert "partial credit %" in (site / "leaderboard.md").read_text()
