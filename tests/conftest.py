from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def test_data() -> Path:
    """tests/data: the real benchmark files tests read (origins and licences in its
    README.md), each checked against tests/data/SHA256SUMS first."""
    from tests.data_manifest import TEST_DATA, manifest_problems

    problems = manifest_problems()
    assert not problems, "tests/data does not match its manifest:\n" + "\n".join(problems)
    return TEST_DATA


@pytest.fixture(scope="session")
def local_sandbox():
    from codeharness.sandbox.local import LocalSandbox

    with LocalSandbox(workers=2) as box:
        yield box


@pytest.fixture(scope="session")
def docker_sandbox():
    """The Docker sandbox on the image `codeharness sandbox build --offline` made (tests/run.sh)."""
    from codeharness.sandbox.docker import DockerSandbox

    with DockerSandbox(workers=2) as box:
        yield box
