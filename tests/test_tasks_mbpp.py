"""MBPP and sanitized MBPP: loaders (files and Hugging Face layout), prompts, judging."""

import json

import pytest
from codeharness.core.errors import HarnessError
from codeharness.tasks import create_task
from codeharness.tasks.base import CHAT, COMPLETION
from codeharness.tasks.mbpp import entry_point_of
from codeharness.tasks.packaged import packaged_file

from tests.hub_copies import write_hub_copy


@pytest.fixture(scope="module")
def mbpp_file():
    return str(packaged_file("mbpp.jsonl"))


@pytest.fixture(scope="module")
def sanitized_file():
    return str(packaged_file("sanitized-mbpp.json"))


def test_full_set_has_974_and_evaluates_the_test_split_by_default(mbpp_file):
    problems = create_task("mbpp", data_path=mbpp_file).load()
    assert len(problems) == 500
    assert (problems[0].id, problems[-1].id) == ("Mbpp/11", "Mbpp/510")
    counts = {s: len(create_task("mbpp", data_path=mbpp_file, split=s).load())
              for s in ("all", "train", "validation", "prompt")}
    assert counts == {"all": 974, "train": 374, "validation": 90, "prompt": 10}


def test_sanitized_set_has_427(sanitized_file):
    problems = create_task("mbpp_sanitized", data_path=sanitized_file).load()
    assert len(problems) == 427
    assert len(create_task("mbpp_sanitized", data_path=sanitized_file, split="test").load()) == 257


def test_unknown_split_is_refused(mbpp_file):
    with pytest.raises(HarnessError, match="no split 'dev'"):
        create_task("mbpp", data_path=mbpp_file, split="dev").load()


def test_prompt_is_a_docstring_with_the_first_assert(sanitized_file):
    task = create_task("mbpp_sanitized", data_path=sanitized_file)
    problem = task.load()[0]
    assert problem.entry_point == "similar_elements"
    assert problem.prompt.startswith('"""\nWrite a function to find the shared elements')
    assert problem.prompt.endswith('set((4, 5))\n"""\n')
    completion = task.build_prompt(problem, COMPLETION)
    assert completion.text == problem.prompt and "\nassert " in completion.stop
    chat = task.build_prompt(problem, CHAT).messages[0]["content"]
    assert "`similar_elements`" in chat and "assert set(similar_elements" in chat


def test_entry_point_is_the_defined_function_the_tests_call():
    code = "def helper(x):\n    return x\n\ndef main_fn(a):\n    return helper(a)\n"
    assert entry_point_of(code, ["assert set(main_fn(1)) == set((1,))"]) == "main_fn"


def test_reference_passes_and_a_wrong_program_fails_in_the_sandbox(mbpp_file, local_sandbox):
    task = create_task("mbpp", data_path=mbpp_file)
    problem = task.load()[0]  # Mbpp/11, remove_Occ
    wrong = problem.canonical_solution.replace("def remove_Occ", "def remove_Occ_unused") + \
        "\ndef remove_Occ(s, ch):\n    return s.replace(ch, '', 1)\n"
    jobs = [task.build_job(problem, problem.canonical_solution, "right"), task.build_job(problem, wrong, "wrong")]
    verdicts = {o.job_id: task.judge(problem, o) for o in local_sandbox.run(jobs)}
    assert verdicts["right"].groups == {"base": "passed"}
    assert verdicts["wrong"].groups == {"base": "failed"}


def test_chat_answer_becomes_a_program(sanitized_file):
    task = create_task("mbpp_sanitized", data_path=sanitized_file)
    problem = task.load()[0]
    answer = ("Here you go:\n```python\ndef similar_elements(a, b):\n    return tuple(set(a) & set(b))\n\n"
              "print(similar_elements((1, 2), (2, 3)))\n```")
    program = task.extract_program(problem, answer, CHAT)
    assert "print" not in program and "def similar_elements" in program


def test_hugging_face_layout_loads_like_the_files(tmp_path, monkeypatch, mbpp_file, sanitized_file):
    import datasets

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    full = [json.loads(line) for line in open(mbpp_file)]
    sanitized = json.load(open(sanitized_file))
    ranges = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}
    by_split = lambda rows: {s: [r for r in rows if lo <= r["task_id"] <= hi] for s, (lo, hi) in ranges.items()}
    strings = datasets.Sequence(datasets.Value("string"))
    write_hub_copy(tmp_path / "hub", {"full": by_split(full)}, datasets.Features(
        task_id=datasets.Value("int32"), text=datasets.Value("string"), code=datasets.Value("string"),
        test_list=strings, test_setup_code=datasets.Value("string"), challenge_test_list=strings))
    write_hub_copy(tmp_path / "hub-sanitized", {"sanitized": by_split(sanitized)}, datasets.Features(
        source_file=datasets.Value("string"), task_id=datasets.Value("int32"), prompt=datasets.Value("string"),
        code=datasets.Value("string"), test_imports=strings, test_list=strings))

    from_hub = create_task("mbpp", data_path=f"hf:{tmp_path / 'hub'}")
    from_file = create_task("mbpp", data_path=mbpp_file)
    assert [(p.id, p.prompt, p.meta) for p in from_hub.load()] == [(p.id, p.prompt, p.meta) for p in from_file.load()]
    assert from_hub.data_sources()[0]["config"] == "full"
    hub_sanitized = create_task("mbpp_sanitized", data_path=f"hf:{tmp_path / 'hub-sanitized'}").load()
    assert len(hub_sanitized) == 427


def go_offline(monkeypatch, tmp_path):
    """As on the build machines: the hub unreachable and nothing cached. The libraries read
    HF_HUB_OFFLINE when first imported, so their flags are set too."""
    import datasets
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))


def test_offline_the_default_sources_are_the_packaged_release_files(tmp_path, monkeypatch):
    go_offline(monkeypatch, tmp_path)
    for name, file, count in [("mbpp", "mbpp.jsonl", 500), ("mbpp_sanitized", "sanitized-mbpp.json", 427),
                              ("mbpp_plus", "MbppPlus-v0.2.0.jsonl.gz", 378)]:
        task = create_task(name)
        assert len(task.load()) == count
        assert [s["path"] for s in task.data_sources()] == [str(packaged_file(file).resolve())]
    with pytest.raises(HarnessError, match="google-research-datasets/mbpp"):
        create_task("mbpp", data_path="hf:google-research-datasets/mbpp").load()


def test_bad_records_name_the_file_and_record(tmp_path):
    bad = tmp_path / "mbpp.jsonl"
    bad.write_text(json.dumps({"task_id": 11, "text": "t", "code": "pass"}) + "\n")
    with pytest.raises(HarnessError, match=r"mbpp.jsonl record 1: missing field\(s\) test_list"):
        create_task("mbpp", data_path=str(bad)).load()
    with pytest.raises(HarnessError, match="data file not found"):
        create_task("mbpp", data_path=str(tmp_path / "missing.jsonl")).load()


class TimingSandbox:
    """Reports every test of every job as passed in `seconds`; counts the jobs it ran."""

    def __init__(self, seconds: float):
        self.seconds, self.jobs = seconds, 0

    def run(self, jobs):
        from codeharness.core.records import Status
        from codeharness.sandbox.jobs import Outcome, TestOutcome

        for job in jobs:
            self.jobs += 1
            yield Outcome(job.id, Status.PASSED, [TestOutcome(t.name, t.group, Status.PASSED, time_s=self.seconds)
                                                  for t in job.tests])


def test_time_limits_come_from_the_reference_and_are_cached(mbpp_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEHARNESS_CACHE", str(tmp_path))
    task = create_task("mbpp", data_path=mbpp_file, timeout_floor_s=2.0, timeout_factor=5.0)
    problems = task.load()[:2]
    assert {t.timeout_s for t in task.build_job(problems[0], "", "x").tests} == {2.0}  # before prepare
    task.prepare(problems, TimingSandbox(seconds=1.5))
    assert {t.timeout_s for t in task.build_job(problems[0], "", "x").tests} == {7.5}
    again = TimingSandbox(seconds=0.0)
    fresh = create_task("mbpp", data_path=mbpp_file)
    fresh.prepare(fresh.load()[:2], again)
    assert again.jobs == 0
    assert {t.timeout_s for t in fresh.build_job(problems[1], "", "x").tests} == {6.0}
