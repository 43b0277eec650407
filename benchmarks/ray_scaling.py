"""Execution throughput of the `ray` sandbox on a multi-node Ray cluster of this machine against
the local sandbox with the same total workers, in the same run; and the per-call overhead of
the Ray path.

The cluster (tests/ray_support.py; root only): a head without CPUs and 1, 2 or 4 worker nodes,
each a raylet of its own, sharing --workers CPUs equally (one actor of one worker per CPU), in
a private network namespace that keeps every Ray socket on 127.0.0.1. Each measurement runs
as a driver process of its own in that namespace (the local sandbox's too, for the same
conditions), timed from opening the sandbox (actors and their sandboxes' workers starting) to
its last outcome, and its run alone, after the sandbox opened. Verdicts are compared sample by
sample with the local sandbox's. Target: the Ray path's run, with the same total workers, at
least 0.9x the local sandbox's throughput.

Per-call overhead: --calls trivial jobs (`pass`, no test), one job per call, through one actor
of one worker, against the local sandbox with one worker on the same jobs: the wall time each
call adds, and the driver's CPU time per call. Each run also shows the driver's CPU time per
program (less what its threads spend while idle, measured for IDLE_S after the sandbox
opened), which bounds what one driver can feed; with one actor per node holding all its CPUs
(`--ray-actor-cpus`, the "1 actor/node" rows) outcomes come back more per Ray object. From
these and the local sandbox's rate per core the script projects what a cluster of
--project-nodes nodes of --project-cores cores would reach, with calls of BATCH programs
(problems with at least BATCH samples: n=100 and more). Calls carry one problem's samples, so
on the canonical input (5 samples a problem) they are smaller and the driver's CPU per
program is higher than on the CodeT input (100 a problem).

Inputs: HumanEval's canonical solutions x 5 (820 programs), or the 16,400 CodeGen-16B
HumanEval completions CodeT released (tests/data/codet, as benchmarks/exec_throughput.py).

    python benchmarks/ray_scaling.py [--inputs canonical|codet] [--workers N] [--nodes 1,2,4]
        [--limit N] [--calls N] [--project-nodes 10] [--project-cores 32]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.exec_throughput import CANONICAL_COPIES, CODET_DIR, codet_inputs  # noqa: E402
from tests.ray_support import PYTHON, Namespace, RayCluster, available, quiet_env  # noqa: E402

TARGET_RATIO = 0.9
NODES = "1,2,4"
WORKERS = 4  # in total: 4 nodes of one CPU at most
OVERHEAD_CALLS = 400
IDLE_S = 2.0  # the driver left idle after opening the sandbox, to measure its idle CPU
BATCH = 16  # samples per call per worker: the ray sandbox's default (BATCH_PER_WORKER)


def programs(inputs: str, limit: int | None) -> list[tuple[str, str]]:
    """(problem id, complete program) pairs, in a fixed order."""
    from codeharness.tasks.humaneval import HumanEval

    problems = {p.id: p for p in HumanEval().load()}
    if inputs == "canonical":
        pairs = [(p.id, p.canonical_solution or "") for _ in range(CANONICAL_COPIES)
                 for p in problems.values()]
    elif inputs == "codet":
        pairs = [(s.task_id, problems[s.task_id].prompt + s.completion) for s in codet_inputs(CODET_DIR)]
    else:
        sys.exit(f"--inputs must be canonical or codet, got {inputs!r}")
    return pairs[:limit]


# ---------------------------------------------------------------- one driver, in the namespace


def measure(spec: dict) -> dict:
    """Open the sandbox the spec names, run its jobs, and time both; the verdicts."""
    from codeharness.sandbox import open_sandbox
    from codeharness.sandbox.jobs import Job
    from codeharness.tasks.humaneval import HumanEval

    if spec["jobs"] == "trivial":
        jobs = [Job(str(i), "pass", []) for i in range(spec["count"])]
        judge = None
    else:
        task = HumanEval()
        problems = {p.id: p for p in task.load()}
        pairs = json.loads(Path(spec["jobs"]).read_text())
        jobs = [task.build_job(problems[pid], program, str(i)) for i, (pid, program) in enumerate(pairs)]

        def judge(i: int, outcome) -> bool:
            return task.judge(problems[pairs[i][0]], outcome).status.value == "passed"

    options = spec.get("options", {})
    started = time.perf_counter()
    with open_sandbox(spec["sandbox"], workers=spec["workers"], **options) as box:
        opened = time.perf_counter()
        cpu = time.process_time()
        time.sleep(IDLE_S)  # what the driver's threads (Ray's among them) spend doing nothing
        idle_cpu_s = time.process_time() - cpu
        cpu = time.process_time()
        ran = time.perf_counter()
        outcomes = {int(o.job_id): o for o in box.run(jobs)}
        finished = time.perf_counter()
        driver_cpu_s = time.process_time() - cpu - idle_cpu_s / IDLE_S * (finished - ran)
        nodes = box.describe().get("nodes")
    return {"open_s": opened - started, "run_s": finished - ran, "driver_cpu_s": driver_cpu_s,
            "idle_cpu_share": idle_cpu_s / IDLE_S, "nodes": nodes, "count": len(outcomes),
            "passed": [judge(i, outcomes[i]) for i in range(len(jobs))] if judge else []}


def in_namespace(namespace: Namespace, spec: dict, env: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(spec, file)
    result = namespace.run([PYTHON, __file__, "--measure", file.name], env=env, cwd=str(REPO),
                           capture_output=True, text=True)
    Path(file.name).unlink()
    if result.returncode != 0:
        sys.exit(f"the {spec['sandbox']} measurement failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", default="canonical", help="canonical (820 programs) or codet (16,400)")
    parser.add_argument("--workers", type=int, default=WORKERS, help="in total, for every sandbox")
    parser.add_argument("--nodes", default=NODES, help="worker node counts to measure")
    parser.add_argument("--limit", type=int, help="only the first N programs")
    parser.add_argument("--calls", type=int, default=OVERHEAD_CALLS, help="trivial calls timed for the overhead")
    parser.add_argument("--project-nodes", type=int, default=10)
    parser.add_argument("--project-cores", type=int, default=32)
    parser.add_argument("--measure", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # one driver's measurement (see in_namespace)
        print(json.dumps(measure(json.loads(Path(args.measure).read_text()))))
        return
    why_not = available()
    if why_not:
        sys.exit(f"the Ray cluster of this machine cannot run here: {why_not}")
    node_counts = [int(n) for n in args.nodes.split(",")]
    if args.workers < 1 or any(n < 1 or args.workers % n for n in node_counts):
        sys.exit(f"--workers ({args.workers}) must be a positive multiple of every --nodes count "
                 f"({args.nodes}): each node gets an equal share")
    pairs = programs(args.inputs, args.limit)
    with tempfile.TemporaryDirectory() as folder:
        jobs = Path(folder) / "jobs.json"
        jobs.write_text(json.dumps(pairs))
        namespace = Namespace()
        try:
            results = run_all(namespace, args, node_counts, str(jobs))
        finally:
            namespace.close()
    report(args, pairs, results)


def run_all(namespace: Namespace, args, node_counts: list[int], jobs: str) -> dict:
    results = {"local": in_namespace(namespace, {"sandbox": "local", "workers": args.workers,
                                                 "jobs": jobs}, quiet_env())}
    trivial = {"jobs": "trivial", "count": args.calls, "workers": 1}
    results["local overhead"] = in_namespace(namespace, {**trivial, "sandbox": "local"}, quiet_env())
    for count in node_counts:
        cluster = RayCluster(namespace, [{"cpus": args.workers // count}] * count)
        try:
            ray = {"sandbox": "ray", "workers": args.workers, "jobs": jobs}
            results[f"ray {count} node(s)"] = in_namespace(namespace, ray, cluster.env())
            if args.workers // count > 1:  # and one actor per node, with all its CPUs
                results[f"ray {count}, 1 actor/node"] = in_namespace(
                    namespace, {**ray, "options": {"ray_actor_cpus": args.workers // count}},
                    cluster.env())
            if count == node_counts[0]:
                results["ray overhead"] = in_namespace(
                    namespace, {**trivial, "sandbox": "ray", "options": {"batch": 1}}, cluster.env())
        finally:
            cluster.close()
    return results


def report(args, pairs: list, results: dict) -> None:
    local = results["local"]
    print(f"{args.inputs}: {len(pairs)} programs, {args.workers} workers in total "
          f"(one per CPU of the Ray nodes); target: the Ray run >= {TARGET_RATIO:g}x local")
    print(f"{'sandbox':20s} {'nodes':>5s} {'open s':>7s} {'run s':>7s} {'programs/s':>11s} "
          f"{'x local':>8s} {'with open':>10s} {'driver CPU/program':>19s} {'idle CPU':>9s} "
          f"{'differ':>7s}")
    for name, result in results.items():
        if "overhead" in name:
            continue
        rate = len(pairs) / result["run_s"]
        ratio = local["run_s"] / result["run_s"]
        with_open = (local["open_s"] + local["run_s"]) / (result["open_s"] + result["run_s"])
        differ = sum(a != b for a, b in zip(result["passed"], local["passed"]))
        print(f"{name:20s} {result['nodes'] or '-':>5} {result['open_s']:7.2f} {result['run_s']:7.2f} "
              f"{rate:11.1f} {ratio:8.2f} {with_open:10.2f} "
              f"{1e3 * result['driver_cpu_s'] / len(pairs):16.2f} ms "
              f"{100 * result['idle_cpu_share']:8.1f}% {differ:7d}")
    calls = args.calls
    local_job = results["local overhead"]["run_s"] / calls
    ray_call = results["ray overhead"]["run_s"] / calls
    overhead = ray_call - local_job
    driver_per_call = results["ray overhead"]["driver_cpu_s"] / calls
    print(f"per call ({calls} trivial jobs, one per call, one worker): local {1e3 * local_job:.2f} ms "
          f"a job, ray {1e3 * ray_call:.2f} ms a call: overhead {1e3 * overhead:.2f} ms a call, "
          f"driver CPU {1e3 * driver_per_call:.2f} ms a call")
    project(args, pairs, results, overhead)


def project(args, pairs: list, results: dict, overhead: float) -> None:
    """On paper: nodes x cores workers at this machine's local rate per core, each call of
    BATCH programs (a problem with at least that many samples) costing the measured per-call
    overhead, and at most what one driver feeds at the least driver CPU per program measured
    (actors of several workers return more outcomes per Ray object, so the driver's share
    falls as nodes get more cores: the figure is a floor)."""
    local = results["local"]
    # A core's seconds a program: this machine may have fewer cores than --workers.
    per_program = local["run_s"] * min(args.workers, os.cpu_count() or 1) / len(pairs)
    workers = args.project_nodes * args.project_cores  # a worker per core
    ideal = workers / per_program
    efficiency = BATCH * per_program / (BATCH * per_program + max(overhead, 0.0))
    ray_runs = {name: r for name, r in results.items() if name.startswith("ray ") and "overhead" not in name}
    leanest = min(ray_runs, key=lambda name: ray_runs[name]["driver_cpu_s"])
    driver_limit = len(pairs) / ray_runs[leanest]["driver_cpu_s"]
    print(f"on paper, {args.project_nodes} nodes x {args.project_cores} cores ({workers} workers) "
          f"at {1e3 * per_program:.1f} ms a program per core (local, here): "
          f"{ideal:,.0f} programs/s ideal, x {efficiency:.3f} for the per-call overhead on calls "
          f"of {BATCH} = {ideal * efficiency:,.0f} programs/s; one driver feeds at most "
          f"{driver_limit:,.0f} programs/s (its CPU per program in '{leanest}') "
          f"-> {min(ideal * efficiency, driver_limit):,.0f} programs/s")


if __name__ == "__main__":
    main()
