"""The Docker sandbox on the real engine: verdicts equal the local sandbox's, containers are
locked down, replaced when they must be, and never left behind."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from codeharness.cli.main import app
from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.sandbox.docker import (
    OWNER_LABEL,
    POOL_LABEL,
    SANDBOX_LABEL,
    DockerSandbox,
    connect,
)
from codeharness.sandbox.docker_image import (
    RECIPE_VERSION,
    WORKER_SCRIPT,
    build_image,
    image_tag,
)
from codeharness.sandbox.jobs import Job
from codeharness.sandbox.jobs import TestCase as Case
from codeharness.tasks import create_task
from typer.testing import CliRunner

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[1]

CONTAINER_ID = "__result__ = open('/proc/self/cgroup').read().split('/docker/')[1][:12]"


def containers_of(pool_id: str) -> list:
    return connect().containers.list(all=True, sparse=True,
                                     filters={"label": f"{POOL_LABEL}={pool_id}"})


def id_job(job_id: str, **options) -> Job:
    return Job(job_id, "", [Case("id", CONTAINER_ID)], **options)


def test_verdicts_equal_the_local_sandbox(docker_sandbox, local_sandbox):
    task = create_task("humaneval")
    jobs = []
    for problem in task.load()[:12]:
        canonical = task.canonical_program(problem)
        jobs.append(task.build_job(problem, canonical, f"{problem.id}/right"))
        jobs.append(task.build_job(problem, problem.prompt + "    return None\n", f"{problem.id}/wrong"))
    jobs.append(Job("syntax", "def f(:\n", [Case("t", "pass")]))
    jobs.append(Job("raises", "def f(): return {}['x']\n", [Case("t", "f()")]))
    jobs.append(Job("numpy", "import numpy as np\n", [Case("t", "assert np.arange(4).sum() == 6")]))
    # Set order follows string hashes: the same seed in containers as in local workers.
    jobs.append(Job("hash", "value = hash('codeharness')", [Case("t", "__result__ = value")]))
    docker_outcomes, local_outcomes = list(docker_sandbox.run(jobs)), list(local_sandbox.run(jobs))
    docker = {o.job_id: o.verdict for o in docker_outcomes}
    local = {o.job_id: o.verdict for o in local_outcomes}
    assert docker == local
    hashes = {o.tests[0].value for o in docker_outcomes + local_outcomes if o.job_id == "hash"}
    assert len(hashes) == 1 and None not in hashes
    assert {docker[j.id] for j in jobs if j.id.endswith("/right")} == {Status.PASSED}
    assert Status.PASSED not in {docker[j.id] for j in jobs if j.id.endswith("/wrong")}
    assert (docker["syntax"], docker["raises"], docker["numpy"]) == (
        Status.SYNTAX_ERROR, Status.ERROR, Status.PASSED)


def test_containers_are_locked_down(docker_sandbox):
    inside = """
import os, socket
status = dict(line.split(':', 1) for line in open('/proc/self/status'))
writable = [d for d in ('/', '/etc', '/usr', '/var/tmp', '/opt/codeharness', '/home', '/tmp')
            if os.access(d, os.W_OK)]
"""
    checks = ("assert os.getuid() != 0 and os.getgid() != 0",
              "assert int(status['CapEff'], 16) == 0 and int(status['CapBnd'], 16) == 0",
              "assert status['NoNewPrivs'].strip() == '1'",
              "assert writable == ['/tmp'], writable",
              "assert [name for _, name in socket.if_nameindex()] == ['lo']",
              "assert not os.path.exists('/dev/shm')")
    job = Job("inside", inside, [Case(f"check{i}", code) for i, code in enumerate(checks)],
              fail_fast=False)
    [outcome] = docker_sandbox.run([job])
    assert [t.status for t in outcome.tests] == [Status.PASSED] * len(checks), outcome.tests

    container = connect().containers.get(containers_of(docker_sandbox.pool_id)[0].id)
    host = container.attrs["HostConfig"]
    assert host["NetworkMode"] == "none" and host["IpcMode"] == "none"
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == docker_sandbox.pids_limit
    assert host["Memory"] == host["MemorySwap"] == docker_sandbox.memory_mb << 20
    assert host["NanoCpus"] == int(docker_sandbox.cpus * 1e9)
    assert list(host["Tmpfs"]) == ["/tmp"] and f"size={docker_sandbox.tmpfs_mb}m" in host["Tmpfs"]["/tmp"]
    assert container.attrs["Mounts"] == []
    assert container.labels[SANDBOX_LABEL] == "docker"
    assert not container.attrs["Config"]["User"].startswith("0")


def test_image_tag_records_the_recipe(docker_sandbox):
    assert docker_sandbox.image == image_tag("offline")
    assert docker_sandbox.image.startswith(f"codeharness-sandbox:offline-r{RECIPE_VERSION}-")
    labels = connect().images.get(docker_sandbox.image).labels
    assert labels["codeharness.recipe"] == f"offline-r{RECIPE_VERSION}"


def test_rebuilding_offline_reuses_the_base_and_keeps_the_tag(docker_sandbox):
    lines = []
    assert build_image(connect(), offline=True, log=lines.append) == docker_sandbox.image
    assert any("exists" in line for line in lines)


def test_a_changed_worker_is_layered_on_the_offline_base(tmp_path, monkeypatch):
    changed = tmp_path / "worker.py"
    changed.write_text(WORKER_SCRIPT.read_text() + "\n# changed\n")
    monkeypatch.setattr("codeharness.sandbox.docker_image.WORKER_SCRIPT", changed)
    with DockerSandbox(workers=1) as box:
        assert box.image == image_tag("offline")
        assert next(iter(box.run([id_job("changed")]))).verdict is Status.PASSED
    connect().images.remove(box.image)


def test_container_is_replaced_every_m_jobs():
    with DockerSandbox(workers=1, max_jobs_per_container=3) as box:
        ids = [o.tests[0].value for o in box.run([id_job(f"j{i}") for i in range(7)])]
        assert len(set(ids)) == 3 and ids[0] == ids[2] != ids[3] == ids[5] != ids[6]
        assert len(containers_of(box.pool_id)) == 1


def test_container_is_replaced_after_an_out_of_memory_kill():
    # The container's memory limit is below the job's own limit: the kernel's OOM killer acts.
    bomb = Job("bomb", "data = b'x' * (600 << 20)\n", [Case("t", "pass")], memory_mb=2048)
    with DockerSandbox(workers=1, memory_mb=256) as box:
        [before, oom, after] = [next(iter(box.run([job])))
                                for job in (id_job("before"), bomb, id_job("after"))]
        assert oom.verdict is Status.OUT_OF_MEMORY
        assert after.verdict is Status.PASSED and after.tests[0].value != before.tests[0].value


def test_ctrl_c_tears_the_pool_down():
    box = DockerSandbox(workers=2)
    jobs = [Job(f"j{i}", "import time; time.sleep(0.2)", [Case("t", "pass")]) for i in range(6)]
    with pytest.raises(KeyboardInterrupt):
        with box:
            for _ in box.run(jobs):
                assert len(containers_of(box.pool_id)) == 2
                raise KeyboardInterrupt
    assert containers_of(box.pool_id) == []


def test_a_killed_harness_leaves_no_container(tmp_path):
    script = ("from sandbox.docker import DockerSandbox\n"
              "from sandbox.jobs import Job, TestCase\n"
              "box = DockerSandbox(workers=2)\n"
              "list(box.run([Job(str(i), '', [TestCase('t', 'pass')]) for i in range(4)]))\n"
              "print(box.pool_id, flush=True)\n"
              "input()\n")
    harness = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=REPO)
    pool_id = harness.stdout.readline().strip()
    assert len(containers_of(pool_id)) == 2
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    deadline = time.monotonic() + 20
    while containers_of(pool_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers_of(pool_id) == []


def test_cleanup_removes_containers_of_dead_runs_only(docker_sandbox):
    list(docker_sandbox.run([id_job("warm")]))
    live = {c.id for c in containers_of(docker_sandbox.pool_id)}
    dead_owner = f"{socket.gethostname()}:{2**22 + 1}:0"  # above any pid this kernel hands out
    leftover = connect().containers.create(docker_sandbox.image, labels={
        SANDBOX_LABEL: "docker", OWNER_LABEL: dead_owner, POOL_LABEL: "dead"})
    result = CliRunner().invoke(app, ["sandbox", "cleanup"])
    assert result.exit_code == 0, result.output
    assert leftover.name in result.output
    assert containers_of("dead") == []
    assert {c.id for c in containers_of(docker_sandbox.pool_id)} == live
    assert next(iter(docker_sandbox.run([id_job("still works")]))).verdict is Status.PASSED


def test_missing_image_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("codeharness.sandbox.docker_image.RECIPE_VERSION", RECIPE_VERSION + 1000)
    with pytest.raises(HarnessError, match="sandbox build --offline"):
        DockerSandbox(workers=1)


def test_eval_runs_in_the_docker_sandbox(tmp_path):
    problems = create_task("humaneval").load()[:3]
    samples = tmp_path / "samples.jsonl"
    with samples.open("w") as f:
        for problem in problems:
            body = problem.canonical_solution[len(problem.prompt):]
            for completion in (body, "    return None\n"):
                f.write(json.dumps({"task_id": problem.id, "completion": completion}) + "\n")
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "eval", "--task", "humaneval", "--backend", "replay", "--samples", str(samples),
        "--n", "2", "--limit", "3", "--sandbox", "docker", "--workers", "2",
        "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    scores = json.loads((run_dir / "scores.json").read_text())
    assert scores["pass_at_k"]["base"]["pass@1"]["value"] == pytest.approx(0.5)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["sandbox"]["sandbox"] == "docker"
    assert manifest["sandbox"]["image"] == image_tag("offline")


def test_registry_recipe_builds_or_points_to_offline():
    """Where a registry answers, the Dockerfile recipe builds a working image; where none does
    (this project's machines), the error says to use --offline."""
    result = CliRunner().invoke(app, ["sandbox", "build"])
    if result.exit_code != 0:
        assert "--offline" in result.output
        return
    with DockerSandbox(workers=1, image=image_tag("registry")) as box:
        assert next(iter(box.run([id_job("registry")]))).verdict is Status.PASSED
