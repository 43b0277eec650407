"""MultiPL-E: loaders of upstream's prompt files, and each language's evaluator rule through
the real toolchains (tests/run.sh installs them). MultiPL-E has no reference solutions outside
Python: each language is checked with hand-written right solutions (which must pass) and wrong
ones (which must fail), and with upstream's own evaluator smoke inputs (HumanEval_53_add, a
right and a wrong completion per language)."""

from __future__ import annotations

import json

import pytest

from codeharness.core.errors import HarnessError
from codeharness.core.records import CHAT, COMPLETION, Status
from codeharness.sandbox.jobs import Outcome
from codeharness.tasks import create_task
from codeharness.tasks.base import Problem
from codeharness.tasks.multipl_e import LANGUAGES, TASKS

INSTALLED = ("cpp", "cs", "d", "go", "java", "js", "lua", "php", "pl", "py", "r", "rb", "rkt",
             "rs", "scala", "sh", "ts")
# Problems per file, from upstream's files (SOURCE.md of the data): HumanEval, MBPP.
COUNTS = {"cpp": (161, 398), "cs": (158, 387), "d": (156, 358), "go": (154, 375), "java": (158, 387),
          "js": (161, 399), "lua": (161, 399), "php": (161, 399), "pl": (161, 399), "py": (161, 399),
          "r": (161, 397), "rb": (161, 399), "rkt": (161, 399), "rs": (156, 354), "scala": (160, 397),
          "sh": (158, 389), "ts": (159, 391)}

# Hand-written completions, checked by hand against each prompt: (problem, completion) pairs
# that must pass. Problems: HumanEval_23_strlen, HumanEval_52_below_threshold and
# mbpp_17_square_perimeter (PHP: HumanEval_60_sum_to_n, as no PHP program may declare a
# function named strlen). Completions continue the prompt and stop where the tests begin.
S, B, Q, N = "HumanEval_23_strlen", "HumanEval_52_below_threshold", "mbpp_17_square_perimeter", "HumanEval_60_sum_to_n"
RIGHT = {
    "cpp": {S: "\n    return string.size();\n", B: "\n    for (long x : l) if (x >= t) return false;\n    return true;\n",
            Q: "\n    return 4 * a;\n"},
    "cs": {S: "    public static long Strlen(string str) {\n        return str.Length;\n",
           B: "    public static bool BelowThreshold(List<long> l, long t) {\n        return l.All(x => x < t);\n",
           Q: "        return 4 * a;\n"},
    "d": {S: "{\n    return string.length;\n}\n", B: "{\n    foreach (x; l) if (x >= t) return false;\n    return true;\n}\n",
          Q: "{\n    return 4 * a;\n}\n"},
    "go": {S: "\n    return len(myString)\n}\n",
           B: "\n    for _, x := range l {\n        if x >= t {\n            return false\n        }\n    }\n    return true\n}\n",
           Q: "\n    return 4 * a\n}\n"},
    "java": {S: "\n        return string.length();\n",
             B: "\n        for (long x : l) { if (x >= t) return false; }\n        return true;\n",
             Q: "\n        return 4 * a;\n"},
    "js": {S: "\n  return string.length;\n}\n", B: "\n  return l.every(x => x < t);\n}\n", Q: "\n  return 4 * a;\n}\n"},
    "lua": {S: "\n  return #string\nend\n",
            B: "\n  for _, x in ipairs(l) do\n    if x >= t then return false end\n  end\n  return true\nend\n",
            Q: "\n  return 4 * a\nend\n"},
    "php": {N: "\n    return intdiv($n * ($n + 1), 2);\n}\n",
            B: "\n    foreach ($l as $x) { if ($x >= $t) { return false; } }\n    return true;\n}\n",
            Q: "\n    return 4 * $a;\n}\n"},
    "pl": {S: "\n    return length($string);\n}\n",
           B: "\n    foreach my $x (@$l) { return \"\" if $x >= $t; }\n    return 1;\n}\n",
           Q: "\n    return 4 * $a;\n}\n"},
    "py": {S: "    return len(string)\n", B: "    return all(x < t for x in l)\n", Q: "    return 4 * a\n"},
    "r": {S: "\n  nchar(string)\n}\n", B: "\n  all(l < t)\n}\n", Q: "\n  4 * a\n}\n"},
    "rb": {S: "\n  string.length\nend\n", B: "\n  l.all? { |x| x < t }\nend\n", Q: "\n  4 * a\nend\n"},
    "rkt": {S: "\n  (string-length string))\n", B: "\n  (andmap (lambda (x) (< x t)) l))\n", Q: "\n  (* 4 a))\n"},
    "rs": {S: "\n    string.len() as isize\n", B: "\n    l.iter().all(|&x| x < t)\n", Q: "\n    4 * a\n"},
    "scala": {S: "\n        string.length.toLong\n", B: "\n        l.forall(x => x < t)\n", Q: "\n        4 * a\n"},
    "sh": {S: "\n    echo ${#1}\n",
           B: "\n    for x in $1; do\n        if (( x >= $2 )); then echo false; return; fi\n    done\n    echo true\n",
           Q: "\n    echo $(( 4 * $1 ))\n"},
    "ts": {S: "\n  return string.length;\n}\n", B: "\n  return l.every(x => x < t);\n}\n", Q: "\n  return 4 * a;\n}\n"},
}
# Wrong ones: the first right completion with its answer off by one or always true.
WRONG_EDITS = {
    "cpp": (S, "size();", "size() + 1;"), "cs": (S, "Length;", "Length + 1;"), "d": (S, "length;", "length + 1;"),
    "go": (S, "len(myString)", "len(myString) + 1"), "java": (S, "length();", "length() + 1;"),
    "js": (S, "length;", "length + 1;"), "lua": (S, "#string", "#string + 1"),
    "php": (N, "intdiv($n * ($n + 1), 2)", "intdiv($n * ($n + 1), 2) + 1"),
    "pl": (S, "length($string)", "length($string) + 1"), "py": (S, "len(string)", "len(string) + 1"),
    "r": (S, "nchar(string)", "nchar(string) + 1"), "rb": (S, "string.length", "string.length + 1"),
    "rkt": (S, "(string-length string)", "(+ 1 (string-length string))"),
    "rs": (S, "string.len() as isize", "string.len() as isize + 1"),
    "scala": (S, "string.length.toLong", "string.length.toLong + 1"), "sh": (S, "${#1}", "$(( ${#1} + 1 ))"),
    "ts": (S, "length;", "length + 1;"),
}
WRONG_ALWAYS_TRUE = {
    "cpp": "\n    return true;\n", "cs": "    public static bool BelowThreshold(List<long> l, long t) {\n        return true;\n",
    "d": "{\n    return true;\n}\n", "go": "\n    return true\n}\n", "java": "\n        return true;\n",
    "js": "\n  return true;\n}\n", "lua": "\n  return true\nend\n", "php": "\n    return true;\n}\n",
    "pl": "\n    return 1;\n}\n", "py": "    return True\n", "r": "\n  TRUE\n}\n", "rb": "\n  true\nend\n",
    "rkt": "\n  #t)\n", "rs": "\n    true\n", "scala": "\n        true\n", "sh": "\n    echo true\n",
    "ts": "\n  return true;\n}\n",
}


def data_file(test_data, benchmark: str, code: str) -> str:
    return str(test_data / "multipl-e" / benchmark / f"{benchmark}-{code}-reworded.jsonl.gz")


@pytest.fixture(scope="module")
def loaded(test_data):
    found = {}
    for code in INSTALLED:
        for benchmark in ("humaneval", "mbpp"):
            task = create_task(f"multiple_{benchmark}_{code}", data_path=data_file(test_data, benchmark, code))
            found[benchmark, code] = (task, {p.id: p for p in task.load()})
    return found


def test_every_language_and_benchmark_is_a_task():
    assert len(TASKS) == 2 * len(LANGUAGES) == 38
    assert set(INSTALLED) < set(LANGUAGES) and {"jl", "swift"} <= set(LANGUAGES)


@pytest.mark.parametrize("code", INSTALLED)
def test_the_files_load_with_upstreams_counts(loaded, code):
    assert (len(loaded["humaneval", code][1]), len(loaded["mbpp", code][1])) == COUNTS[code]


def test_a_wrong_file_is_refused_in_one_line(test_data):
    for name, path in (("multiple_humaneval_go", data_file(test_data, "humaneval", "cpp")),
                       ("multiple_mbpp_cpp", data_file(test_data, "humaneval", "cpp"))):
        with pytest.raises(HarnessError) as error:
            create_task(name, data_path=path).load()
        assert "is this the" in str(error.value) and "\n" not in str(error.value)


def test_completions_are_cut_at_the_first_stop_token(loaded):
    task, problems = loaded["humaneval", "rs"]
    problem = problems[S]
    assert task.build_prompt(problem, COMPLETION).stop == ["\n}"]
    program = task.extract_program(problem, "\n    string.len() as isize\n}\nfn other() {}\n", COMPLETION)
    assert program == problem.prompt + "\n    string.len() as isize"
    answer = ("Sure:\n```rust\nfn strlen(string: String) -> isize {\n    string.len() as isize\n}\n```")
    assert task.extract_program(problem, answer, CHAT) == problem.prompt + "    string.len() as isize"


def _judged(task, problem: Problem, outcome: Outcome) -> Status:
    return task.judge(problem, outcome).status


def test_upstreams_extra_rules(loaded):
    ok = dict(status=Status.PASSED, exit_code=0)
    go, go_problems = loaded["humaneval", "go"]
    assert _judged(go, go_problems[S], Outcome("x", **ok, stdout="PASS\n")) is Status.PASSED
    assert _judged(go, go_problems[S], Outcome("x", **ok, stdout="--- FAIL: TestX\nFAIL\n")) is Status.FAILED
    pl, pl_problems = loaded["humaneval", "pl"]
    assert _judged(pl, pl_problems[S], Outcome("x", **ok, stderr="ERROR: x")) is Status.FAILED
    for code in ("rkt", "scala"):
        task, problems = loaded["humaneval", code]
        assert _judged(task, problems[S], Outcome("x", **ok, stderr="FAILURE\n")) is Status.FAILED
        assert _judged(task, problems[S], Outcome("x", **ok)) is Status.PASSED
    cs, cs_problems = loaded["humaneval", "cs"]
    assertion = "---- DEBUG ASSERTION FAILED ----\n  at System.Diagnostics.DefaultTraceListener.Fail"
    assert _judged(cs, cs_problems[S], Outcome("x", **ok, stderr=assertion)) is Status.FAILED
    # Upstream ignores mono's exit code: only a reported failure fails.
    assert _judged(cs, cs_problems[S], Outcome("x", Status.ERROR, exit_code=1)) is Status.PASSED
    assert _judged(cs, cs_problems[S], Outcome("x", Status.ERROR, exit_code=1,
                                               stderr="Unhandled Exception:\nSystem.Exception")) is Status.ERROR
    js, js_problems = loaded["humaneval", "js"]  # output alone fails nothing here
    assert _judged(js, js_problems[S], Outcome("x", **ok, stdout="noise", stderr="noise")) is Status.PASSED


@pytest.fixture(scope="module")
def verdicts(loaded, local_sandbox, test_data):
    """Every hand-written solution, wrong solution and upstream smoke completion, one batch."""
    jobs, where = [], {}

    def add(job_id, task, problem, completion):
        job = task.build_job(problem, problem.prompt + completion, job_id)
        jobs.append(job)
        where[job_id] = (task, problem)

    for code in INSTALLED:
        for problem_id, completion in RIGHT[code].items():
            benchmark = "mbpp" if problem_id.startswith("mbpp") else "humaneval"
            task, problems = loaded[benchmark, code]
            add(f"right:{code}:{problem_id}", task, problems[problem_id], completion)
        task, problems = loaded["humaneval", code]
        problem_id, before, after = WRONG_EDITS[code]
        assert before in RIGHT[code][problem_id]
        add(f"wrong:{code}:{problem_id}", task, problems[problem_id], RIGHT[code][problem_id].replace(before, after))
        add(f"wrong:{code}:{B}", task, problems[B], WRONG_ALWAYS_TRUE[code])
        smoke = json.loads((test_data / "multipl-e" / "smoke" / f"{code}-davinci-0.2-keep-HumanEval53.json").read_text())
        problem = Problem(smoke["name"], smoke["prompt"], meta={"tests": smoke["tests"],
                                                                 "stop_tokens": smoke["stop_tokens"]})
        for index, completion in enumerate(smoke["completions"]):
            add(f"smoke:{code}:{index}", task, problem, completion)
    return {o.job_id: (where[o.job_id][0].judge(where[o.job_id][1], o), o)
            for o in local_sandbox.run(jobs)}


@pytest.mark.parametrize("code", INSTALLED)
def test_hand_written_right_solutions_pass_and_wrong_ones_fail(verdicts, code):
    for problem_id in RIGHT[code]:
        judgement, outcome = verdicts[f"right:{code}:{problem_id}"]
        assert judgement.status is Status.PASSED, (problem_id, outcome.status, outcome.message, outcome.stderr)
    for problem_id in (WRONG_EDITS[code][0], B):
        judgement, outcome = verdicts[f"wrong:{code}:{problem_id}"]
        assert judgement.status is not Status.PASSED, (problem_id, outcome)


@pytest.mark.parametrize("code", INSTALLED)
def test_upstreams_smoke_inputs_right_then_wrong(verdicts, code):
    right, wrong = verdicts[f"smoke:{code}:0"], verdicts[f"smoke:{code}:1"]
    assert right[0].status is Status.PASSED, (right[1].status, right[1].message, right[1].stderr)
    assert wrong[0].status is not Status.PASSED
    # Typos are compile errors where a compiler runs first, syntax errors where one is read.
    if code in ("cpp", "cs", "d", "go", "java", "rs", "scala", "ts"):
        assert wrong[0].status is Status.COMPILE_ERROR, wrong[1].message
