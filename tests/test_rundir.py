import json

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.rundir import RunDir


def test_torn_last_line_is_dropped_and_rewritten(tmp_path):
    run = RunDir(tmp_path / "run")
    run.open({"a": 1}, {"config": {"a": 1}, "timestamps": {"created": "t"}}, overwrite=False)
    log = run.generations()
    log.append({"problem_id": "p", "sample_index": 0, "x": 1})
    with open(log.path, "ab") as f:
        f.write(b'{"problem_id": "p", "sample_index": 1, "x"')  # killed mid-write
    reopened = run.generations()
    assert reopened.dropped_torn_line
    assert ("p", 0) in reopened and ("p", 1) not in reopened
    reopened.append({"problem_id": "p", "sample_index": 1, "x": 2})
    lines = log.path.read_text().splitlines()
    assert [json.loads(line)["sample_index"] for line in lines] == [0, 1]


def test_duplicate_records_are_refused(tmp_path):
    run = RunDir(tmp_path / "run")
    run.open({}, {"config": {}, "timestamps": {"created": "t"}}, overwrite=False)
    log = run.executions()
    log.append({"problem_id": "p", "sample_index": 0})
    with pytest.raises(HarnessError, match="duplicate"):
        log.append({"problem_id": "p", "sample_index": 0})


def test_a_different_config_is_refused_unless_overwrite(tmp_path):
    run = RunDir(tmp_path / "run")
    run.open({"n": 1}, {"config": {"n": 1}, "timestamps": {"created": "t"}}, overwrite=False)
    run.generations().append({"problem_id": "p", "sample_index": 0})
    with pytest.raises(HarnessError, match="differs in: n"):
        run.open({"n": 2}, {"config": {"n": 2}, "timestamps": {"created": "t"}}, overwrite=False)
    run.open({"n": 2}, {"config": {"n": 2}, "timestamps": {"created": "t"}}, overwrite=True)
    assert len(run.generations()) == 0
    assert run.manifest()["config"] == {"n": 2}


def test_a_middle_line_that_is_not_json_names_file_and_line(tmp_path):
    run = RunDir(tmp_path / "run")
    run.open({}, {"config": {}, "timestamps": {"created": "t"}}, overwrite=False)
    path = run.path / "generations.jsonl"
    path.write_text('{"problem_id": "p", "sample_index": 0}\nnot json\n')
    with pytest.raises(HarnessError, match="generations.jsonl:2"):
        run.generations()


def test_the_same_config_resumes_and_keeps_the_records(tmp_path):
    run = RunDir(tmp_path / "run")
    assert not run.exists()
    run.open({"n": 1}, {"config": {"n": 1}, "timestamps": {"created": "t0"}}, overwrite=False)
    assert run.exists()
    run.generations().append({"problem_id": "p", "sample_index": 0})
    run.open({"n": 1}, {"config": {"n": 1}, "timestamps": {"created": "t1"}}, overwrite=False)
    manifest = run.manifest()
    assert manifest["timestamps"] == {"created": "t0", "resumed_at": "t1"}
    log = run.generations()
    assert len(log) == 1 and ("p", 0) in log and not log.dropped_torn_line
    assert list(log) == [{"problem_id": "p", "sample_index": 0}]
    # --overwrite with the same config resumes too: nothing is lost.
    run.open({"n": 1}, {"config": {"n": 1}, "timestamps": {"created": "t2"}}, overwrite=True)
    assert len(run.generations()) == 1


def test_a_different_config_names_every_changed_key(tmp_path):
    run = RunDir(tmp_path / "run")
    run.open({"a": 1, "b": 2, "d": 5}, {"config": {"a": 1, "b": 2, "d": 5}, "timestamps": {"created": "t"}},
             overwrite=False)
    with pytest.raises(HarnessError, match=r"differs in: a, c, d\)"):
        run.open({"a": 3, "b": 2, "c": 4}, {"config": {}, "timestamps": {"created": "t"}}, overwrite=False)


def test_logs_and_manifests_that_are_missing_or_broken(tmp_path):
    run = RunDir(tmp_path / "run")
    with pytest.raises(HarnessError, match="not a run directory"):
        run.manifest()
    assert list(run.generations()) == [] and len(run.generations()) == 0
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text("{")
    with pytest.raises(HarnessError, match="malformed JSON"):
        run.manifest()
    # A torn first line leaves an empty log.
    path = tmp_path / "run" / "generations.jsonl"
    path.write_bytes(b'{"problem_id": "p"')
    log = run.generations()
    assert log.dropped_torn_line and len(log) == 0 and path.read_bytes() == b""
    with pytest.raises(HarnessError, match="generations.jsonl:1"):
        path.write_text("not json\n")
        run.generations()


def test_scores_are_written_whole(tmp_path):
    run = RunDir(tmp_path / "run")
    run.open({}, {"config": {}, "timestamps": {"created": "t"}}, overwrite=False)
    run.write_scores({"pass_at_k": {"é": 1}})
    assert run.scores() == {"pass_at_k": {"é": 1}}
    assert (run.path / "scores.json").read_text(encoding="utf-8") == '{\n  "pass_at_k": {\n    "é": 1\n  }\n}\n'
    assert sorted(p.name for p in run.path.iterdir() if p.name.endswith(".tmp")) == []


def test_logs_are_created_readable_not_executable(tmp_path):
    import os
    import stat

    run = RunDir(tmp_path / "run")
    run.open({}, {"config": {}, "timestamps": {"created": "t"}}, overwrite=False)
    run.executions().append({"problem_id": "p", "sample_index": 0})
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(os.stat(run.path / "executions.jsonl").st_mode)
    assert mode == 0o644 & ~umask


def test_a_run_directory_in_new_folders_keeps_text_readable(tmp_path):
    run = RunDir(tmp_path / "results" / "task" / "run")
    run.open({}, {"config": {}, "timestamps": {"created": "t"}}, overwrite=False)
    run.generations().append({"problem_id": "p", "sample_index": 0, "completion": "é ✓"})
    assert (run.path / "generations.jsonl").read_text(encoding="utf-8") == (
        '{"problem_id": "p", "sample_index": 0, "completion": "é ✓"}\n')
