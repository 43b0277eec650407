"""Benchmarks, one module each. TASKS maps a task name to its class, imported lazily."""

from __future__ import annotations

from harness.errors import HarnessError

TASKS = {
    "humaneval": "tasks.humaneval:HumanEval",
    "humaneval_plus": "tasks.humaneval_plus:HumanEvalPlus",
    "mbpp": "tasks.mbpp:Mbpp",
    "mbpp_sanitized": "tasks.mbpp:MbppSanitized",
    "mbpp_plus": "tasks.mbpp_plus:MbppPlus",
    "apps": "tasks.apps:Apps",
    "codehalu": "tasks.codehalu:CodeHalu",
    "p3": "tasks.p3:P3",
    "p3_all": "tasks.p3:P3All",
    "p3_test228": "tasks.p3:P3Test228",
    "dia": "tasks.dia:Dia",
    "cogex": "tasks.cogex:Cogex",
    "emulate_humaneval": "tasks.emulate:EmulateHumanEval",
    "emulate_mbpp": "tasks.emulate:EmulateMbpp",
}


def task_class(name: str):
    from harness.registry import load_object

    if name not in TASKS:
        raise HarnessError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return load_object(TASKS[name])


def create_task(name: str, **options):
    return task_class(name).create(**options)
