"""CoTACS per task (issue 18) with a scripted model whose every answer is known: candidates
come from training items and are scored only on the other training items, the declared call
is used, the best program answers the test items, the baselines see the same training items,
and the counts of model calls, the SFT export and the battery files are what they must be."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from codeharness.core.errors import HarnessError
from codeharness.core.records import SamplingConfig
from codeharness.core.rundir import RunDir
from codeharness.pipeline import cotacs
from codeharness.tasks import dia_templates
from codeharness.tasks.cotacs_battery import (
    TEXT,
    VALUE,
    Family,
    Item,
    answers_match,
    families,
    read_battery,
    signature_problem,
    write_battery,
)

from tests.fakes import ScriptedBackend

CRUXEVAL = Path(__file__).parent / "data" / "cruxeval" / "cruxeval.jsonl"


def vowels_family() -> Family:
    """Count the vowels: the program written for 'queue' is the good one (the script says so)."""
    words = ["banana", "queue", "rhythm", "education", "sky", "aeiou", "strength", "idea"]
    items = [Item(f"vowels/{w}", w, (w,), sum(c in "aeiou" for c in w)) for w in words]
    return Family("vowels", "Count the vowels in the word.", "count", ("word",), VALUE,
                  tuple(items[:5]), tuple(items[5:]))


def reverse_family() -> Family:
    """Reverse the words: no candidate is good; few-shot knows the answers."""
    texts = ["a b c", "one two", "x y z w", "hello there world", "red green", "up down", "left right mid"]
    items = [Item(f"reverse/{i}", t, (t,), " ".join(reversed(t.split()))) for i, t in enumerate(texts)]
    return Family("reverse", "Reverse the order of the words.", "flip", ("sentence",), TEXT,
                  tuple(items[:4]), tuple(items[4:]))


FAMILIES = [vowels_family(), reverse_family()]
GOLD = {item.input: item.answer for f in FAMILIES for item in (*f.train, *f.test)}
TRAIN = {item.input for f in FAMILIES for item in f.train}
TEST = {item.input for f in FAMILIES for item in f.test}


def text_of(prompt) -> str:
    return prompt.text if prompt.text is not None else "\n".join(m["content"] for m in prompt.messages)


class Model:
    """Writes `# for <input>` programs (a good one for 'queue', an unusable one for 'banana':
    a wrong signature in chat, where the model writes the header, a syntax error otherwise); emulates good programs right and others wrong; answers zero-shot wrong and
    few-shot right when it sees the reverse family's training items."""

    def __init__(self):
        self.violations: list[str] = []
        self.emulated: list[tuple[str, str]] = []  # (program's item, emulated item)
        self.asked_programs: list[str] = []

    def __call__(self, key, index, prompt) -> str:
        text = text_of(prompt)
        tail = "### Instruction\n" + text.rsplit("### Instruction\n", 1)[-1]
        last = re.findall(r"### Instruction\n(.*?)\n### Input\n(.*?)\n### Code\n(.*)", tail, re.S)
        if last:
            instruction, item, code = last[-1]
            header = "count(word)" if "vowels" in instruction else "flip(sentence)"
            if not code.strip() or code.strip() == f"def {header}:":  # write a program
                self.asked_programs.append(item)
                if item == "banana":
                    return "    return {'answer': 0\n" if code.strip() else "def count(a, b):\n    return 0\n"
                good = "    # GOOD\n" if item == "queue" else ""
                body = f"    # for {item}\n{good}    return {{'answer': helper(word)}}\n"
                return body if code.strip() else f"def {header}:\n{body}"
            written_for = re.search(r"# for (.*)\n", code).group(1)
            self.emulated.append((written_for, item))
            call = re.search(r">>> (.*)\n", code).group(1)
            if not call.startswith(("count(", "flip(")) or repr(item) not in call:
                self.violations.append(f"call {call!r} for {item!r}")
            answer = GOLD[item] if "GOOD" in code else "wrong"
            return f"{{'step': 1, 'answer': {answer!r}}}\ntrailing words"
        if "Reverse the order" in text and all(t in text for t in ("a b c", "hello there world")):
            question = (re.findall(r"Input:\n(.*?)\nAnswer:", text)[-1] if prompt.text is not None
                        else prompt.messages[-1]["content"])
            return " ".join(reversed(question.split())) + "\nmore"
        return "no idea"


def search(tmp_path, model, chosen=FAMILIES, style="completion", cache=None, **budget):
    backend = ScriptedBackend(model, supports_chat=style == "chat")
    config = cotacs.SearchConfig(**{"candidates": 3, "train_items": 4, "test_items": 2, "keep": 1, **budget})
    call_cache = cotacs.CallCache(cache or tmp_path / "calls.jsonl", backend.describe(), SamplingConfig())
    run = RunDir(tmp_path / "run")
    scores = cotacs.run_search(chosen, backend, SamplingConfig(), call_cache, config, run, style)
    return scores, run, backend


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_the_search_finds_the_program_that_works_on_the_other_training_items(tmp_path, style):
    model = Model()
    scores, run, backend = search(tmp_path, model, style=style, candidates=4)
    assert not model.violations
    trace = json.loads((run.path / "search_trace.json").read_text())
    vowels = trace["families"]["vowels"]
    inputs = {item.id: item.input for f in FAMILIES for item in (*f.train, *f.test)}
    kept = {inputs[c["written_for"]] for f in trace["families"].values() for c in f["candidates"] if c["kept"]}
    # A candidate is never emulated on its own item; a test item only by a kept program, or by
    # the fresh program written for it (the per-item baseline).
    assert all(program != item for program, item in model.emulated if program in TRAIN)
    assert all(program in kept or program == item for program, item in model.emulated if item in TEST)
    assert not {item for program, item in model.emulated if program in TRAIN and program not in kept} & TEST
    by_item = {c["written_for"]: c for c in vowels["candidates"]}
    assert set(by_item) == {"vowels/banana", "vowels/queue", "vowels/rhythm", "vowels/education"}
    assert by_item["vowels/banana"]["unusable"] == ("count takes 2 parameters, the task calls it with 1"
                                                    if style == "chat" else "syntax error: '{' was never closed (line 2)")
    assert by_item["vowels/queue"]["train_accuracy"] == 1.0 and by_item["vowels/queue"]["kept"]
    assert set(by_item["vowels/queue"]["train_results"]) == {"vowels/banana", "vowels/rhythm", "vowels/education"}
    assert by_item["vowels/rhythm"]["train_accuracy"] == 0.0
    families_scores = scores["families"]
    assert families_scores["vowels"]["cotacs"] == 1.0 and families_scores["reverse"]["cotacs"] == 0.0
    assert families_scores["vowels"]["few_shot"] == 0.0 and families_scores["reverse"]["few_shot"] == 1.0
    assert families_scores["vowels"]["zero_shot"] == families_scores["reverse"]["zero_shot"] == 0.0
    assert families_scores["vowels"]["program_per_item"] == 0.0
    assert scores["macro"] == {"cotacs": 0.5, "zero_shot": 0.0, "few_shot": 0.5, "program_per_item": 0.0}
    # Calls: 4 programs + 3 usable x 3 other items (vowels), 4 programs + 4 x 3 (reverse);
    # then 2 test items x (1 kept + zero + few + a fresh program and its emulation).
    assert families_scores["vowels"]["model_calls"] == {"search": 13, "cotacs_test": 2, "zero_shot": 2,
                                                        "few_shot": 2, "program_per_item": 4}
    assert families_scores["reverse"]["model_calls"]["search"] == 16
    assert scores["model_calls"]["search"] == 29 and scores["model_calls"]["made"] == len(backend.requested)


def test_budgets_are_options_and_the_cache_serves_reruns(tmp_path):
    cache = tmp_path / "shared.jsonl"
    small, _, backend = search(tmp_path, Model(), cache=cache, candidates=2, test_items=1, per_item_programs=False)
    assert "program_per_item" not in small["macro"]
    assert small["families"]["vowels"]["candidates"] == 2 and small["families"]["vowels"]["test_items"] == 1
    again, _, backend = search(tmp_path, Model(), cache=cache, candidates=2, test_items=1, per_item_programs=False)
    assert again["model_calls"]["made"] == 0 and not backend.requested
    assert again["families"] == small["families"]
    larger, _, backend = search(tmp_path, Model(), cache=cache, candidates=4, test_items=2)
    assert 0 < larger["model_calls"]["made"] < larger["model_calls"]["total"]


@pytest.mark.parametrize("budget, message", [
    ({"candidates": 5}, "--candidates must be between 1 and --train-items"),
    ({"keep": 4}, "--keep must be between 1 and --candidates"),
    ({"train_items": 1, "candidates": 1}, "--train-items must be at least 2"),
    ({"test_items": 4}, "fewer than --train-items 4 / --test-items 4"),
])
def test_budgets_out_of_range_are_refused_in_one_line(tmp_path, budget, message):
    with pytest.raises(HarnessError, match=re.escape(message)):
        search(tmp_path, Model(), **budget)


def test_sft_export_with_no_right_emulation_writes_empty_files_and_no_datasets(tmp_path):
    """The embedded model may emulate nothing right: the JSONL files are written, empty, and
    no datasets folder (`datasets` cannot load an empty one)."""
    result = cotacs.export_sft(tmp_path, {}, {}, {}, {})
    assert result["examples"] == 0
    assert result["written"] == ["prompt_completion.jsonl", "messages.jsonl", "sources.jsonl"]
    assert [(tmp_path / name).read_text() for name in result["written"]] == ["", "", ""]
    assert not (tmp_path / "prompt_completion").exists()


def test_sft_export_is_cogex_format_from_right_training_emulations(tmp_path):
    datasets = pytest.importorskip("datasets")
    scores, run, _ = search(tmp_path, Model(), candidates=4)
    sft = run.path / "sft"
    rows = [json.loads(line) for line in (sft / "prompt_completion.jsonl").read_text().splitlines()]
    sources = [json.loads(line) for line in (sft / "sources.jsonl").read_text().splitlines()]
    # Only the good vowels program was right, on its 3 other training items.
    assert len(rows) == len(sources) == scores["sft"]["examples"] == 3
    assert {s["item"] for s in sources} == {"vowels/banana", "vowels/rhythm", "vowels/education"}
    for row in rows:
        assert row["prompt"].startswith("### Instruction\nCount the vowels in the word.\n### Input\n")
        assert row["prompt"].endswith("### Code\n")
        code, output = row["completion"].split("### Output\n")
        assert code.startswith("def count(word):") and "\n>>> count(" in code
        assert eval(output)["answer"] == GOLD[re.search(r"### Input\n(.*)\n", row["prompt"]).group(1)]  # noqa: S307
    loaded = datasets.load_from_disk(str(sft / "prompt_completion"))
    assert loaded.column_names == ["prompt", "completion"] and loaded[0] == rows[0]
    conversations = datasets.load_from_disk(str(sft / "messages"))
    assert conversations[0]["messages"][1] == {"role": "assistant", "content": rows[0]["completion"]}


# ------------------------------------------------------------------ the battery


def test_dia_families_draw_training_and_test_items_from_different_seeds():
    (family,) = families(["dia:gcd_of_two"], 4, 3, seed=5)
    template = dia_templates.BY_NAME["gcd_of_two"]
    assert [i.answer for i in family.train] == [template.question(5, n).answer for n in (1, 2, 3, 4)]
    assert [i.answer for i in family.test] == [template.question(6, n).answer for n in (1, 2, 3)]
    assert not {i.input for i in family.train} & {i.input for i in family.test}
    assert family.header == "def solve(problem):" and family.call(family.test[0]).startswith("solve('Consider")
    everything = families(["dia:*"], 2, 1)
    assert len(everything) == sum(not t.files for t in dia_templates.TEMPLATES)


def test_cruxeval_families_are_calls_of_one_function_with_computed_answers(local_sandbox):
    chosen = families(["cruxeval:sample_10?"], 3, 2, seed=1, sandbox=local_sandbox, cruxeval_path=str(CRUXEVAL))
    assert chosen and all(f.name.startswith("cruxeval/sample_10") for f in chosen)
    records = {r["id"]: r for r in map(json.loads, CRUXEVAL.read_text().splitlines())}
    for family in chosen:
        code = records[family.name.split("/")[1]]["code"]
        namespace: dict = {}
        exec(code, namespace)  # noqa: S102 - CRUXEval's own functions, in the test only
        assert family.train[0].args == eval(f"({records[family.name.split('/')[1]]['input']},)")  # noqa: S307
        assert not {i.input for i in family.train} & {i.input for i in family.test}
        for item in (*family.train, *family.test):
            assert namespace["f"](*copy.deepcopy(item.args)) == item.answer  # f may change its arguments
            assert item.input == f"f({', '.join(map(repr, item.args))})"
        assert code.rstrip() in family.instruction and len(family.parameters) == len(family.train[0].args)


def test_battery_files_round_trip_and_bad_lines_are_named(tmp_path):
    path = tmp_path / "battery.jsonl"
    write_battery(path, FAMILIES)
    assert read_battery(path) == [Family(f.name, f.instruction, f.function, f.parameters, f.match, f.train, f.test,
                                         source=str(path)) for f in FAMILIES]
    bad = tmp_path / "bad.jsonl"
    line = {"family": "t", "split": "train", "instruction": "x", "input": "a", "answer": 1}
    for change, message in [({"split": "dev"}, "split must be train or test"),
                            ({"args": "1, 2"}, "2 arguments for the 1 parameters"),
                            ({"answer_literal": "f(x)", "answer": None}, "answer_literal is not a Python literal"),
                            ({"parameters": ["a b"]}, "must be Python names")]:
        bad.write_text(json.dumps(line) + "\n" + json.dumps({**line, **change}) + "\n")
        with pytest.raises(HarnessError, match=f"{re.escape(str(bad))}:2: .*{re.escape(message)}"):
            read_battery(bad)
    for selector in ("nothing", "web:x", "dia:no_such_template"):
        with pytest.raises(HarnessError):
            families([selector], 3, 1)


def test_signatures_are_checked_and_answers_compared_as_declared():
    family = vowels_family()
    assert signature_problem("def count(word):\n    return 1\n", family) is None
    assert signature_problem("def count(word, extra=1):\n    return 1\n", family) is None
    assert signature_problem("def other(word):\n    return 1\n", family) == "no top-level function count"
    assert "syntax error" in signature_problem("def count(word)\n", family)
    assert answers_match("3", 3, VALUE) and answers_match(3, 3, VALUE) and not answers_match("three", 3, VALUE)
    assert not answers_match(True, 1, VALUE) and not answers_match(None, 0, VALUE)
    assert answers_match(" 42 ", "42", TEXT) and answers_match(42, "42", TEXT) and not answers_match("4 2", "42", TEXT)
