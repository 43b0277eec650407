"""CRUXEval (Gu et al., 2024, arXiv:2401.03065): 800 short Python functions `f`, each with one
input and its output. `cruxeval_o` asks for the output of `f(input)`, `cruxeval_i` for an input
that gives the output; `emulate_cruxeval` asks for the same outputs in the CoGEX emulation
format (tasks/emulate.py), so emulation fidelity is measured on code nobody here wrote.

Sources: `--data-path` a `cruxeval.jsonl` (fields `code`, `input`, `output`, `id`) or
`hf:NAME`; by default the Hugging Face dataset `cruxeval-org/cruxeval` (split `test`).

Prompts are the paper's (facebookresearch/cruxeval `prompts.py`, MIT): `direct` (the default)
and `cot` (chain of thought), both ending in an assertion inside [ANSWER] tags, and for output
prediction also `phind` (stop word `# done`); `chat` and `chat_cot` send the direct and CoT
prompts as a chat message. Answers are read the way upstream's `postprocess_generation`
reads them: text after the prompt up to the stop word, after `[ANSWER]` for CoT, then the
right side of the first `==` (output) or the call left of it, without `assert` (input).
`--backend replay --samples generations.json` takes upstream's generations files (a JSON
object `{"sample_N": [answers]}`, already post-processed) as they are.

Scoring is upstream's `evaluate_score`: a generation is skipped when, in input mode, it has
no `f(`, or in output mode it contains the call `f(<input>)` itself (writing the call instead
of the value); otherwise `<code>\\nassert <output> == <generation>` runs in a fresh sandboxed
process with a 3 s limit and passes when nothing raises. Skipped generations leave the
sample's list; a sample where nothing passed counts all its generations as failures. pass@k
(the Codex estimator, per sample, averaged) is reported on upstream's 0-100 scale too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from codeharness.core import registry
from codeharness.core.data import load_task_records, require_fields
from codeharness.core.errors import HarnessError
from codeharness.core.extract import truncate_at_stop
from codeharness.core.passk import bootstrap_interval, pass_at_k_matrix
from codeharness.core.records import Prompt, Status
from codeharness.sandbox.jobs import Job
from codeharness.scorers import StatusCounts
from codeharness.scorers.base import BaseScorer, Column, Scorer
from codeharness.scorers.hallucination import HallucinationProfile
from codeharness.tasks import emulation
from codeharness.tasks.base import CHAT, PROGRAM, BaseTask, Judgement, Problem
from codeharness.tasks.emulate import INSTRUCTION as EMULATION_INSTRUCTION
from codeharness.tasks.emulate import EmulateHumanEval

HF_DATASET = "cruxeval-org/cruxeval"
FIELDS = ("code", "input", "output", "id")
CHECK_TIMEOUT_S = 3.0  # upstream's check_correctness(code, 3)
DIRECT, COT, PHIND, CHAT_COT = "direct", "cot", "phind", "chat_cot"
ANSWER_STOP = "[/ANSWER]"
PHIND_STOP = "# done"

# ---------------------------------------------------------------- the paper's prompts
# facebookresearch/cruxeval prompts.py (MIT, Copyright (c) Meta Platforms, Inc.), verbatim.

DIRECT_OUTPUT = '''You are given a Python function and an assertion containing an input to the function. Complete the assertion with a literal (no unsimplified expressions, no function calls) containing the output when executing the provided code on the given input, even if the function is incorrect or incomplete. Do NOT output any extra information. Provide the full assertion with the correct output in [ANSWER] and [/ANSWER] tags, following the examples.

[PYTHON]
def f(n):
    return n
assert f(17) == ??
[/PYTHON]
[ANSWER]
assert f(17) == 17
[/ANSWER]

[PYTHON]
def f(s):
    return s + "a"
assert f("x9j") == ??
[/PYTHON]
[ANSWER]
assert f("x9j") == "x9ja"
[/ANSWER]

[PYTHON]
{code}
assert f({input}) == ??
[/PYTHON]
[ANSWER]
'''

COT_OUTPUT = '''You are given a Python function and an assertion containing an input to the function. Complete the assertion with a literal (no unsimplified expressions, no function calls) containing the output when executing the provided code on the given input, even if the function is incorrect or incomplete. Do NOT output any extra information. Execute the program step by step before arriving at an answer, and provide the full assertion with the correct output in [ANSWER] and [/ANSWER] tags, following the examples.

[PYTHON]
def f(s):
    s = s + s
    return "b" + s + "a"
assert f("hi") == ??
[/PYTHON]
[THOUGHT]
Let's execute the code step by step:

1. The function f is defined, which takes a single argument s.
2. The function is called with the argument "hi", so within the function, s is initially "hi".
3. Inside the function, s is concatenated with itself, so s becomes "hihi".
4. The function then returns a new string that starts with "b", followed by the value of s (which is now "hihi"), and ends with "a".
5. The return value of the function is therefore "bhihia".
[/THOUGHT]
[ANSWER]
assert f("hi") == "bhihia"
[/ANSWER]

[PYTHON]
{code}
assert f({input}) == ??
[/PYTHON]
[THOUGHT]
'''

PHIND_OUTPUT = '''Based on the given Python code, which may contain errors, complete the assert statement with the output when executing the code on the given test case. Do NOT output any extra information, even if the function is incorrect or incomplete. Output "# done" after the assertion.

def f(n):
    return n
assert f(17) == 17 # done

def f(s):
    return s + "a"
assert f("x9j") == "x9ja" # done

{code}
assert f({input}) =='''

DIRECT_INPUT = '''You will be given a function f and an output in the form f(??) == output. Find any input such that executing f on the input leads to the given output. There may be multiple answers, but you should only output one. In [ANSWER] and [/ANSWER] tags, complete the assertion with one such input that will produce the output when executing the function.

[PYTHON]
def f(my_list):
    count = 0
    for i in my_list:
        if len(i) % 2 == 0:
            count += 1
    return count
assert f(??) == 3
[/PYTHON]
[ANSWER]
assert f(["mq", "px", "zy"]) == 3
[/ANSWER]

[PYTHON]
def f(s1, s2):
    return s1 + s2
assert f(??) == "banana"
[/PYTHON]
[ANSWER]
assert f("ba", "nana") == "banana"
[/ANSWER]

[PYTHON]
{code}
assert f(??) == {output}
[/PYTHON]
[ANSWER]
'''

COT_INPUT = '''You will be given a function f and an output in the form f(??) == output. Your task is to find any input such that executing f on the input leads to the given output. There may be multiple answers, but only output one. First, think step by step. You MUST surround the answer with [ANSWER] and [/ANSWER] tags. Express your answer as a passing assertion containing the input and the given output.

[PYTHON]
def f(x):
    return x + 1
assert f(??) == 17
[/PYTHON]
[THOUGHT]
To find an input such that executing f on the input leads to the given output, we can work backwards from the given assertion. We know that f(??) == 17. 

Since the function f(x) returns x + 1, for f(??) to be equal to 17, the value of ?? should be 16. 
[/THOUGHT]
[ANSWER]
assert f(16) == 17
[/ANSWER]

[PYTHON]
{code}
assert f(??) == {output}
[/PYTHON]
[THOUGHT]
'''


def load_records(task) -> list[dict]:
    """The benchmark's records from --data-path (a file, or hf:NAME), by default from the
    Hugging Face dataset, checked field by field."""
    records, where = load_task_records(task, HF_DATASET, split="test")
    seen: set[str] = set()
    for index, record in enumerate(records):
        place = f"{where} record {index + 1}"
        if not isinstance(record, dict):
            raise HarnessError(f"{place}: expected a JSON object")
        require_fields(record, FIELDS, place)
        for name in FIELDS:
            if not isinstance(record[name], str):
                raise HarnessError(f"{place}: field {name!r} must be a string")
        if record["id"] in seen:
            raise HarnessError(f"{place}: id {record['id']!r} again")
        seen.add(record["id"])
    return records


@dataclass
class CruxEval(BaseTask):
    """The two prediction tasks share loading, checking and scoring; `mode` says which."""

    mode: ClassVar[str] = "output"
    groups = ("base",)

    def load(self) -> list[Problem]:
        return [Problem(id=r["id"], prompt=r["code"], entry_point="f",
                        meta={"code": r["code"], "input": r["input"], "output": r["output"]})
                for r in load_records(self)]

    # -- prompts and answers

    def templates(self) -> dict[str, str]:
        raise NotImplementedError

    def prompt_text(self, problem: Problem, style: str) -> str:
        meta = problem.meta
        return self.templates()[style].format(code=meta["code"], input=meta["input"],
                                              output=meta["output"])

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        if style == PROGRAM:  # replayed answers, already extracted
            return Prompt(text=self.prompt_text(problem, DIRECT), stop=[ANSWER_STOP])
        if style in (CHAT, CHAT_COT):
            text = self.prompt_text(problem, COT if style == CHAT_COT else DIRECT)
            return Prompt(messages=[{"role": "user", "content": text}])
        if style not in self.templates():
            raise HarnessError(f"task {self.name!r} has no prompt style {style!r}; "
                               f"choose one of {', '.join(self.prompt_styles)}")
        return Prompt(text=self.prompt_text(problem, style),
                      stop=[PHIND_STOP if style == PHIND else ANSWER_STOP])

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        """The answer, as upstream's postprocess_generation reads the text after the prompt."""
        if style == PROGRAM:
            return completion
        text, _ = truncate_at_stop(completion, [PHIND_STOP if style == PHIND else ANSWER_STOP])
        if style in (COT, CHAT_COT, CHAT) and "[ANSWER]" in text:
            text = text.split("[ANSWER]")[1].strip()
        return self.answer_of(text)

    def answer_of(self, text: str) -> str:
        raise NotImplementedError

    # -- checking

    def skip_reason(self, problem: Problem, answer: str) -> str | None:
        raise NotImplementedError

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job | None:
        if self.skip_reason(problem, program):
            return None  # graded without running: see grade()
        # Upstream's check is one program, the function and the assertion together: the
        # answer is model text, so its syntax errors are the answer's, not the harness's.
        meta = problem.meta
        return Job(job_id, f"{meta['code']}\nassert {meta['output']} == {program}", [],
                   program_timeout_s=CHECK_TIMEOUT_S)

    def grade(self, problem: Problem, answer: str) -> Judgement:
        reason = self.skip_reason(problem, answer) or "not run"
        return Judgement(Status.FAILED, {"base": Status.FAILED}, {"skipped": reason})

    def scorers(self) -> list[Scorer]:
        return [CruxEvalPassAtK(), StatusCounts(), HallucinationProfile()]


@registry.tasks.register
@dataclass
class CruxEvalOutput(CruxEval):
    """CRUXEval-O: complete `assert f(<input>) == ??` with the output."""

    name = "cruxeval_o"
    mode = "output"
    prompt_styles = (DIRECT, COT, PHIND, CHAT, CHAT_COT)

    def templates(self) -> dict[str, str]:
        return {DIRECT: DIRECT_OUTPUT, COT: COT_OUTPUT, PHIND: PHIND_OUTPUT}

    def answer_of(self, text: str) -> str:
        if "==" in text:
            text = text.split("==")[1].strip()
        return text.strip()

    def skip_reason(self, problem: Problem, answer: str) -> str | None:
        call = f"f({problem.meta['input']})"
        return f"the answer contains the call {call} itself" if call in answer else None

    def reference_programs(self, problem: Problem) -> list[str]:
        return [problem.meta["output"]]


@registry.tasks.register
@dataclass
class CruxEvalInput(CruxEval):
    """CRUXEval-I: complete `assert f(??) == <output>` with a call giving the output."""

    name = "cruxeval_i"
    mode = "input"
    prompt_styles = (DIRECT, COT, CHAT, CHAT_COT)

    def templates(self) -> dict[str, str]:
        return {DIRECT: DIRECT_INPUT, COT: COT_INPUT}

    def answer_of(self, text: str) -> str:
        if "==" in text:
            text = text.split("==")[0].strip()
        if "assert" in text:
            text = text.split("assert")[1].strip()
        return text.strip()

    def skip_reason(self, problem: Problem, answer: str) -> str | None:
        return None if "f(" in answer else "the answer has no call f(...)"

    def reference_programs(self, problem: Problem) -> list[str]:
        return [f"f({problem.meta['input']})"]


@registry.scorers.register
class CruxEvalPassAtK(BaseScorer):
    """pass@k by CRUXEval's rules: skipped generations leave a sample's list, and a sample
    where none passed counts every generation as a failure; shown on upstream's 0-100 scale
    next to the share."""

    name = "cruxeval_pass_at_k"

    def score(self, task, problems, generations, executions) -> dict:
        by_problem: dict[str, list] = {}
        for execution in sorted(executions, key=lambda e: (e.problem_id, e.sample_index)):
            by_problem.setdefault(execution.problem_id, []).append(execution)
        totals, corrects, skipped = [], [], 0
        for runs in by_problem.values():
            kept = [e.status is Status.PASSED for e in runs if "skipped" not in e.details]
            skipped += len(runs) - len(kept)
            if not any(kept):
                kept = [False] * len(runs)
            totals.append(len(kept))
            corrects.append(sum(kept))
        if not totals:
            return {}
        ks = sorted({1, 5} | set(range(1, max(len(r) for r in by_problem.values()) + 1)))
        per_problem = pass_at_k_matrix(np.asarray(totals), np.asarray(corrects), ks)
        low, high = bootstrap_interval(per_problem)
        means = per_problem.mean(axis=0)
        return {"problems": len(totals), "samples": sum(len(r) for r in by_problem.values()),
                "skipped": skipped,
                **{f"pass@{k}": {"value": float(means[i]), "ci_low": float(low[i]),
                                 "ci_high": float(high[i]), "original_scale": float(100 * means[i])}
                   for i, k in enumerate(ks)}}

    def columns(self, result: dict) -> list[Column]:
        return [Column(f"pass@{k}", m["value"], m["ci_low"], m["ci_high"], percent=True)
                for k in (1, 5) if (m := result.get(f"pass@{k}"))]

    def primary_metric(self, result: dict) -> str | None:
        return "pass@1" if result else None

    def report(self, result: dict) -> list:
        if not result:
            return []
        shown = ", ".join(f"pass@{k} {result[f'pass@{k}']['original_scale']:.2f}" for k in (1, 5))
        line = (f"CRUXEval {shown} (of {result['problems']} samples, {result['samples']} "
                f"generations, {result['skipped']} skipped by upstream's rules)")
        return [line]


@registry.tasks.register
@dataclass
class EmulateCruxEval(EmulateHumanEval):
    """CRUXEval's functions and inputs as CoGEX emulation items: the model emulates `f(input)`,
    the sandbox runs it for real (tasks/emulate.py grades the answer against that)."""

    name = "emulate_cruxeval"
    source_task = "cruxeval_o"

    def load(self) -> list[Problem]:
        if self.solutions != "canonical":
            raise HarnessError("task emulate_cruxeval emulates CRUXEval's own functions; "
                               "it takes no --solutions")
        problems = []
        for record in load_records(self):
            call = f"f({record['input']})"
            problems.append(Problem(
                id=record["id"],
                prompt=emulation.render(EMULATION_INSTRUCTION, "", record["code"], call),
                entry_point="f",
                meta={"program": record["code"], "call": call, "source_problem": record["id"],
                      "stated_output": record["output"]},
            ))
        return problems
