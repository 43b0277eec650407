"""`--sandbox ray` on a real multi-node Ray cluster of this machine (tests/ray_support.py: a
head and worker nodes, each its own raylet, in a private network namespace):

- CodeGen-16B's HumanEval samples (CodeT's release, replayed) get the same verdicts as in the
  local sandbox, sample by sample (here a subset; `benchmarks/ray_scaling.py --inputs codet`
  compares all 16,400);
- a worker node killed at about 40% of execute costs only its work in flight: the run
  completes with every record once and the same verdicts;
- the driver killed (kill -9) leaves no actor and no sandbox process on any node, and the
  same command resumes the run to the same records; Ctrl-C likewise leaves nothing;
- with the Docker sandbox inside the actors, kill -9 of the driver leaves no container;
- bad input is one line, before anything runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ray_support import (
    PYTHON,
    REPO,
    Namespace,
    RayCluster,
    actor_processes,
    available,
    owner_tokens,
    quiet_env,
    wait_for_lines,
    wait_until,
)

WHY_NOT = available()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")

CODET = "codet/generated_data/HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz"
# 2 problems x 100 samples: 200 programs.
PROBLEMS = "HumanEval/0,HumanEval/2"
SAMPLES = 200
ACTOR = "SandboxActor"


def codeharness(*args: str) -> list[str]:
    return [PYTHON, "-m", "codeharness", *args]


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "executions.jsonl").read_text().splitlines() if line.strip()]


def verdicts(run: Path) -> dict:
    """What a sample's execution decided, without its timings."""
    found = {}
    for record in records(run):
        key = (record["problem_id"], record["sample_index"])
        assert key not in found, f"{key} has two execution records"
        found[key] = (record["status"], json.dumps(record.get("groups"), sort_keys=True),
                      record.get("exception_type"),
                      [(t["name"], t["status"]) for t in record.get("tests", [])])
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory, test_data) -> Path:
    """A generated run: the samples of two problems, replayed; executions still to do."""
    run = tmp_path_factory.mktemp("ray") / "generated"
    subprocess.run(codeharness("generate", "--task", "humaneval", "--backend", "replay",
                               "--samples", str(test_data / CODET), "--n", "100",
                               "--problems", PROBLEMS, "--run-dir", str(run)),
                   check=True, env=quiet_env(), cwd=REPO, capture_output=True)
    return run


@pytest.fixture(scope="module")
def local_verdicts(generated, tmp_path_factory) -> dict:
    run = tmp_path_factory.mktemp("local") / "run"
    shutil.copytree(generated, run)
    subprocess.run(codeharness("execute", str(run), "--workers", "2"), check=True,
                   env=quiet_env(), cwd=REPO, capture_output=True)
    found = verdicts(run)
    assert len(found) == SAMPLES
    return found


@pytest.fixture(scope="module")
def namespace():
    space = Namespace()
    yield space
    space.close()


@pytest.fixture(scope="module")
def cluster(namespace):
    """A head without CPUs and two worker nodes of one CPU each."""
    ray_cluster = RayCluster(namespace, [{"cpus": 1}, {"cpus": 1}])
    yield ray_cluster
    ray_cluster.close()


def copy_of(generated: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(generated, run)
    return run


def execute(namespace, cluster, run: Path, *extra: str) -> subprocess.Popen:
    return namespace.popen(codeharness("execute", str(run), "--sandbox", "ray", *extra),
                           env=cluster.env(), cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)


def nothing_left(namespace, cluster) -> tuple[list, list]:
    """Actors of the sandbox the cluster still counts, and their processes on any node."""
    return cluster.alive_actors(ACTOR), actor_processes(namespace, ACTOR)


def test_verdicts_equal_the_local_sandbox(namespace, cluster, generated, local_verdicts, tmp_path):
    run = copy_of(generated, tmp_path)
    driver = execute(namespace, cluster, run)
    out, err = driver.communicate(timeout=1800)
    assert driver.returncode == 0, err[-3000:]
    assert verdicts(run) == local_verdicts
    described = json.loads((run / "manifest.json").read_text())["sandbox"]
    assert described["sandbox"] == "ray" and described["inner_sandbox"] == "local"
    assert described["actors"] == 2 and described["nodes"] == 2 and described["workers"] == 2
    assert wait_until(lambda: nothing_left(namespace, cluster) == ([], []))


def test_a_node_killed_mid_run_costs_only_its_work_in_flight(namespace, cluster, generated,
                                                              local_verdicts, tmp_path):
    run = copy_of(generated, tmp_path)
    victim = cluster.add(cpus=1)  # a third node, killed at about 40%
    try:
        driver = execute(namespace, cluster, run, "--workers", "3")
        reached = wait_for_lines(run / "executions.jsonl", int(SAMPLES * 0.4), driver)
        assert driver.poll() is None, f"finished before the kill ({reached} records)"
        assert cluster.kill(victim)["killed"] > 0
        out, err = driver.communicate(timeout=1800)
    finally:
        cluster.ask({"actors": []})  # the manager still answers
    assert driver.returncode == 0, err[-3000:]
    assert "lost the actor" in err, err[-3000:]
    assert len(records(run)) == SAMPLES  # each sample once: nothing lost, nothing twice
    assert verdicts(run) == local_verdicts
    assert wait_until(lambda: nothing_left(namespace, cluster) == ([], []))


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_killed_driver_leaves_nothing_and_the_run_resumes(namespace, cluster, generated,
                                                            local_verdicts, tmp_path, how):
    run = copy_of(generated, tmp_path)
    driver = execute(namespace, cluster, run)
    wait_for_lines(run / "executions.jsonl", int(SAMPLES * 0.4), driver)
    assert driver.poll() is None, driver.communicate()[1][-3000:]
    assert actor_processes(namespace, ACTOR), "no actor process to watch"
    os.kill(namespace.inner_pid(driver), how)
    out, err = driver.communicate(timeout=600)
    # nsenter passes on its child's exit code, or dies of the signal that killed it.
    assert driver.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL), err[-3000:]
    if how == signal.SIGINT:
        assert "interrupted" in err and "Traceback" not in err, err[-3000:]
    # Ray removes a dead driver's actors; their sandboxes' workers die with them.
    assert wait_until(lambda: nothing_left(namespace, cluster) == ([], []), timeout_s=180) , \
        nothing_left(namespace, cluster)
    done = len(records(run))
    assert 0 < done < SAMPLES
    again = execute(namespace, cluster, run)
    out, err = again.communicate(timeout=1800)
    assert again.returncode == 0, err[-3000:]
    assert verdicts(run) == local_verdicts  # every sample once, the same verdicts


@pytest.mark.docker
def test_docker_inside_the_actors_leaves_no_container_behind(namespace, cluster, generated, tmp_path):
    from codeharness.sandbox.docker import OWNER_LABEL, connect

    try:
        client = connect()
        from codeharness.sandbox.docker_image import find_image

        find_image(client)
    except Exception as exc:  # noqa: BLE001 - no engine or no image here
        pytest.skip(f"no Docker sandbox here: {exc}")
    cluster.add(cpus=1, resources={"docker": 1})  # a node with a Docker engine
    run = copy_of(generated, tmp_path)
    driver = namespace.popen(
        codeharness("execute", str(run), "--sandbox", "ray", "--ray-inner-sandbox", "docker",
                    "--workers", "1"),
        env=cluster.env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_lines(run / "executions.jsonl", 20, driver)
    assert driver.poll() is None, driver.communicate()[1][-3000:]
    tokens = owner_tokens(actor_processes(namespace, ACTOR))
    assert tokens

    def containers() -> list:
        return [c for token in tokens for c in client.containers.list(
            all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={token}"})]

    assert containers(), "the actor's sandbox has no container to watch"
    os.kill(namespace.inner_pid(driver), signal.SIGKILL)
    driver.communicate(timeout=600)
    assert wait_until(lambda: not containers(), timeout_s=180), containers()
    assert wait_until(lambda: cluster.alive_actors(ACTOR) == [], timeout_s=180)
    assert 20 <= len(records(run)) < SAMPLES


def test_bad_input_is_one_line_before_anything_runs(generated, tmp_path):
    run = copy_of(generated, tmp_path)
    cases = [
        (["--sandbox", "local", "--ray-inner-sandbox", "docker"], "the local sandbox takes no --ray-inner-sandbox"),
        (["--sandbox", "ray", "--ray-inner-sandbox", "nowhere"], "unknown sandbox 'nowhere'"),
        (["--sandbox", "ray", "--ray-actor-cpus", "0"], "--ray-actor-cpus must be at least 1"),
        (["--sandbox", "ray", "--ray-address", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
        (["--sandbox", "ray", "--ray-address", "nowhere"], "--ray-address must be HOST:PORT"),
    ]
    for extra, expected in cases:
        result = subprocess.run(codeharness("execute", str(run), *extra), env=quiet_env(),
                                cwd=REPO, capture_output=True, text=True, timeout=600)
        assert result.returncode == 2, (extra, result.stderr[-2000:])
        assert expected in result.stderr and "Traceback" not in result.stderr, (extra, result.stderr)
        assert result.stderr.strip().count("\n") == 0, result.stderr
    assert not (run / "executions.jsonl").exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
