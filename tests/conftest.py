from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} is missing: tests read the real benchmark files there"
    return SHARED_DATA


@pytest.fixture(scope="session")
def local_sandbox():
    from sandbox.local import LocalSandbox

    with LocalSandbox(workers=2) as box:
        yield box


@pytest.fixture(scope="session")
def docker_sandbox():
    """The Docker sandbox on the image `codeharness sandbox build --offline` made (tests/run.sh)."""
    from sandbox.docker import DockerSandbox

    with DockerSandbox(workers=2) as box:
        yield box
