"""MBPP+ (EvalPlus): 378 problems of sanitized MBPP with fixed reference solutions, judged on
their base inputs and on about 100 more inputs each (see tasks/evalplus.py)."""

from __future__ import annotations

from dataclasses import dataclass

from codeharness.core import registry
from codeharness.core.data import require_fields
from codeharness.tasks.base import Problem
from codeharness.tasks.evalplus import EvalPlusTask, with_check_call
from codeharness.tasks.mbpp import (
    STOP_SEQUENCES,
    chat_instruction,
    docstring_prompt,
    entry_point_of,
    task_number,
)

HF_FIELDS = ("task_id", "prompt", "code", "test_list", "test")

# The release stores inputs as JSON, where tuples, sets and complex numbers become lists and
# strings. EvalPlus's loader converts them back for these task numbers; so does `deserialize`.
EACH_ARGUMENT_A_TUPLE = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560,
                         579, 596, 616, 630, 726, 740, 744, 809}
EACH_ARGUMENT_A_LIST_OF_TUPLES = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438,
                                  473, 614, 780}
EACH_ARGUMENT_A_TUPLE_OF_TUPLES = {259, 401, 445}
FIRST_ARGUMENT_A_LIST_OF_TUPLES = {75, 413, 444, 753}
FIRST_ARGUMENT_A_TUPLE = {250, 307, 405, 446, 617, 720, 763, 808}
SECOND_ARGUMENT_A_TUPLE = {106, 750}
EVERY_LIST_A_TUPLE = {580, 615, 791}


def all_tuples(value):
    return tuple(all_tuples(v) for v in value) if isinstance(value, list) else value


def deserialize(number: int, args: list):
    """One input's arguments with the Python types EvalPlus gives them."""
    if number in EACH_ARGUMENT_A_TUPLE:
        return [tuple(a) for a in args]
    if number in EACH_ARGUMENT_A_LIST_OF_TUPLES:
        return [[tuple(x) for x in a] for a in args]
    if number in EACH_ARGUMENT_A_TUPLE_OF_TUPLES:
        return [tuple(tuple(x) for x in a) for a in args]
    if number in FIRST_ARGUMENT_A_LIST_OF_TUPLES:
        return [[tuple(x) for x in args[0]], *args[1:]]
    if number in FIRST_ARGUMENT_A_TUPLE:
        return [tuple(args[0]), *args[1:]]
    if number in SECOND_ARGUMENT_A_TUPLE:
        return [args[0], tuple(args[1]), *args[2:]]
    if number in EVERY_LIST_A_TUPLE:
        return all_tuples(args)
    if number == 115:  # EvalPlus turns an empty member into {} (a dict), kept for equal outputs
        return [[set(x) if isinstance(x, list) and x else {} for x in args[0]]]
    if number == 124:
        return [float(args[0]), complex(args[1])]
    if number == 252:
        return [complex(args[0])]
    if number == 278:
        return [tuple(tuple(x) if isinstance(x, list) else x for x in args[0])]
    if number == 722:
        return [{key: tuple(value) for key, value in args[0].items()}, *args[1:]]
    return args


@registry.tasks.register
@dataclass
class MbppPlus(EvalPlusTask):
    """--data-path: an EvalPlus release file (MbppPlus-v0.2.0.jsonl.gz) or hf:NAME of a
    Hugging Face copy (hf:evalplus/mbppplus); by default the release v0.2.0, which EvalPlus
    itself evaluates on, packaged in tasks/data/."""

    name = "mbpp_plus"
    dataset = "mbpp"
    packaged_file = "MbppPlus-v0.2.0.jsonl.gz"
    hub_dataset = "evalplus/mbppplus"
    stop_sequences = STOP_SEQUENCES

    def release_inputs(self, record: dict) -> dict[str, list]:
        number = task_number(record["task_id"])
        return {group: [deserialize(number, args) for args in record[f"{group}_input"]]
                for group in ("base", "plus")}

    def merged_problems(self, records: list[dict], where: str) -> list[Problem]:
        return [self._merged_problem(r, f"{where} record {i + 1}") for i, r in enumerate(records)]

    def _merged_problem(self, record: dict, where: str) -> Problem:
        """A row of evalplus/mbppplus: the base tests are MBPP's own asserts."""
        require_fields(record, HF_FIELDS, where)
        tests = list(record["test_list"])
        entry_point = entry_point_of(record["code"], tests)
        imports = "\n".join(record.get("test_imports") or [])
        return self.merged_problem(
            f"Mbpp/{record['task_id']}", docstring_prompt(record["prompt"], tests[0]), entry_point,
            record["code"], [f"{imports}\n{test}\n" for test in tests],
            with_check_call(record["test"], entry_point))

    def chat_instruction(self, problem: Problem) -> str:
        return chat_instruction(problem)
