"""A real multi-node Ray cluster on this machine, for the tests of the ray sandbox and the
Ray-replicated backends (tests/test_ray*.py) and benchmarks/ray_scaling.py.

Everything runs in a private network and PID namespace (root only: CI runs as root): Ray
would otherwise pick this machine's outward address, and the namespace keeps every Ray
socket on 127.0.0.1. Its first process holds it; when the holder ends (the test is done,
or pytest died and closed its pipe) the kernel kills every process in it, so no raylet,
actor or sandbox worker outlives a test.

In the namespace, a manager process (this file, run as a script) owns a
`ray.cluster_utils.Cluster`: a head node without CPUs (actors go to worker nodes) and worker
nodes, each a raylet of its own, added and killed on command; drivers (`codeharness ...`)
run in the namespace too, through nsenter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# The namespace's first process: loopback up, reap orphans, end when stdin closes.
HOLDER = r"""
import os, subprocess, sys, threading
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
def reap():
    while True:
        try:
            os.wait()
        except ChildProcessError:
            threading.Event().wait(0.2)
threading.Thread(target=reap, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"""


def available() -> str | None:
    """Why the cluster cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (private network and PID namespaces)"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    try:
        import ray  # noqa: F401
    except ModuleNotFoundError:
        return "ray is not installed (pip install 'codeharness[ray]')"
    return None


class Namespace:
    """A private network + PID namespace with loopback up; commands run inside it."""

    def __init__(self):
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", PYTHON, "-c", HOLDER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.holder.stdout.readline().strip() != "ready":
            raise RuntimeError("the namespace did not start")
        import psutil

        self.init_pid = psutil.Process(self.holder.pid).children()[0].pid  # pid 1 inside

    def command(self, argv: list[str]) -> list[str]:
        return ["nsenter", f"--target={self.init_pid}", "--net", "--pid", "--mount", "--", *argv]

    def popen(self, argv: list[str], **options) -> subprocess.Popen:
        return subprocess.Popen(self.command(argv), **options)

    def run(self, argv: list[str], **options) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(argv), **options)

    @staticmethod
    def inner_pid(process: subprocess.Popen) -> int:
        """The host pid of the command nsenter started (nsenter forks into the PID namespace)."""
        import psutil

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            children = psutil.Process(process.pid).children()
            if children:
                return children[0].pid
            time.sleep(0.05)
        raise RuntimeError("nsenter started nothing")

    def processes(self) -> list:
        """Every process in the namespace but its holder, as psutil processes. Found by their
        PID namespace, not as the holder's descendants: a command nsenter starts is a child of
        nsenter, outside the namespace, and so is everything it starts (raylets, actors)."""
        import psutil

        try:
            mine = os.readlink(f"/proc/{self.init_pid}/ns/pid")
        except OSError:  # the holder is gone, and the namespace with it
            return []
        found = []
        for process in psutil.process_iter():
            try:
                if process.pid != self.init_pid and os.readlink(f"/proc/{process.pid}/ns/pid") == mine:
                    found.append(process)
            except OSError:  # gone meanwhile
                continue
        return found

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.stdin.close()
            try:
                self.holder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait()


class RayCluster:
    """A head without CPUs and worker nodes, in a Namespace, through the manager below."""

    def __init__(self, namespace: Namespace, nodes: list[dict]):
        self.namespace = namespace
        self.manager = namespace.popen([PYTHON, str(Path(__file__).resolve()), "manage"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                       cwd=str(REPO), env=quiet_env())
        self.address = self.ask({"start": True})["address"]
        self.nodes = [self.add(**node) for node in nodes]

    def ask(self, command: dict) -> dict:
        self.manager.stdin.write(json.dumps(command) + "\n")
        self.manager.stdin.flush()
        line = self.manager.stdout.readline()
        if not line:
            raise RuntimeError(f"the cluster manager died on {command}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def add(self, cpus: int = 1, resources: dict | None = None) -> int:
        return self.ask({"add": {"num_cpus": cpus, "resources": resources or {}}})["node"]

    def kill(self, node: int) -> dict:
        """Kill a worker node as a machine loss would: SIGKILL to its raylet, everything the
        raylet started (its actors' processes) and the node's other processes."""
        return self.ask({"kill": node})

    def alive_actors(self, *class_names: str) -> list[dict]:
        return self.ask({"actors": list(class_names)})["actors"]

    def env(self, **extra: str) -> dict:
        return quiet_env(RAY_ADDRESS=self.address, **extra)

    def close(self) -> None:
        try:
            if self.manager.poll() is None:
                self.ask({"quit": True})
                self.manager.wait(timeout=60)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self.manager.kill()


def quiet_env(**extra: str) -> dict:
    return {**os.environ, "CODEHARNESS_PROGRESS": "0", "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1", **extra}


def actor_processes(namespace: Namespace, *class_names: str) -> list:
    """The namespace's processes that are Ray actors of these classes (Ray titles them
    `ray::Class` or `ray::Class.method`), and the sandbox workers they start."""
    found = []
    for process in namespace.processes():
        try:
            title = " ".join(process.cmdline())
        except Exception:  # noqa: BLE001 - gone meanwhile
            continue
        if any(f"ray::{name}" in title for name in class_names) or "sandbox/worker.py" in title:
            found.append(process)
    return found


def owner_tokens(processes: list) -> list[str]:
    """The Docker sandbox's owner labels of these processes, as they see themselves (their
    pid inside the namespace): codeharness.sandbox.docker.owner_token."""
    import socket

    tokens = []
    for process in processes:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            inner = next(line.split()[-1] for line in status.splitlines() if line.startswith("NSpid:"))
            start = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        except (OSError, StopIteration):
            continue
        tokens.append(f"{socket.gethostname()}:{inner}:{start}")
    return tokens


def wait_for_lines(path: Path, count: int, process: subprocess.Popen, timeout_s: float = 1800) -> int:
    """Wait until the file has `count` lines (or the process ended); how many it has."""
    deadline = time.monotonic() + timeout_s
    lines = 0
    while time.monotonic() < deadline:
        lines = sum(1 for _ in path.open()) if path.exists() else 0
        if lines >= count or process.poll() is not None:
            return lines
        time.sleep(0.2)
    return lines


def wait_until(predicate, timeout_s: float = 120.0, step_s: float = 0.5):
    """Poll until predicate() is truthy (its value) or the time is up (its last value)."""
    deadline = time.monotonic() + timeout_s
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step_s)
        value = predicate()
    return value


# ----------------------------------------------------------------- the manager, in the namespace


def manage() -> None:
    import logging

    import psutil
    import ray
    from ray._private.state import state
    from ray.cluster_utils import Cluster

    replies = os.fdopen(os.dup(1), "w")  # Ray prints to stdout too: it goes to stderr
    os.dup2(2, 1)
    cluster = None
    nodes: list = []
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if "start" in command:
                cluster = Cluster(initialize_head=True, connect=False, head_node_args={
                    "num_cpus": 0, "include_dashboard": False})
                ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
                answer: dict = {"address": cluster.address}
            elif "add" in command:
                nodes.append(cluster.add_node(**command["add"]))
                cluster.wait_for_nodes()
                answer = {"node": len(nodes) - 1, "node_id": nodes[-1].node_id}
            elif "kill" in command:
                node = nodes[command["kill"]]
                family = []
                for info in (p for processes in node.all_processes.values() for p in processes):
                    try:
                        root = psutil.Process(info.process.pid)
                        family += [root, *root.children(recursive=True)]
                    except psutil.NoSuchProcess:
                        pass
                for process in family:
                    try:
                        process.send_signal(signal.SIGKILL)
                    except psutil.NoSuchProcess:
                        pass
                cluster.remove_node(node, allow_graceful=False)
                answer = {"killed": len(family)}
            elif "actors" in command:
                wanted = set(command["actors"])
                answer = {"actors": [
                    {"class": a["ActorClassName"], "state": a["State"], "id": a["ActorID"]}
                    for a in state.actor_table(None).values()
                    if a["State"] != "DEAD" and (not wanted or a["ActorClassName"] in wanted)]}
            elif "quit" in command:
                ray.shutdown()
                cluster.shutdown()
                print(json.dumps({"quit": True}), file=replies, flush=True)
                return
            else:
                answer = {"error": f"unknown command {command}"}
        except Exception as exc:  # noqa: BLE001 - the test sees it
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), file=replies, flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["manage"]:
    manage()
