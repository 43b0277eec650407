import json

import pytest

from harness.errors import HarnessError
from harness.rundir import RunDir


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
