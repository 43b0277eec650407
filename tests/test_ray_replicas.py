"""Generation through the Ray-replicated backend (`--ray-replicas`) on a real multi-node Ray
cluster of this machine (tests/ray_support.py: a head and two worker nodes, each its own
raylet, in a private network namespace): two copies of the hf backend on the embedded SmolLM2
checkpoint, one per worker node, give the greedy completions of one local hf backend, and the
driver alone writes the run directory.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.ray_support import PYTHON, REPO, Namespace, RayCluster, available, quiet_env, wait_until

WHY_NOT = available()
pytestmark = [pytest.mark.real_model,
              pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")]

# A handful of HumanEval problems, greedy (the default temperature), few tokens: cheap on CPUs.
GENERATE = ["generate", "--task", "humaneval", "--backend", "hf", "--limit", "4",
            "--max-tokens", "32"]
REPLICA = "BackendReplica"


def codeharness(*args: str) -> list[str]:
    return [PYTHON, "-m", "codeharness", *args]


def completions(run: Path) -> dict:
    """Each sample's completion as the model wrote it, by its stable id; each sample once."""
    found = {}
    for line in (run / "generations.jsonl").read_text().splitlines():
        record = json.loads(line)
        key = (record["problem_id"], record["sample_index"])
        assert key not in found, f"{key} has two generation records"
        found[key] = (record["completion"], record["finish_reason"], record["completion_tokens"],
                      record["prompt"])
    return found


def test_two_replicas_give_the_greedy_completions_of_one_local_backend(tmp_path):
    local = tmp_path / "local"
    result = subprocess.run(codeharness(*GENERATE, "--run-dir", str(local)), env=quiet_env(),
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]

    replicated = tmp_path / "replicated"
    namespace = Namespace()
    try:
        cluster = RayCluster(namespace, [{"cpus": 1}, {"cpus": 1}])
        try:
            result = namespace.run(
                codeharness(*GENERATE, "--ray-replicas", "2", "--run-dir", str(replicated)),
                env=cluster.env(), cwd=REPO, capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, result.stderr[-3000:]
            # The run's end closed the replicas: none is left on the cluster.
            assert wait_until(lambda: cluster.alive_actors(REPLICA) == [])
        finally:
            cluster.close()
    finally:
        namespace.close()

    assert len(completions(local)) == 4
    assert completions(replicated) == completions(local)
    model = json.loads((replicated / "manifest.json").read_text())["model"]
    assert model["backend"] == "hf"
    spread = model["ray_replicas"]
    assert spread["replicas"] == 2 and spread["nodes"] == 2  # generated on both worker nodes
    # The replicas know nothing of the run directory: the driver wrote it, exactly the files
    # a local run writes.
    assert sorted(p.name for p in replicated.iterdir()) == sorted(p.name for p in local.iterdir())
