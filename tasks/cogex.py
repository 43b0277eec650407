"""CoGEX (Weir et al., NeurIPS 2024): answer by writing a pseudo-program and emulating it.

Records are either CoGEX-format (`instruction`, `input`, `code_prompt`, `code_output`; the
public dataset `mkhalifa/CoGEX`) or plain instruction data (`instruction`, `input`,
`output`). In `generate` mode the model writes the program and emulates it; in `emulate`
mode (CoGEX-format records only) it is given the program and call and only emulates.
The answer is graded as text against the gold: exact and normalized match, as test groups,
so pass@k comes for free; parse failures are counted, never fatal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.data import hub_dataset, load_hf, read_records
from codeharness.core.errors import HarnessError
from codeharness.core.extract import code_blocks
from codeharness.core.records import Prompt, Status, jsonable
from codeharness.scorers.base import BaseScorer, Column, Scorer
from codeharness.tasks import emulation
from codeharness.tasks.base import CHAT, COMPLETION, BaseTask, Judgement, Problem

HF_DATASET = "mkhalifa/CoGEX"
MODES = ("generate", "emulate")
WORKED_EXAMPLE = emulation.render(
    "Count the words in the sentence.", "the quick brown fox",
    'def count_words(sentence):\n    """Count the words of a sentence."""\n'
    "    # Step 1: split the sentence into words\n    words = split_into_words(sentence)\n"
    "    # Step 2: count them\n    count = len(words)\n"
    "    return {'words': words, 'answer': count}",
    "count_words('the quick brown fox')",
) + "{'words': ['the', 'quick', 'brown', 'fox'], 'answer': 4}\n"
CHAT_INSTRUCTIONS = (
    "Solve the task by writing a Python function (helper functions may be left undefined), "
    "then emulate calling it. Use exactly this format: the code after `### Code`, the call "
    "on a line starting with `>>> `, then `### Output` and the returned dict, whose "
    "'answer' key holds the final answer. Example:\n\n"
)


@registry.tasks.register
@dataclass
class Cogex(BaseTask):
    name = "cogex"
    prompt_styles = (COMPLETION, CHAT)
    groups = ("exact", "normalized")
    mode: str = "generate"

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in MODES:
            raise HarnessError(f"task cogex: --mode must be one of {', '.join(MODES)}, not {self.mode!r}")

    def load(self) -> list[Problem]:
        return [self._problem(record, index) for index, record in enumerate(self._records())]

    def _records(self) -> list[dict]:
        name = hub_dataset(self.data_path, HF_DATASET)
        if name is not None:
            dataset = load_hf(name, split="train")
            self.record_dataset(dataset)
            return list(dataset)
        return read_records(self.record_file(Path(str(self.data_path))))

    def _problem(self, record: dict, index: int) -> Problem:
        where = f"{self.data_path or HF_DATASET} record {index + 1}"
        if not isinstance(record, dict) or "instruction" not in record:
            raise HarnessError(f"{where}: needs an 'instruction' field")
        meta = {"instruction": record["instruction"], "input": record.get("input") or ""}
        if "code_prompt" in record and "code_output" in record:
            code, call = emulation.split_code(record["code_prompt"])
            gold = emulation.parse_output(str(record["code_output"]))
            if not gold.ok:
                raise HarnessError(f"{where}: code_output is not a dict with 'answer' ({gold.error})")
            meta.update(code=code, call=call, gold=gold.answer)
        elif "output" in record:
            meta["gold"] = record["output"]
        else:
            raise HarnessError(f"{where}: needs 'output', or 'code_prompt' and 'code_output'")
        if self.mode == "emulate" and not meta.get("call"):
            raise HarnessError(f"{where}: --mode emulate needs CoGEX records with a `>>> ` call in code_prompt")
        problem_id = str(record.get("id", index))
        return Problem(id=problem_id, prompt=self._text_prompt(meta), meta=meta)

    def _text_prompt(self, meta: dict) -> str:
        if self.mode == "emulate":
            return emulation.render(meta["instruction"], meta["input"], meta["code"], meta["call"])
        return emulation.render(meta["instruction"], meta["input"])

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        if style == CHAT:
            content = CHAT_INSTRUCTIONS + WORKED_EXAMPLE + "\nNow this one:\n\n" + problem.prompt
            return Prompt(messages=[{"role": "user", "content": content}])
        if style == COMPLETION:
            return Prompt(text=WORKED_EXAMPLE + "\n" + problem.prompt, stop=[f"\n{emulation.INSTRUCTION}"])
        return super().build_prompt(problem, style)

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        return unfenced(completion, style)

    def build_job(self, problem, program, job_id):
        return None

    def grade(self, problem: Problem, answer: str) -> Judgement:
        return grade_answer(answer, problem.meta["gold"])

    def scorers(self) -> list[Scorer]:
        return [*super().scorers(), AnswerMetrics()]


def unfenced(completion: str, style: str) -> str:
    """The model's program-and-output text, without the markdown fences chat models add."""
    if style == CHAT and "```" in completion:
        return "\n".join(code_blocks(completion)) or completion
    return completion


def grade_answer(text: str, gold) -> Judgement:
    parsed = emulation.parse_output(text)
    if not parsed.ok:
        return Judgement(Status.ERROR, {"exact": Status.FAILED, "normalized": Status.FAILED},
                         {"parse_error": parsed.error, "gold": gold})
    exact = emulation.exact_match(parsed.answer, gold)
    normalized = emulation.normalized_match(parsed.answer, gold)
    groups = {"exact": _status(exact), "normalized": _status(normalized)}
    return Judgement(Status.PASSED if normalized else Status.FAILED, groups,
                     {"predicted": jsonable(parsed.answer), "gold": gold})


def _status(ok: bool) -> str:
    return Status.PASSED if ok else Status.FAILED


@registry.scorers.register
class AnswerMetrics(BaseScorer):
    """Exact and normalized match of 'answer', and the parse-failure rate, over all samples."""

    name = "answer_match"

    def score(self, task, problems, generations, executions) -> dict:
        total = len(executions)
        if not total:
            return {}
        parse_failures = sum("parse_error" in e.details for e in executions)
        counts = Counter()
        for execution in executions:
            for group, status in execution.groups.items():
                counts[group] += status is Status.PASSED
        return {"samples": total,
                "exact_match": counts["exact"] / total,
                "normalized_match": counts["normalized"] / total,
                "parse_failure_rate": parse_failures / total,
                "parse_failures": parse_failures}

    def columns(self, result: dict) -> list[Column]:
        if not result:
            return []
        return [Column("exact match", result["exact_match"], percent=True),
                Column("normalized match", result["normalized_match"], percent=True),
                Column("parse failure rate", result["parse_failure_rate"], percent=True)]

    def report(self, result: dict) -> list:
        if not result:
            return []
        return [f"answers: exact match {100 * result['exact_match']:.1f}%, normalized "
                f"{100 * result['normalized_match']:.1f}%, unparsable {result['parse_failures']} "
                f"of {result['samples']}"]
