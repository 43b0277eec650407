"""Bad input is one clear line and a non-zero exit, never a traceback; a refused command
leaves no run directory behind; what was computed before stays."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codeharness.cli.main import app
from codeharness.core.rundir import RunDir

REPLAY = ["eval", "--task", "humaneval", "--backend", "replay", "--workers", "1"]


def refused(args: list, *expected: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "Traceback" not in result.output, result.output
    for text in expected:
        assert text in error_lines[0], error_lines[0]
    return error_lines[0]


def completions(count: int = 164) -> list[dict]:
    return [{"task_id": f"HumanEval/{i}", "completion": "    return None\n"} for i in range(count)]


def write_samples(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize("content, kind", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "binary"),
    ('{"task_id": "HumanEval/0", "completion": "caf\xe9"}\n'.encode("latin-1"), "latin-1 text"),
])
def test_unreadable_samples_name_the_file(tmp_path, content, kind):
    samples = tmp_path / "samples.jsonl"
    samples.write_bytes(content)
    refused([*REPLAY, "--samples", samples, "--output-dir", tmp_path / "runs"], str(samples), "unreadable")
    assert not (tmp_path / "runs").exists()


def test_a_folder_or_a_truncated_gzip_as_samples(tmp_path):
    refused([*REPLAY, "--samples", tmp_path, "--output-dir", tmp_path / "runs"], str(tmp_path))
    whole = gzip.compress("".join(json.dumps(r) + "\n" for r in completions()).encode())
    truncated = tmp_path / "samples.jsonl.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    refused([*REPLAY, "--samples", truncated, "--output-dir", tmp_path / "runs"], str(truncated), "unreadable")
    assert not (tmp_path / "runs").exists()


def test_a_malformed_line_is_named_by_its_own_number(tmp_path):
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps(completions(1)[0]) + "\n" + '{"task_id": "HumanEval/1", "completion": \n')
    refused([*REPLAY, "--samples", samples, "--output-dir", tmp_path / "runs"], f"{samples}:2: malformed JSON")


def test_an_output_dir_that_is_a_file(tmp_path):
    samples = write_samples(tmp_path / "samples.jsonl", completions())
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    refused([*REPLAY, "--samples", samples, "--output-dir", blocker], str(blocker), "must be a folder")


@pytest.mark.parametrize("option, value, message", [
    ("--limit", 0, "--limit must be at least 1, got 0"),
    ("--n", 0, "--n must be at least 1, got 0"),
    ("--n", -3, "--n must be at least 1, got -3"),
    ("--workers", 0, "--workers must be at least 1, got 0"),
    ("--max-tokens", -1, "--max-tokens must be at least 1"),
    ("--temperature", -0.5, "--temperature must be at least 0"),
    ("--top-p", 0, "--top-p must be in (0, 1]"),
    ("--prompt", "shouting", "has no prompt style 'shouting'"),
    ("--sandbox", "submarine", "unknown sandbox 'submarine'"),
])
def test_numbers_and_names_out_of_range_are_refused_before_a_run_exists(tmp_path, option, value, message):
    samples = write_samples(tmp_path / "samples.jsonl", completions())
    refused([*REPLAY, "--samples", samples, "--output-dir", tmp_path / "runs", option, value], message)
    assert not (tmp_path / "runs").exists()


def test_a_missing_extra_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)  # as if not installed
    refused(["generate", "--task", "humaneval", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
             "--output-dir", tmp_path / "runs"], "pip install 'codeharness[openai]'")
    assert not (tmp_path / "runs").exists()


def test_samples_for_some_problems_only_are_refused_unless_the_task_is_narrowed(tmp_path):
    samples = write_samples(tmp_path / "samples.jsonl", completions(3))
    refused([*REPLAY, "--samples", samples, "--output-dir", tmp_path / "runs"],
            "samples for 3 of the 164 selected problems", "--limit N or --problems")
    assert not (tmp_path / "runs").exists()
    for narrowing in (["--limit", "3"], ["--problems", "HumanEval/0,HumanEval/1,HumanEval/2"]):
        run_dir = tmp_path / f"run{narrowing[0]}"
        result = CliRunner().invoke(app, [*REPLAY, "--samples", str(samples), "--model-name", "tiny-model",
                                          "--run-dir", str(run_dir), *narrowing])
        assert result.exit_code == 0, result.output
        scores = json.loads((run_dir / "scores.json").read_text())
        assert scores["coverage"] == {"task_problems": 164, "problems": 3, "samples": 3,
                                      "samples_per_problem": {"min": 1, "max": 1}, "problems_missing_samples": 0,
                                      "unexecuted_generations": 0, "complete": False}
        assert "scored 3 of the task's 164 problems" in result.output and "partial run" in result.output
        model = json.loads((run_dir / "manifest.json").read_text())["model"]
        assert model["model"] == "tiny-model" and len(model["samples_sha256"]) == 64


def test_a_replayed_file_says_how_many_samples_each_problem_has(tmp_path):
    records = [r for r in completions() for _ in range(3)]  # n = 3, never given on the command line
    samples = write_samples(tmp_path / "samples.jsonl", records)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, [*REPLAY, "--samples", str(samples), "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    coverage = json.loads((run_dir / "scores.json").read_text())["coverage"]
    assert coverage["complete"] and coverage["samples_per_problem"] == {"min": 3, "max": 3}
    assert "pass@3" in json.loads((run_dir / "scores.json").read_text())["pass_at_k"]["base"]


def test_one_writer_per_run_directory(tmp_path):
    samples = write_samples(tmp_path / "samples.jsonl", completions())
    run_dir = tmp_path / "run"
    first = CliRunner().invoke(app, [*REPLAY, "--samples", str(samples), "--run-dir", str(run_dir)])
    assert first.exit_code == 0, first.output
    before = {name: (run_dir / name).read_bytes() for name in ("generations.jsonl", "executions.jsonl")}
    with RunDir(run_dir).writer():  # as a running `codeharness eval` holds it
        for command in (["execute", run_dir], ["score", run_dir],
                        [*REPLAY, "--samples", samples, "--run-dir", run_dir]):
            refused(command, f"{run_dir} is in use by process {os.getpid()}", "one process writes")
    assert {name: (run_dir / name).read_bytes() for name in before} == before
    second = CliRunner().invoke(app, ["score", str(run_dir)])  # released: works again
    assert second.exit_code == 0, second.output


def test_two_evals_at_once_on_one_run_directory(tmp_path):
    """Real processes: exactly one writes; the other says who does and writes nothing."""
    samples = write_samples(tmp_path / "samples.jsonl", [r for r in completions() for _ in range(4)])
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "codeharness", *REPLAY, "--samples", str(samples), "--run-dir", str(run_dir)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "is in use by process" in loser and "Traceback" not in loser
    executions = [json.loads(line) for line in (run_dir / "executions.jsonl").read_text().splitlines()]
    assert len(executions) == len({(e["problem_id"], e["sample_index"]) for e in executions}) == 164 * 4


needs_root_namespaces = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                           reason="mounting a small or read-only folder needs root")


def in_mount_namespace(script: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-ec", script], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


@needs_root_namespaces
def test_a_full_disk_is_one_line_and_a_resume_loses_nothing(tmp_path):
    samples = write_samples(tmp_path / "samples.jsonl", [r for r in completions() for _ in range(4)])
    run = tmp_path / "disk" / "run"
    (tmp_path / "disk").mkdir()
    script = f"""
mount -t tmpfs -o size=160k tmpfs {tmp_path / 'disk'}
set +e
"$PYTHON" -m codeharness {' '.join(REPLAY)} --samples {samples} --run-dir {run} 2> {tmp_path / 'err'}
echo $? > {tmp_path / 'code'}
cp -r {run} {tmp_path / 'kept'}
"""
    done = in_mount_namespace(script, tmp_path)
    assert done.returncode == 0, done.stderr
    error = (tmp_path / "err").read_text()
    assert (tmp_path / "code").read_text().strip() != "0"
    assert "No space left on device" in error and "Traceback" not in error
    assert len([line for line in error.splitlines() if line.startswith("error:")]) == 1
    kept = tmp_path / "kept"
    written = RunDir(kept).generations()  # a torn last line is cut off when the log opens
    assert 0 < len(written) < 164 * 4
    resumed = CliRunner().invoke(app, [*REPLAY, "--samples", str(samples), "--run-dir", str(kept)])
    assert resumed.exit_code == 0, resumed.output
    lines = (kept / "generations.jsonl").read_text().splitlines()
    assert len(lines) == len({(json.loads(x)["problem_id"], json.loads(x)["sample_index"]) for x in lines}) == 656


@needs_root_namespaces
def test_a_read_only_run_directory_is_one_line_and_untouched(tmp_path):
    samples = write_samples(tmp_path / "samples.jsonl", completions())
    (tmp_path / "disk").mkdir()
    run = tmp_path / "disk" / "run"
    script = f"""
mount -t tmpfs tmpfs {tmp_path / 'disk'}
"$PYTHON" -m codeharness generate --task humaneval --backend replay --samples {samples} --run-dir {run}
sha256sum {run}/* > {tmp_path / 'before'}
mount -o remount,ro {tmp_path / 'disk'}
set +e
"$PYTHON" -m codeharness execute {run} --workers 1 2> {tmp_path / 'err'}
echo $? > {tmp_path / 'code'}
sha256sum {run}/* > {tmp_path / 'after'}
"""
    done = in_mount_namespace(script, tmp_path)
    assert done.returncode == 0, done.stderr
    error = (tmp_path / "err").read_text()
    assert (tmp_path / "code").read_text().strip() == "2"
    assert "Read-only file system" in error and "Traceback" not in error, error
    assert (tmp_path / "before").read_text() == (tmp_path / "after").read_text()
