"""DIA-Bench, Dynamic Intelligence Assessment (Tihanyi et al., IEEE BigData 2024).

Questions come from templates that draw fresh parameters. A model answers `<xml>answer</xml>`
or skips with `<xml>I-DO-NOT-KNOW</xml>`; grading is exact match: correct +1, skip 0,
wrong -2 (see harness/scoring/dia.py for the metrics).

Sources: a published question file (`--data-path DIA-Benchmark-k5.json`, or
`hf:dia-bench/DIA-Bench` with `--k` choosing the file), or by default our own generator
(tasks/dia_templates.py) with `--k` instances per template and `--question-seed`.

Prompting follows the official evaluator: its system prompt, and the user message
"description\\ninstructions". Its answer extraction: the `<xml>...</xml>` inside a fenced
```xml block when there is one, otherwise the whole response. Grading compares the text
inside the tags exactly (the official rule), after dropping whitespace around the response,
so a trailing newline after `</xml>` never turns a right answer wrong.

With `--tools true` (and only then) the prompt says the model may run Python programs in
```python blocks. Tool mode is a conversation of at most `--turns` replies (3 by default),
played in rounds by the pipeline (`plan_round`): a reply with a program is run in the sandbox
and its output (or error) is the next user message; a reply without one is the answer; when
the last allowed reply is a program, what it prints is read as the response (so `--turns 1`
is one program run once). Files that come with a question (BEGIN FILE ... END FILE blocks in
its text) are written into the program's working folder first, and a C source `name.c` is
compiled to `name` when the sandbox has a C compiler.

The records of a conversation: turn t of sample i is a generation and an execution of the
step problem `<question id>~turn<t>` (prompt: the conversation so far; program: the reply's
program, empty when it answered); when the conversation ends, the question's own record
(i, the only one scored) is written from the records alone, its program a line of JSON after
FINAL_MARKER (the answer, the turns used, the budget, how it ended), graded as text. RS@k and
TSR are therefore over final answers, and a killed run rebuilds every conversation from the
records.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codeharness.core import registry
from codeharness.core.data import hub_dataset
from codeharness.core.errors import HarnessError
from codeharness.core.extract import FENCE
from codeharness.core.records import Execution, Generation, GenerationRequest, Prompt, SamplingConfig, Status
from codeharness.sandbox.jobs import Job, Outcome
from codeharness.scorers.base import BaseScorer, Column, Scorer
from codeharness.scorers.dia import DiaScorer
from codeharness.tasks import dia_templates
from codeharness.tasks.base import CHAT, COMPLETION, BaseTask, Judgement, Problem

SYSTEM_PROMPT = "You are a Cybersecurity and math expert who can solve complex tasks."
SKIP = f"<xml>{dia_templates.SKIP_ANSWER}</xml>"
TOOLS_NOTE = ("\nYou may also answer with a Python program in a ```python code block instead: it "
              "will be run without network access, and what it prints is taken as your answer.")
FILES_NOTE = (" The files given above are in the program's working folder under their names; a C source "
              "NAME.c is also compiled there to the executable NAME when a C compiler is available.")
# An artefact in a question's text: text between the lines, or base64 (tasks/dia_templates_core.py).
FILE_BLOCK = re.compile(r"^-----BEGIN FILE ([A-Za-z0-9][A-Za-z0-9._-]*)( BASE64)?-----\n(.*?)^-----END FILE \1-----$",
                        re.DOTALL | re.MULTILINE)
TOOL_PRELUDE = """\
def __dia_files(files):
    import base64, shutil, subprocess
    for name, data in files.items():
        with open(name, "wb") as handle:
            handle.write(base64.b64decode(data))
    compiler = shutil.which("gcc") or shutil.which("cc") or shutil.which("clang")
    for name in files:
        if name.endswith(".c") and len(name) > 2 and compiler:
            try:
                subprocess.run([compiler, "-O1", "-w", "-o", name[:-2], name], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
            except (OSError, subprocess.SubprocessError):
                pass
__dia_files(%r)
del __dia_files
"""
# A fence of two or three backticks labelled xml around one <xml>...</xml> element.
FENCED_XML = re.compile(r"`{2,3}\s*xml\s*(<xml>.*?</xml>)\s*`{2,3}", re.DOTALL | re.IGNORECASE)
LOOP_NOTE = ("\nYou may also run Python programs before you answer: reply with a Python program in a ```python "
             "code block and you will be shown what it prints (it runs without network access); then answer, "
             "or run another. You have {turns} replies in all; if your last reply is a program, what it prints "
             "is taken as your answer.")
TURN_MARK = "~turn"  # a conversation's turn t is recorded under the step problem "<id>~turn<t>"
FINAL_MARKER = "# codeharness dia: the final answer of a tool conversation\n"
OUTPUT_SHOWN_CHARS = 2000  # of a program's output shown to the model (the record keeps as much)
ERROR_SHOWN_CHARS = 1000
DEFAULT_K = 5
DEFAULT_TURNS = 3
TOOL_TIMEOUT_S = 10.0
ANSWER_CHARS = 1000  # of an answer kept in the execution record
STEP_ANSWER_CHARS = 20_000  # of a program's output read as an answer, kept in a turn's record
CHALLENGE_FIELDS = {"instance": int, "level": str, "category": str, "adversarial": bool,
                    "description": str, "instructions": str}

CORRECT, WRONG, SKIPPED = "correct", "wrong", "skipped"


@registry.tasks.register
@dataclass
class Dia(BaseTask):
    name = "dia"
    prompt_styles = (CHAT, COMPLETION)

    k: int | None = None  # instances per template: generated, or which published file
    question_seed: int = 0  # of the generated questions (--seed is the sampling seed)
    tools: bool = False  # let the model run Python programs before answering (a conversation)
    turns: int = DEFAULT_TURNS  # tool mode: the most replies a conversation may have
    normalize_whitespace: bool = False  # compare answers with runs of whitespace collapsed

    def __post_init__(self):
        super().__post_init__()
        if type(self.turns) is not int or self.turns < 1:
            raise HarnessError(f"task dia: --turns must be a whole number of at least 1, got {self.turns!r}")

    @property
    def round_styles(self) -> tuple[str, ...]:  # type: ignore[override]
        """Tool mode is a conversation, played in rounds whatever the prompt style."""
        return self.prompt_styles if self.tools else ()

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
            self._sources.append({"generated": "codeharness.tasks.dia_templates", "seed": self.question_seed,
                                  "k": self.k or DEFAULT_K, "templates": len(dia_templates.TEMPLATES),
                                  "generator_version": dia_templates.GENERATOR_VERSION,
                                  "sha256": hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()})
            return data, f"generated questions (seed {self.question_seed})"
        name = hub_dataset(self.data_path)
        path = _download_published(name, self.k or DEFAULT_K) if name else Path(self.data_path)
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
        if self.k is None or not self.data_path or hub_dataset(self.data_path):
            return
        per_template: dict[int, int] = {}
        for problem in problems:
            per_template[problem.meta["template_id"]] = per_template.get(problem.meta["template_id"], 0) + 1
        if set(per_template.values()) != {self.k}:
            raise HarnessError(f"{where}: --k {self.k} does not match the file, which has "
                               f"{sorted(set(per_template.values()))} questions per template")

    # -------------------------------------------------------------- prompts and answers

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        note = ""
        if self.tools:
            note = TOOLS_NOTE if self.turns == 1 else LOOP_NOTE.format(turns=self.turns)
            note += FILES_NOTE if artefacts(problem.prompt) else ""
        question = problem.prompt + note
        if style == CHAT:
            return Prompt(messages=[{"role": "system", "content": SYSTEM_PROMPT},
                                    {"role": "user", "content": question}])
        if style == COMPLETION:
            return Prompt(text=f"{SYSTEM_PROMPT}\n\n{question}\n\nAnswer:\n")
        raise HarnessError(f"task {self.name!r} has no prompt style {style!r}; "
                           f"choose one of {', '.join(self.prompt_styles)}")

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        """The response to grade; in tool mode a program whose output is the response, and
        in a conversation's turn the reply's program ("" when the reply answers)."""
        if self.tools:
            program = reply_program(completion)
            if TURN_MARK in problem.id:
                return program or ""
            return program if program is not None else f"print({completion!r}, end='')\n"
        return extract_answer(completion)

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job | None:
        if not self.tools or program.startswith(FINAL_MARKER) or (TURN_MARK in problem.id and not program):
            return None  # graded as text by grade(): an answer, a conversation's end, a reply without a program
        return Job(job_id, program, [], prelude=tool_prelude(artefacts(problem.prompt)),
                   program_timeout_s=TOOL_TIMEOUT_S)

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        if TURN_MARK in problem.id:  # a program run in a conversation: what it printed, no verdict
            output = outcome.stdout.rstrip("\n")
            answer = extract_answer(output) if outcome.status is Status.PASSED else None
            details = {"turn": problem.meta["turn"], "tool_status": outcome.status.value,
                       "output_chars": len(outcome.stdout),
                       "answer": answer if answer is None or len(answer) <= STEP_ANSWER_CHARS else None}
            return Judgement(outcome.status, {"base": outcome.status}, details)
        if outcome.status is not Status.PASSED:
            judgement = self._verdict(problem, None)
            judgement.details["tool_status"] = outcome.status.value
            return judgement
        return self._verdict(problem, extract_answer(outcome.stdout.rstrip("\n")))

    def grade(self, problem: Problem, answer: str) -> Judgement:
        if self.tools and TURN_MARK in problem.id:  # a reply that answers: nothing ran
            return Judgement(Status.NOT_RUN, {"base": Status.NOT_RUN}, {"turn": problem.meta["turn"]})
        if self.tools and answer.startswith(FINAL_MARKER):
            final = json.loads(answer[len(FINAL_MARKER):])
            judgement = self._verdict(problem, final["answer"])
            judgement.details.update({key: final[key] for key in ("turns", "turn_budget", "ended", "tool_runs")})
            return judgement
        return self._verdict(problem, answer)

    def _verdict(self, problem: Problem, answer: str | None) -> Judgement:
        verdict = grade_answer(answer, problem.meta["solution"], self.normalize_whitespace)
        status = Status.PASSED if verdict == CORRECT else Status.FAILED
        meta = problem.meta
        details = {"template_id": meta["template_id"], "instance": meta["instance"],
                   "category": meta["category"], "level": meta["level"], "adversarial": meta["adversarial"],
                   "verdict": verdict, "answer": None if answer is None else answer[:ANSWER_CHARS]}
        return Judgement(status, {"base": status}, details)

    def canonical_program(self, problem: Problem) -> str:
        """The reference answer; in tool mode, a program that prints it."""
        solution = problem.meta["solution"]
        return f"print({solution!r})\n" if self.tools else solution

    def scorers(self) -> list[Scorer]:
        return [DiaScorer(), *([ToolTurns()] if self.tools else []), *super().scorers()]

    # -------------------------------------------------------------- tool conversations

    def step_problems(self, problems: list[Problem]) -> list[Problem]:
        """Tool mode: the problems each turn of a conversation is recorded under."""
        if not self.tools:
            return []
        return [Problem(step_id(p.id, turn), p.prompt, meta={**p.meta, "turn": turn, "turn_of": p.id})
                for p in problems for turn in range(1, self.turns + 1)]

    def plan_round(self, problems: list[Problem], generations: list[Generation], executions: list[Execution],
                   sampling: SamplingConfig, style: str = CHAT) -> Sequence[GenerationRequest | Generation]:
        """The next turn of every open conversation, and the final record of every one that
        ended, from the run's records alone (so a resumed run asks exactly what is missing,
        with the same conversations). A conversation ends with a reply without a program, or
        with the last reply the budget allows; empty when every sample has its final record."""
        if not self.tools:
            raise HarnessError("task dia plays in rounds only in tool mode (--tools true)")
        replies = {g.key: g for g in generations}
        runs = {e.key: e for e in executions}
        planned: list[GenerationRequest | Generation] = []
        for problem in problems:
            for index in range(sampling.n):
                if (problem.id, index) in replies:
                    continue  # the conversation ended and its final answer is recorded
                turns: list[tuple[Generation, Execution]] = []
                for turn in range(1, self.turns + 1):
                    reply = replies.get((step_id(problem.id, turn), index))
                    if reply is None:
                        planned.append(GenerationRequest(step_id(problem.id, turn),
                                                         self._turn_prompt(problem, turns, style), [index]))
                        break
                    run = runs.get(reply.key)
                    if run is None:
                        raise HarnessError(f"{reply.problem_id} sample {index}: the reply has no execution record "
                                           "(a tool conversation needs the sandbox: run `codeharness eval`)")
                    turns.append((reply, run))
                    if not reply.program or turn == self.turns:
                        planned.append(self._final_record(problem, index, turns))
                        break
        return planned

    def _turn_prompt(self, problem: Problem, turns: list[tuple[Generation, Execution]], style: str) -> Prompt:
        prompt = self.build_prompt(problem, style)
        left = self.turns - len(turns)
        if prompt.messages is not None:
            messages = list(prompt.messages)
            for reply, run in turns:
                messages += [{"role": "assistant", "content": reply.completion},
                             {"role": "user", "content": tool_report(run, left if reply is turns[-1][0] else None)}]
            return Prompt(messages=messages, stop=prompt.stop)
        text = prompt.text or ""
        for reply, run in turns:
            text += f"{reply.completion}\n\n{tool_report(run, left if reply is turns[-1][0] else None)}\n\nAnswer:\n"
        return Prompt(text=text, stop=prompt.stop)

    def _final_record(self, problem: Problem, index: int, turns: list[tuple[Generation, Execution]]) -> Generation:
        """The question's own record for sample `index`: the last reply, with the answer the
        conversation ended on (its text, or what the last program printed) and its turns."""
        last, run = turns[-1]
        answer = run.details.get("answer") if last.program else extract_answer(last.completion)
        final = {"answer": answer, "turns": len(turns), "turn_budget": self.turns,
                 "ended": "budget" if last.program else "answer", "tool_runs": sum(bool(g.program) for g, _ in turns)}

        def total(values: list[int | float | None]) -> int | float | None:
            return None if any(v is None for v in values) else sum(v for v in values if v is not None)

        replies = [g for g, _ in turns]
        return Generation(task=self.name, problem_id=problem.id, sample_index=index, prompt=last.prompt,
                          completion=last.completion, program=FINAL_MARKER + json.dumps(final, ensure_ascii=False),
                          finish_reason=last.finish_reason, truncated=any(g.truncated for g in replies),
                          prompt_tokens=total([g.prompt_tokens for g in replies]),
                          completion_tokens=total([g.completion_tokens for g in replies]),
                          latency_s=total([g.latency_s for g in replies]))


def step_id(problem_id: str, turn: int) -> str:
    return f"{problem_id}{TURN_MARK}{turn}"


def reply_program(completion: str) -> str | None:
    """The first ```python block of a reply, or None."""
    programs = [body for language, body in FENCE.findall(completion) if language.lower() in ("python", "py", "python3")]
    return programs[0] if programs else None


def tool_report(run: Execution, left: int | None) -> str:
    """What the model is told after its program ran: the output (and the error), and how
    many replies it has left (`left`, for the latest turn)."""
    output = run.stdout[-OUTPUT_SHOWN_CHARS:]
    cut = run.details.get("output_chars", 0) > len(output)
    lines = [f"Your program {'ran' if run.status is Status.PASSED else 'failed (' + run.status.value + ')'}. "
             f"{'The last ' + str(len(output)) + ' characters of its' if cut else 'Its'} output:",
             f"```\n{output.rstrip(chr(10))}\n```"]
    if run.status is not Status.PASSED:
        error = (run.stderr[-ERROR_SHOWN_CHARS:] or f"{run.exception_type or ''}: {run.message or ''}").strip()
        lines.append(f"Error:\n```\n{error}\n```")
    if left is not None:
        lines.append("This is your last reply: answer in the XML format asked for (if it is a program, what it "
                     "prints is taken as your answer)." if left == 1 else
                     f"You have {left} replies left: answer in the XML format asked for, or run another program.")
    return "\n".join(lines)


@registry.scorers.register
class ToolTurns(BaseScorer):
    """Tool mode: how many replies the final answers took, and how the conversations ended."""

    name = "dia_turns"

    def score(self, task, problems, generations, executions) -> dict:
        finals = [e.details for e in executions if "turns" in e.details]
        if not finals:
            return {}
        used: dict[str, int] = {}
        for details in finals:
            used[str(details["turns"])] = used.get(str(details["turns"]), 0) + 1
        return {"answers": len(finals), "turn_budget": max(d["turn_budget"] for d in finals),
                "mean_turns": sum(d["turns"] for d in finals) / len(finals),
                "turns_used": dict(sorted(used.items(), key=lambda kv: int(kv[0]))),
                "ended_by_budget": sum(d["ended"] == "budget" for d in finals),
                "tool_runs": sum(d["tool_runs"] for d in finals)}

    def columns(self, result: dict) -> list[Column]:
        return [Column("DIA mean turns", result["mean_turns"])] if result else []

    def report(self, result: dict) -> list:
        if not result:
            return []
        return [f"tool conversations: {result['answers']} answers in {result['mean_turns']:.2f} replies on average "
                f"(budget {result['turn_budget']}; replies used: {result['turns_used']}), "
                f"{result['ended_by_budget']} ended by the budget, {result['tool_runs']} programs run"]


def extract_answer(response: str) -> str:
    """As the official evaluator: the <xml>...</xml> of a fenced ```xml block, else the response."""
    match = FENCED_XML.search(response)
    return match.group(1) if match else response


def artefacts(prompt: str) -> dict[str, bytes]:
    """The files a question carries in its text (name -> content)."""
    files = {}
    for name, binary, body in FILE_BLOCK.findall(prompt):
        if binary:
            try:
                files[name] = base64.b64decode("".join(body.split()), validate=True)
            except binascii.Error:
                continue
        else:
            files[name] = body.encode()
    return files


def tool_prelude(files: dict[str, bytes]) -> str:
    """Sandbox prelude that writes the files into the job's working folder (and compiles C)."""
    if not files:
        return ""
    return TOOL_PRELUDE % {name: base64.b64encode(data).decode() for name, data in files.items()}


def grade_answer(answer: str | None, solution: str, normalize_whitespace: bool) -> str:
    """Exact comparison of the response with `<xml>solution</xml>`, whitespace around the
    response aside (inside the tags every character counts, unless normalize_whitespace)."""
    if answer is not None:
        answer, solution = answer.strip(), solution.strip()
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
