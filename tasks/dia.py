"""DIA-Bench, Dynamic Intelligence Assessment (Tihanyi et al., IEEE BigData 2024).

Questions come from templates that draw fresh parameters. A model answers `<xml>answer</xml>`
or skips with `<xml>I-DO-NOT-KNOW</xml>`; grading is exact match: correct +1, skip 0,
wrong -2 (see harness/scoring/dia.py for the metrics).

Sources: a published question file (`--data-path DIA-Benchmark-k5.json`, or
`hf:dia-bench/DIA-Bench` with `--k` choosing the file), or by default our own generator
(tasks/dia_templates.py) with `--k` instances per template and `--question-seed`.

Prompting follows the official evaluator: its system prompt, and the user message
"description\\ninstructions". Its answer extraction: the `<xml>...</xml>` inside a fenced
```xml block when there is one, otherwise the whole response. With `--tools true` the model
may instead answer with a Python program in a ```python block; the sandbox runs it and its
standard output (trailing newlines dropped) is read as the response.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.extract import FENCE
from harness.records import Prompt
from sandbox.jobs import Job, Outcome, Status
from tasks import dia_templates
from tasks.base import CHAT, COMPLETION, BaseTask, Judgement, Problem
from tasks.data import HF_PREFIX

SYSTEM_PROMPT = "You are a Cybersecurity and math expert who can solve complex tasks."
SKIP = f"<xml>{dia_templates.SKIP_ANSWER}</xml>"
TOOLS_NOTE = ("\nYou may also answer with a Python program in a ```python code block instead: it "
              "will be run without network access, and what it prints is taken as your answer.")
# A fence of two or three backticks labelled xml around one <xml>...</xml> element.
FENCED_XML = re.compile(r"`{2,3}\s*xml\s*(<xml>.*?</xml>)\s*`{2,3}", re.DOTALL | re.IGNORECASE)
DEFAULT_K = 5
TOOL_TIMEOUT_S = 10.0
ANSWER_CHARS = 1000  # of an answer kept in the execution record
CHALLENGE_FIELDS = {"instance": int, "level": str, "category": str, "adversarial": bool,
                    "description": str, "instructions": str}

CORRECT, WRONG, SKIPPED = "correct", "wrong", "skipped"


@dataclass
class Dia(BaseTask):
    name = "dia"
    prompt_styles = (CHAT, COMPLETION)

    k: int | None = None  # instances per template: generated, or which published file
    question_seed: int = 0  # of the generated questions (--seed is the sampling seed)
    tools: bool = False  # let the model answer with a Python program whose output is the answer
    normalize_whitespace: bool = False  # compare answers with runs of whitespace collapsed

    # -------------------------------------------------------------- data

    def load(self) -> list[Problem]:
        data, where = self._questions()
        records = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise HarnessError(f"{where}: not a DIA-Bench file (expected an object with a 'questions' list)")
        problems = [_problem(record, f"{where} question {index + 1}") for index, record in enumerate(records)]
        self._check_k(problems, where)
        return problems

    def _questions(self) -> tuple[dict, str]:
        if not self.data_path:
            data = dia_templates.generate(self.k or DEFAULT_K, self.question_seed)
            self._sources.append({"generated": "tasks.dia_templates", "seed": self.question_seed,
                                  "k": self.k or DEFAULT_K, "templates": len(dia_templates.TEMPLATES),
                                  "sha256": hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()})
            return data, f"generated questions (seed {self.question_seed})"
        if self.data_path.startswith(HF_PREFIX):
            path = _download_published(self.data_path[len(HF_PREFIX):], self.k or DEFAULT_K)
        else:
            path = Path(self.data_path)
        if not path.exists():
            raise HarnessError(f"{path}: DIA-Bench file not found")
        try:
            with open(self.record_file(path), encoding="utf-8") as f:
                return json.load(f), str(path)
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise HarnessError(f"{path}: unreadable DIA-Bench file ({exc})") from exc

    def _check_k(self, problems: list[Problem], where: str) -> None:
        if self.k is None or not self.data_path or self.data_path.startswith(HF_PREFIX):
            return
        per_template: dict[int, int] = {}
        for problem in problems:
            per_template[problem.meta["template_id"]] = per_template.get(problem.meta["template_id"], 0) + 1
        if set(per_template.values()) != {self.k}:
            raise HarnessError(f"{where}: --k {self.k} does not match the file, which has "
                               f"{sorted(set(per_template.values()))} questions per template")

    # -------------------------------------------------------------- prompts and answers

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        question = problem.prompt + (TOOLS_NOTE if self.tools else "")
        if style == CHAT:
            return Prompt(messages=[{"role": "system", "content": SYSTEM_PROMPT},
                                    {"role": "user", "content": question}])
        if style == COMPLETION:
            return Prompt(text=f"{SYSTEM_PROMPT}\n\n{question}\n\nAnswer:\n")
        raise HarnessError(f"task {self.name!r} has no prompt style {style!r}; "
                           f"choose one of {', '.join(self.prompt_styles)}")

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        """The response to grade, or in tool mode a program whose output is the response."""
        if self.tools:
            programs = [body for language, body in FENCE.findall(completion)
                        if language.lower() in ("python", "py", "python3")]
            return programs[0] if programs else f"print({completion!r}, end='')\n"
        return extract_answer(completion)

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job | None:
        if not self.tools:
            return None  # graded as text by grade()
        return Job(job_id, program, [], program_timeout_s=TOOL_TIMEOUT_S)

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        if outcome.status is not Status.PASSED:
            judgement = self._verdict(problem, None)
            judgement.details["tool_status"] = outcome.status.value
            return judgement
        return self._verdict(problem, extract_answer(outcome.stdout.rstrip("\n")))

    def grade(self, problem: Problem, answer: str) -> Judgement:
        return self._verdict(problem, answer)

    def _verdict(self, problem: Problem, answer: str | None) -> Judgement:
        verdict = grade_answer(answer, problem.meta["solution"], self.normalize_whitespace)
        status = Status.PASSED if verdict == CORRECT else Status.FAILED
        meta = problem.meta
        details = {"template_id": meta["template_id"], "instance": meta["instance"],
                   "category": meta["category"], "level": meta["level"], "adversarial": meta["adversarial"],
                   "verdict": verdict, "answer": None if answer is None else answer[:ANSWER_CHARS]}
        return Judgement(status, {"base": status.value}, details)

    def canonical_program(self, problem: Problem) -> str:
        """The reference answer; in tool mode, a program that prints it."""
        solution = problem.meta["solution"]
        return f"print({solution!r})\n" if self.tools else solution

    def scorers(self) -> list:
        from harness.scoring.dia import DiaScorer

        return [DiaScorer()]


def extract_answer(response: str) -> str:
    """As the official evaluator: the <xml>...</xml> of a fenced ```xml block, else the response."""
    match = FENCED_XML.search(response)
    return match.group(1) if match else response


def grade_answer(answer: str | None, solution: str, normalize_whitespace: bool) -> str:
    if answer is not None and normalize_whitespace:
        answer, solution = " ".join(answer.split()), " ".join(solution.split())
    if answer == solution:
        return CORRECT
    if answer == SKIP:
        return SKIPPED
    return WRONG


def _problem(record, where: str) -> Problem:
    if not isinstance(record, dict) or not isinstance(record.get("challenge"), dict) \
            or not isinstance(record.get("solution"), dict):
        raise HarnessError(f"{where}: expected 'challenge' and 'solution' objects")
    challenge, solution = record["challenge"], record["solution"]
    # Files before Nov 2024 call the template id "Q template".
    template_id = challenge.get("template_id", challenge.get("Q template"))
    if type(template_id) is not int:
        raise HarnessError(f"{where}: field challenge.template_id must be an integer")
    for field, kind in CHALLENGE_FIELDS.items():
        if type(challenge.get(field)) is not kind:
            raise HarnessError(f"{where}: field challenge.{field} must be a {kind.__name__}")
    if not isinstance(solution.get("challenge_solution"), str):
        raise HarnessError(f"{where}: field solution.challenge_solution must be a string")
    meta = {"template_id": template_id, **{f: challenge[f] for f in CHALLENGE_FIELDS if f not in
                                           ("description", "instructions")},
            "solution": solution["challenge_solution"],
            "explanation": solution.get("solution_explanation", "")}
    return Problem(id=f"{template_id}/{challenge['instance']}",
                   prompt=f"{challenge['description']}\n{challenge['instructions']}", meta=meta)


def _download_published(dataset: str, k: int) -> Path:
    """DIA-Benchmark-k<k>.json from the dataset's Hugging Face home."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(dataset, f"DIA-Benchmark-k{k}.json", repo_type="dataset"))
    except Exception as exc:  # noqa: BLE001 - network, auth and missing files all end here
        raise HarnessError(f"could not download DIA-Benchmark-k{k}.json from the Hugging Face "
                           f"dataset {dataset!r}: {exc}") from exc
