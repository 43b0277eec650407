"""BigCodeBench's own evaluator on given samples, as `bigcodebench.evaluate --execution local`
runs them: ground truth first (`trusted_check` on every task's reference, in a process pool),
then every sample through `untrusted_check` with evaluate()'s defaults (30 GiB address and
data limits, 10 MiB stack, min_time_limit 1 s, the reference's time or 20 s, calibrated).

Run by benchmarks/exec_benchmarks.py with BigCodeBench's interpreter and the PyPI wheel
`bigcodebench` (installed with --no-deps into a folder on PYTHONPATH, so the task's
environment is left as it is); evaluate() itself imports the generation stack (vllm, gradio,
e2b), which this calls around. Reads a JSON request on stdin, writes JSON on stdout:

    {"workers": N, "problems": {task_id: {"complete_prompt", "canonical_solution", "test",
     "entry_point", "code_prompt"}}, "samples": [[task_id, solution], ...]}
"""

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

MAX_AS_LIMIT = 30 * 1024
MAX_DATA_LIMIT = 30 * 1024
MAX_STACK_LIMIT = 10
MIN_TIME_LIMIT = 1


def ground_truth(problem):
    from bigcodebench.gen.util import trusted_check

    code = problem["complete_prompt"] + "\n" + problem["canonical_solution"]
    return trusted_check(code, problem["test"], problem["task_id"], MAX_AS_LIMIT,
                         MAX_DATA_LIMIT, MAX_STACK_LIMIT, MIN_TIME_LIMIT)


def check(problem, solution, gt_time):
    from bigcodebench.eval import untrusted_check

    calibrated = problem["code_prompt"] + "\n    pass\n" + solution
    status, details = untrusted_check(calibrated, problem["test"], problem["entry_point"],
                                      MAX_AS_LIMIT, MAX_DATA_LIMIT, MAX_STACK_LIMIT,
                                      MIN_TIME_LIMIT, gt_time if gt_time else 20)
    return status, sorted(details)


def main():
    request = json.load(sys.stdin)
    problems = request["problems"]
    for task_id, problem in problems.items():
        problem["task_id"] = task_id
    workers = request["workers"]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        times = dict(zip(problems, pool.map(ground_truth, problems.values())))
    gt_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check, problems[task_id], solution, times[task_id]["time"])
                   for task_id, solution in request["samples"]]
        results = [future.result() for future in futures]
    seconds = time.perf_counter() - started
    json.dump({"ground_truth_seconds": gt_seconds, "seconds": seconds,
               "ground_truth": {k: v["time"] for k, v in times.items()},
               "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
