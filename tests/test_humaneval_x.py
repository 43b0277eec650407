"""HumanEval-X: loaders of upstream's files, programs assembled as upstream's evaluator does,
and its pass rules, through the real toolchains (tests/run.sh installs them).

The whole ground truth (164 canonical solutions per language) is a documented command, not a
test (minutes per language): `codeharness check-gt --task humaneval_x_<lang> --data-path
tests/data/humaneval-x/humaneval_<lang>.jsonl.gz` (README, "Languages")."""

from __future__ import annotations

import gzip

import pytest

from codeharness.core.errors import HarnessError
from codeharness.core.records import CHAT, COMPLETION, Status
from codeharness.sandbox.jobs import Outcome
from codeharness.tasks import create_task

LANGUAGES = ("cpp", "go", "java", "js", "python", "rust")
# Canonical solutions run in CI: the first problem, and those that need a library.
CANONICAL = {"cpp": ("CPP/0", "CPP/22", "CPP/162"), "go": ("Go/0", "Go/1"),
             "java": ("Java/0", "Java/151"), "js": ("JavaScript/0", "JavaScript/162"),
             "python": ("Python/0", "Python/162"), "rust": ("Rust/0", "Rust/162")}
# A wrong body for problem 0 (has_close_elements): always true.
WRONG_BODY = {"cpp": "    return true;\n}\n", "go": "    return true\n}\n",
              "java": "        return true;\n    }\n}\n", "js": "  return true;\n}\n",
              "python": "    return True\n", "rust": "    return true;\n}\n"}


def path(test_data, language):
    return str(test_data / "humaneval-x" / f"humaneval_{language}.jsonl.gz")


@pytest.fixture(scope="module")
def tasks(test_data):
    loaded = {}
    for language in LANGUAGES:
        task = create_task(f"humaneval_x_{language}", data_path=path(test_data, language))
        loaded[language] = (task, {p.id: p for p in task.load()})
    return loaded


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_file_has_164_problems_with_canonical_solutions(tasks, language):
    task, problems = tasks[language]
    assert len(problems) == 164
    assert all(p.canonical_solution and p.canonical_solution.startswith(p.prompt) for p in problems.values())


def test_a_file_of_another_language_is_refused_in_one_line(test_data):
    with pytest.raises(HarnessError) as error:
        create_task("humaneval_x_go", data_path=path(test_data, "cpp")).load()
    assert "is not HumanEval-X go" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(HarnessError, match="data file not found"):
        create_task("humaneval_x_go", data_path=str(test_data / "missing.jsonl")).load()


def test_rust_prompts_are_the_signature_then_the_docstring(test_data):
    with gzip.open(path(test_data, "rust"), "rt") as f:
        import json

        record = json.loads(f.readline())
    task = create_task("humaneval_x_rust", data_path=path(test_data, "rust"))
    problem = task.load()[0]
    assert problem.prompt == record["declaration"] + record["prompt"]
    source = task.build_job(problem, problem.canonical_solution, "x").program
    assert source == "\nfn main(){ \n } \n" + problem.canonical_solution + record["test"]


def test_cpp_adds_only_the_missing_includes(tasks):
    task, problems = tasks["cpp"]
    problem = problems["CPP/0"]
    source = task.build_job(problem, problem.canonical_solution, "x").program
    assert source.startswith("#include<stdlib.h>\n#include<algorithm>\n")
    assert source.count("#include<stdio.h>") == 1  # the prompt has it already
    assert task.build_job(problems["CPP/162"], "", "x").compile_args == ["-std=c++11", "-lcrypto", "-lssl"]
    assert task.build_job(problem, "", "x").compile_args == ["-std=c++11"]


def test_go_imports_what_the_generation_uses_as_upstream(tasks):
    task, problems = tasks["go"]
    problem = problems["Go/0"]
    source = task.build_job(problem, problem.canonical_solution, "x").program
    assert source.startswith(problem.meta["test_setup"] + "\nimport (\n\"math\"\n)\n")
    assert problem.meta["import"] not in source.split(")\n", 2)[2]  # the prompt's own is gone
    body = "    return len(numbers) > 1 && threshold > 0\n}\n"
    assert "import (" not in task.build_job(problem, problem.prompt + body, "x").program.split(
        problem.meta["test_setup"], 1)[1].split("func ", 1)[0]


def test_completions_are_cut_where_the_function_ends(tasks):
    task, problems = tasks["cpp"]
    problem = problems["CPP/0"]
    completion = "    return false;\n}\nint main() { return 1; }\n"
    assert task.extract_program(problem, completion, COMPLETION) == problem.prompt + "    return false;\n}\n"
    # A backend that stopped at the stop sequence dropped it: the brace comes back.
    assert task.extract_program(problem, "    return false;", COMPLETION) == problem.prompt + "    return false;\n}\n"
    python, python_problems = tasks["python"]
    problem = python_problems["Python/0"]
    assert python.extract_program(problem, "    return True\nprint(1)\n", COMPLETION) == problem.prompt + "    return True"
    answer = "Here:\n```cpp\n#include<vector>\nbool f() { return true; }\n```\n"
    assert task.extract_program(problems["CPP/0"], answer, CHAT) == "#include<vector>\nbool f() { return true; }\n"


def test_javascript_fails_on_any_output_as_upstream(tasks):
    task, problems = tasks["js"]
    problem = problems["JavaScript/0"]
    quiet = Outcome("x", Status.PASSED, exit_code=0)
    assert task.judge(problem, quiet).status is Status.PASSED
    for noisy in (Outcome("x", Status.PASSED, stdout="debug\n", exit_code=0),
                  Outcome("x", Status.PASSED, stderr="Assertion failed\n", exit_code=0)):
        judgement = task.judge(problem, noisy)
        assert judgement.status is Status.FAILED and "output on" in judgement.details["rule"]


@pytest.fixture(scope="module")
def verdicts(tasks, local_sandbox):
    """Canonical solutions, wrong programs and the known-bad problems, in one batch."""
    jobs, where = [], {}
    for language, (task, problems) in tasks.items():
        wanted = [(pid, problems[pid].canonical_solution, "canonical") for pid in CANONICAL[language]]
        first = problems[CANONICAL[language][0]]
        wanted.append((first.id, first.prompt + WRONG_BODY[language], "wrong"))
        wanted += [(pid, problems[pid].canonical_solution, "known-bad") for pid in task.known_bad
                   if pid != "JavaScript/162"]
        for problem_id, program, kind in wanted:
            job = task.build_job(problems[problem_id], program, f"{kind}:{problem_id}")
            jobs.append(job)
            where[job.id] = (task, problems[problem_id])
    return {outcome.job_id: where[outcome.job_id][0].judge(where[outcome.job_id][1], outcome)
            for outcome in local_sandbox.run(jobs)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_canonical_solutions_pass_and_a_wrong_program_fails(verdicts, language):
    for problem_id in CANONICAL[language]:
        judgement = verdicts[f"canonical:{problem_id}"]
        assert judgement.status is Status.PASSED, (problem_id, judgement)
    assert verdicts[f"wrong:{CANONICAL[language][0]}"].status is Status.FAILED


def test_the_known_bad_problems_fail_for_their_stated_reason(verdicts):
    assert verdicts["known-bad:JavaScript/112"].status is Status.FAILED
    assert verdicts["known-bad:JavaScript/155"].status is Status.FAILED
    assert verdicts["known-bad:Rust/50"].status is Status.COMPILE_ERROR
