"""HumanEval: sources, prompt styles, and chat answers judged in the real sandbox."""

import pytest
from codeharness.core.data import read_records
from codeharness.tasks import create_task
from codeharness.tasks.base import CHAT, COMPLETION
from codeharness.tasks.humaneval import bundled_humaneval

from tests.hub_copies import write_hub_copy


@pytest.fixture(scope="module")
def humaneval():
    task = create_task("humaneval")
    return task, {p.id: p for p in task.load()}


def test_bundled_file_file_path_and_hub_copy_give_the_same_problems(humaneval, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    _, problems = humaneval
    assert len(problems) == 164
    bundled = bundled_humaneval()
    from_file = create_task("humaneval", data_path=str(bundled)).load()
    write_hub_copy(tmp_path / "hub", {"openai_humaneval": {"test": read_records(bundled)}})
    from_hub = create_task("humaneval", data_path=f"hf:{tmp_path / 'hub'}").load()
    key = lambda p: (p.id, p.prompt, p.canonical_solution, p.meta)
    assert [key(p) for p in from_file] == [key(p) for p in from_hub] == [key(p) for p in problems.values()]


def test_completion_prompt_is_the_raw_prompt_with_the_codex_stop_sequences(humaneval):
    task, problems = humaneval
    prompt = task.build_prompt(problems["HumanEval/0"], COMPLETION)
    assert prompt.text == problems["HumanEval/0"].prompt
    assert {"\ndef", "\nclass", "\nif", "\nprint", "\n#"} <= set(prompt.stop)


def test_chat_answers_that_rely_on_the_prompts_helpers_pass(humaneval, local_sandbox):
    task, problems = humaneval
    answers = {
        # encode_cyclic is defined in the prompt only
        "HumanEval/38": "Decoding is encoding twice:\n```python\ndef decode_cyclic(s: str):\n"
                        "    return encode_cyclic(encode_cyclic(s))\n```\nDone!",
        # poly is defined in the prompt only; `math` is the prompt's import
        "HumanEval/32": "```py\ndef find_zero(xs: list):\n    lo, hi = -1e4, 1e4\n    for _ in range(300):\n"
                        "        mid = (lo + hi) / 2\n        if poly(xs, lo) * poly(xs, mid) <= 0:\n"
                        "            hi = mid\n        else:\n            lo = mid\n    return lo\n```",
        # a missing `from typing import List`, and a demo call
        "HumanEval/0": "```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
                       "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)"
                       " for b in numbers[i + 1:])\n\nprint(has_close_elements([1.0, 2.0], 0.5))\n```",
    }
    jobs = [task.build_job(problems[pid], task.extract_program(problems[pid], answer, CHAT), pid)
            for pid, answer in answers.items()]
    verdicts = {o.job_id: task.judge(problems[o.job_id], o).status.value for o in local_sandbox.run(jobs)}
    assert verdicts == {pid: "passed" for pid in answers}
