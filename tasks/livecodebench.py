"""LiveCodeBench code generation (Jain et al., 2024, arXiv:2403.07974): contest problems from
LeetCode (functional, with starter code), AtCoder and Codeforces (standard input), each
dated, so a model is scored on problems published after its training data.

Sources: `--data-path` a `code_generation_lite` JSONL file (`test.jsonl`, `test2.jsonl`,
...), a folder of them, or `hf:NAME`; by default the Hugging Face dataset
`livecodebench/code_generation_lite`, whose files are downloaded one by one (its loading
script does not run in current `datasets`). `--release` picks the files as upstream's
loading script does: `release_v1` ... `release_v6` and `release_latest` (cumulative),
`v1` ... `v6` (one file each) and `vN_vM` (files N to M); a single file is read whole.
`--start-date` / `--end-date` (YYYY-MM-DD, inclusive, compared with `contest_date` as
upstream's compute_scores does) keep the problems of a window, for contamination control;
`--platform` keeps one platform.

Records: `question_title`, `question_content`, `platform`, `question_id`, `contest_id`,
`contest_date`, `starter_code`, `difficulty`, `public_test_cases`, `private_test_cases`,
`metadata`. Test lists are JSON text; private tests may instead be base64 of zlib of a
pickle of that JSON text: they are unpickled by an unpickler that accepts only strings and
bytes, so a file can carry no code. Tests are the public ones then the private ones
(`--tests public` for the public ones alone), each under `--timeout-s` (6 s, upstream's).

Prompts are upstream's (lcb_runner/prompts/code_generation.py): `chat` is the OpenAI chat
format (system message and the question template), `completion` the same text for models
without a chat template (upstream's "OC" style); the answer is the first fenced block, as
upstream's extract_code takes it. Judging is upstream's run_test (tasks/livecodebench_runtime.py).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from codeharness.core import registry
from codeharness.core.data import HF_PREFIX, read_records, require_fields
from codeharness.core.errors import HarnessError
from codeharness.core.passk import pass_at_k
from codeharness.core.records import Prompt, Status
from codeharness.sandbox.jobs import Job, Outcome, TestCase
from codeharness.scorers import default_scorers
from codeharness.scorers.base import BaseScorer, Column, Scorer
from codeharness.tasks.base import (
    CHAT,
    COMPLETION,
    PROGRAM,
    BaseTask,
    Judgement,
    Problem,
)

HF_DATASET = "livecodebench/code_generation_lite"
FIELDS = ("question_title", "question_content", "platform", "question_id", "contest_id",
          "contest_date", "starter_code", "difficulty", "public_test_cases",
          "private_test_cases", "metadata")
PLATFORMS = ("leetcode", "atcoder", "codeforces")
DIFFICULTIES = ("easy", "medium", "hard")
TEST_TYPES = ("stdin", "functional")
RUNTIME_SOURCE = Path(__file__).with_name("livecodebench_runtime.py").read_text(encoding="utf-8")
WRONG_ANSWER = "WrongAnswer"

# upstream's loading script (code_generation_lite.py): the files of each release
FILES = ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl"]
RELEASES = {f"release_v{n}": FILES[:n] for n in range(1, len(FILES) + 1)}
RELEASES["release_latest"] = list(FILES)
RELEASES.update({f"v{n}": [FILES[n - 1]] for n in range(1, len(FILES) + 1)})
RELEASES.update({f"v{a}_v{b}": FILES[a - 1:b] for a in range(1, len(FILES) + 1)
                 for b in range(a + 1, len(FILES) + 1)})

# upstream's prompt (lcb_runner/prompts/code_generation.py, MIT)
SYSTEM_MESSAGE = ("You are an expert Python programmer. You will be given a question (problem "
                  "specification) and will generate a correct Python program that matches the "
                  "specification and passes all tests. You will NOT return anything except for "
                  "the program.")
FORMAT_WITH_STARTER = ("You will use the following starter code to write the solution to the "
                       "problem and enclose your code within delimiters.")
FORMAT_WITHOUT_STARTER = ("Read the inputs from stdin solve the problem and write the answer to "
                          "stdout (do not directly test on the sample inputs). Enclose your code "
                          "within delimiters as follows.")


def question_prompt(question: str, starter_code: str) -> str:
    """get_generic_question_template_answer"""
    prompt = f"### Question:\n{question}\n\n"
    if starter_code:
        prompt += f"### Format: {FORMAT_WITH_STARTER}\n"
        prompt += f"```python\n{starter_code}\n```\n\n"
    else:
        prompt += f"### Format: {FORMAT_WITHOUT_STARTER}\n"
        prompt += "```python\n# YOUR CODE HERE\n```\n\n"
    prompt += "### Answer: (use the provided format with backticks)\n\n"
    return prompt


def extract_code(answer: str) -> str:
    """upstream's extract_code: the lines between the first two lines holding ```."""
    lines = answer.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[0] + 1:fences[1]])


class _StringsOnly(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"a test list may only hold text, not {module}.{name}")


def decode_tests(text, where: str) -> list[dict]:
    """A test list: JSON text, or base64(zlib(pickle(JSON text))) as upstream stores private
    tests; checked to be a list of {input, output, testtype} objects."""
    if not isinstance(text, str):
        raise HarnessError(f"{where}: expected the test list as text, got {type(text).__name__}")
    try:
        tests = json.loads(text)
    except json.JSONDecodeError:
        try:
            inner = _StringsOnly(io.BytesIO(zlib.decompress(base64.b64decode(text, validate=True)))).load()
            tests = json.loads(inner)
        except (ValueError, zlib.error, pickle.UnpicklingError, EOFError, TypeError) as exc:
            raise HarnessError(f"{where}: neither JSON nor base64-zlib-pickled JSON ({exc})") from exc
    if not isinstance(tests, list):
        raise HarnessError(f"{where}: expected a list of tests")
    for index, test in enumerate(tests):
        if not (isinstance(test, dict) and isinstance(test.get("input"), str)
                and isinstance(test.get("output"), str) and test.get("testtype") in TEST_TYPES):
            raise HarnessError(f"{where} test {index + 1}: needs text 'input' and 'output' and "
                               f"a 'testtype' of {' or '.join(TEST_TYPES)}")
    return tests


def parse_date(text: str, what: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d")
    except (TypeError, ValueError) as exc:
        raise HarnessError(f"{what} must be a date YYYY-MM-DD, got {text!r}") from exc


@registry.tasks.register
@dataclass
class LiveCodeBench(BaseTask):
    name = "livecodebench"
    prompt_styles = (COMPLETION, CHAT)

    release: str = "release_latest"
    start_date: str | None = None
    end_date: str | None = None
    platform: str | None = None
    tests: str = "all"
    timeout_s: float = 6.0

    def __post_init__(self):
        super().__post_init__()
        if self.release not in RELEASES:
            raise HarnessError(f"task livecodebench has no --release {self.release!r}; choose "
                               "release_v1 ... release_v6, release_latest, v1 ... v6 or vN_vM")
        if self.tests not in ("all", "public"):
            raise HarnessError(f"--tests must be all or public, not {self.tests!r}")
        if self.platform is not None and self.platform not in PLATFORMS:
            raise HarnessError(f"--platform must be one of {', '.join(PLATFORMS)}, not {self.platform!r}")
        if not (isinstance(self.timeout_s, (int, float)) and self.timeout_s > 0):
            raise HarnessError(f"--timeout-s must be a positive number, not {self.timeout_s!r}")
        self._start = parse_date(str(self.start_date), "--start-date") if self.start_date else None
        self._end = parse_date(str(self.end_date), "--end-date") if self.end_date else None

    # -- loading

    def load(self) -> list[Problem]:
        problems, seen, outside = [], {}, 0
        for where, record in self._records():
            problem = self._problem(record, where)
            if problem.id in seen:
                raise HarnessError(f"{where}: question_id {problem.id!r} again (first at {seen[problem.id]})")
            seen[problem.id] = where
            date = problem.meta["contest_date"]
            if ((self._start and date < self._start) or (self._end and date > self._end)
                    or (self.platform and problem.meta["platform"] != self.platform)):
                outside += 1
                continue
            problems.append(problem)
        if not problems:
            raise HarnessError(f"task livecodebench: no problems in the window ({outside} outside "
                               "--start-date/--end-date/--platform)" if outside else
                               "task livecodebench: the data holds no problems")
        for problem in problems:
            problem.meta["contest_date"] = problem.meta["contest_date"].isoformat()
        return problems

    def _problem(self, record, where: str) -> Problem:
        if not isinstance(record, dict):
            raise HarnessError(f"{where}: expected a JSON object")
        require_fields(record, FIELDS, where)
        public = decode_tests(record["public_test_cases"], f"{where} public_test_cases")
        private = decode_tests(record["private_test_cases"], f"{where} private_test_cases")
        try:
            metadata = json.loads(record["metadata"]) if isinstance(record["metadata"], str) else record["metadata"]
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{where}: metadata is not JSON ({exc.msg})") from exc
        if not isinstance(metadata, dict):
            raise HarnessError(f"{where}: metadata must be a JSON object")
        fn_name = metadata.get("func_name")
        tests = public + ([] if self.tests == "public" else private)
        if not tests:
            raise HarnessError(f"{where}: the problem has no tests")
        kinds = {t["testtype"] for t in tests}
        if kinds != {"functional" if fn_name else "stdin"}:
            raise HarnessError(f"{where}: tests of type {', '.join(sorted(kinds))} with "
                               f"{'func_name ' + repr(fn_name) if fn_name else 'no func_name'}")
        try:
            date = datetime.fromisoformat(str(record["contest_date"]))
        except ValueError as exc:
            raise HarnessError(f"{where}: contest_date {record['contest_date']!r} is not an ISO date") from exc
        if record["platform"] not in PLATFORMS or record["difficulty"] not in DIFFICULTIES:
            raise HarnessError(f"{where}: platform must be one of {', '.join(PLATFORMS)} and "
                               f"difficulty one of {', '.join(DIFFICULTIES)}")
        return Problem(
            id=str(record["question_id"]), prompt=record["question_content"], entry_point=fn_name,
            meta={"title": record["question_title"], "platform": record["platform"],
                  "contest_id": record["contest_id"], "contest_date": date,
                  "difficulty": record["difficulty"], "starter_code": record["starter_code"] or "",
                  "fn_name": fn_name, "public_tests": len(public),
                  "tests": [(t["input"], t["output"]) for t in tests]},
        )

    def _records(self):
        for path in self._files():
            for index, record in enumerate(read_records(self.record_file(path)), start=1):
                yield f"{path} record {index}", record

    def _files(self) -> list[Path]:
        source = self.data_path or HF_PREFIX + HF_DATASET
        if source.startswith(HF_PREFIX):
            return [self._download(source[len(HF_PREFIX):], name) for name in RELEASES[self.release]]
        path = Path(source)
        if path.is_dir():
            files = [path / name for name in RELEASES[self.release] if (path / name).is_file()]
            if not files:
                raise HarnessError(f"{path}: none of {', '.join(RELEASES[self.release])} "
                                   f"(release {self.release}) is in this folder")
            return files
        if not path.is_file():
            raise HarnessError(f"{path}: data file or folder not found")
        return [path]

    def _download(self, name: str, filename: str) -> Path:
        try:
            from huggingface_hub import hf_hub_download
        except ImportError as exc:
            raise HarnessError("reading LiveCodeBench from the Hub needs huggingface_hub "
                               "(`pip install codeharness[datasets]`)") from exc
        try:
            return Path(hf_hub_download(name, filename, repo_type="dataset"))
        except Exception as exc:
            raise HarnessError(
                f"could not download {filename} of the Hugging Face dataset {name!r}: {exc}\n"
                "Task 'livecodebench' reads it unless given --data-path (a code_generation_lite "
                "JSONL file, or a folder of them).") from exc

    # -- prompts and answers

    def build_prompt(self, problem: Problem, style: str) -> Prompt:
        question = question_prompt(problem.prompt, problem.meta["starter_code"])
        if style == CHAT:
            return Prompt(messages=[{"role": "system", "content": SYSTEM_MESSAGE},
                                    {"role": "user", "content": question}])
        if style in (COMPLETION, PROGRAM):
            return Prompt(text=f"{SYSTEM_MESSAGE}\n\n{question}", stop=["\n### Question"])
        raise HarnessError(f"task {self.name!r} has no prompt style {style!r}; "
                           f"choose one of {', '.join(self.prompt_styles)}")

    def extract_program(self, problem: Problem, completion: str, style: str) -> str:
        return completion if style == PROGRAM else extract_code(completion)

    # -- judging

    def build_job(self, problem: Problem, program: str, job_id: str) -> Job:
        fn_name = problem.meta["fn_name"]
        if fn_name:
            load = f"lcb_program = CallProgram({program!r}, {fn_name!r})"
        else:
            load = f"lcb_program = StdioProgram({program!r})"
        tests = [TestCase(f"{'public' if i < problem.meta['public_tests'] else 'private'} {i}",
                          f"lcb_program.check({given!r}, {wanted!r})", timeout_s=self.timeout_s)
                 for i, (given, wanted) in enumerate(problem.meta["tests"])]
        return Job(job_id, load, tests, prelude=RUNTIME_SOURCE, program_timeout_s=self.timeout_s)

    def judge(self, problem: Problem, outcome: Outcome) -> Judgement:
        """upstream's per-test codes: True, -2 wrong answer, -3 time limit, -4 runtime error."""
        status = outcome.verdict
        failing = outcome.first_failure()
        if status is Status.FAILED and (failing or outcome).exception_type != WRONG_ANSWER:
            status = Status.ERROR  # the program's own failed assert: a runtime error
        details = {}
        if failing is not None:
            details["failed_test"] = failing.name
            details["error_code"] = {Status.FAILED: -2, Status.TIMEOUT: -3}.get(status, -4)
        elif outcome.status is not Status.PASSED:
            details["error_code"] = -3 if outcome.status is Status.TIMEOUT else -4
        return Judgement(status, {"base": status}, details)

    def scorers(self) -> list[Scorer]:
        return [*default_scorers(), LiveCodeBenchBreakdown()]


@registry.scorers.register
class LiveCodeBenchBreakdown(BaseScorer):
    """pass@1 by difficulty and by platform (upstream's compute_scores prints the first),
    and the contest dates the scores stand for."""

    name = "livecodebench_breakdown"

    def score(self, task, problems, generations, executions) -> dict:
        meta = {p.id: p.meta for p in problems}
        runs: dict[str, list[bool]] = defaultdict(list)
        for execution in executions:
            runs[execution.problem_id].append(execution.status is Status.PASSED)
        per_problem = {pid: pass_at_k(len(r), sum(r), 1) for pid, r in runs.items() if pid in meta}
        result: dict = {}
        for key in ("difficulty", "platform"):
            groups: dict[str, list[float]] = defaultdict(list)
            for pid, value in per_problem.items():
                groups[meta[pid][key]].append(value)
            result[key] = {g: {"problems": len(v), "pass@1": sum(v) / len(v)} for g, v in sorted(groups.items())}
        dates = sorted(meta[pid]["contest_date"] for pid in per_problem)
        result["contest_dates"] = {"first": dates[0], "last": dates[-1]} if dates else {}
        result["window"] = {"start_date": getattr(task, "start_date", None),
                            "end_date": getattr(task, "end_date", None),
                            "release": getattr(task, "release", None)}
        return result

    def columns(self, result: dict) -> list[Column]:
        return [Column(f"{level} pass@1", result["difficulty"][level]["pass@1"], percent=True)
                for level in DIFFICULTIES if level in result.get("difficulty", {})]

    def report(self, result: dict) -> list:
        if not result.get("difficulty"):
            return []
        parts = ", ".join(f"{level} {100 * v['pass@1']:.1f}% ({v['problems']})"
                          for level, v in result["difficulty"].items())
        dates = result["contest_dates"]
        line = (f"pass@1 by difficulty: {parts}; contests {dates.get('first', '?')[:10]} to "
                f"{dates.get('last', '?')[:10]}")
        return [line]
