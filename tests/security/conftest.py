"""What both hostile suites share: a loopback server programs try to reach, and a stand-in run
directory they try to read and write."""

import pytest

from tests.security.hostile import LoopbackServer


@pytest.fixture(scope="module")
def server():
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    (run_dir / "generations.jsonl").write_text("{}\n")
    return run_dir
