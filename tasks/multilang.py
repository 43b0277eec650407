"""What HumanEval-X and MultiPL-E share: benchmarks whose programs are written in one of many
languages, each problem's program and test harness assembled into one source file that the
sandbox compiles and runs (sandbox/languages.py), and judged by the original evaluator's
rule for that language.

A task class sets `language` (the benchmark's own code for it: "cpp", "rs", "python", ...),
`toolchain` (the sandbox's name for it: "cpp", "rust", "python", ...) and `fence_tags` (what
chat answers label their code blocks with). Subclasses say how a program is assembled
(`source`), with which flags (`job_options`), and what beyond exit 0 a pass needs
(`pass_rule`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from codeharness.core.extract import fenced_blocks
from codeharness.core.records import COMPLETION, PROGRAM
from codeharness.sandbox.jobs import Job, Outcome
from codeharness.tasks.base import BaseTask, Judgement, Problem, Prompt, Status

LANGUAGE_NAMES = {
    "cpp": "C++", "cs": "C#", "d": "D", "go": "Go", "java": "Java", "jl": "Julia",
    "js": "JavaScript", "lua": "Lua", "php": "PHP", "pl": "Perl", "py": "Python",
    "python": "Python", "r": "R", "rb": "Ruby", "rkt": "Racket", "rs": "Rust", "rust": "Rust",
    "scala": "Scala", "sh": "Bash", "swift": "Swift", "ts": "TypeScript",
}
# Statuses that say something went wrong before the program could run to its end.
NOT_RUN_TO_THE_END = (Status.COMPILE_ERROR, Status.TIMEOUT, Status.OUT_OF_MEMORY,
                      Status.SANDBOX_ERROR, Status.SYNTAX_ERROR)


@dataclass
class MultiLanguageTask(BaseTask):
    language: ClassVar[str] = ""
    toolchain: ClassVar[str] = ""
    fence_tags: ClassVar[tuple[str, ...]] = ()

    timeout_s: float = 15.0  # the program's run, per sample
    compile_timeout_s: float = 60.0
    memory_mb: int = 2048

    # ---------------------------------------------------------------- prompts and programs

    def chat_instruction(self, problem: Problem) -> str:
        name = LANGUAGE_NAMES.get(self.language, self.language)
        tag = self.fence_tags[0] if self.fence_tags else self.language
        return (f"Complete the following {name} code. Answer with the whole code, including "
                f"what is given (imports, declarations and the signature), in one ```{tag} "
                f"code block.\n\n```{tag}\n{problem.prompt.strip()}\n```")

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        if style in (COMPLETION, PROGRAM):
            return Prompt(text=problem.prompt, stop=list(self.stops(problem)))
        return super().build_prompt(problem, style)

    def stops(self, problem: Problem) -> tuple[str, ...]:
        return tuple(self.stop_sequences)

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        if style == COMPLETION:
            return problem.prompt + self.completion_body(problem, completion)
        if style == PROGRAM:
            return completion
        return self.program_from_chat(problem, chat_code(completion, self.fence_tags))

    def completion_body(self, problem: Problem, completion: str) -> str:
        """The completion cut where the model went past the function (at the first stop
        sequence, as upstream cuts it)."""
        cut = len(completion)
        for stop in self.stops(problem):
            found = completion.find(stop)
            if found >= 0:
                cut = min(cut, found)
        return completion[:cut]

    def program_from_chat(self, problem: Problem, code: str) -> str:
        """The program (what the prompt and a completion make) from a chat answer's code."""
        return code

    # ---------------------------------------------------------------- jobs and verdicts

    def source(self, problem: Problem, program: str) -> str:
        """The source file the sandbox runs: the program with its test harness."""
        raise NotImplementedError

    def job_options(self, problem: Problem) -> dict:
        """The Job fields of this language: source_name, compile_args, run_args, libraries."""
        return {}

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        return Job(job_id, self.source(problem, program), [], language=self.toolchain,
                   program_timeout_s=self.timeout_s, compile_timeout_s=self.compile_timeout_s,
                   memory_mb=self.memory_mb, **self.job_options(problem))

    def pass_rule(self, outcome: Outcome) -> str | None:
        """Why an outcome that exited 0 still fails (the evaluator's rule), or None."""
        return None

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        status = outcome.verdict
        details: dict = {}
        if status is Status.PASSED:
            why = self.pass_rule(outcome)
            if why:
                status = Status.FAILED
                details["rule"] = why
        return Judgement(status, {g: status for g in self.groups}, details)


def chat_code(answer: str, tags: tuple[str, ...]) -> str:
    """The code of a chat answer: the first fenced block labelled with one of the language's
    tags, else the longest fenced block, else the whole answer."""
    blocks = fenced_blocks(answer)
    tagged = [body for tag, body in blocks if tag in tags]
    if tagged:
        return tagged[0]
    if blocks:
        return max((body for _, body in blocks), key=len)
    return answer


def output_excerpt(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."
