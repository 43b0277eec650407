"""The hallucination scorers' rules and outputs on hand-made records, without a sandbox
(tests/test_hallucination.py and tests/test_codehalu.py classify real programs)."""

import pytest
from codeharness.core.records import Execution, Generation, Status
from codeharness.scorers.hallucination import (
    BreakdownRule,
    HallucinationProfile,
    HallucinationRates,
    _failed_leading_import,
)


@pytest.fixture(scope="module")
def word_tokenizer(tmp_path_factory):
    """A tokenizer.json that makes one token of each word, and adds a start token when asked
    for special tokens (which the rule must not count)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tokenizer = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1, "<s>": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 2)])
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    tokenizer.save(str(path))
    return str(path)


def test_logic_breakdown_starts_at_1300_tokens(word_tokenizer):
    rule = BreakdownRule(word_tokenizer)
    assert rule.threshold == 1300
    assert rule.applies("a " * 1300) and rule.applies("a " * 1301)
    assert not rule.applies("a " * 1299)
    assert BreakdownRule(word_tokenizer, threshold=3).applies("a a a")
    assert not BreakdownRule(word_tokenizer, threshold=3).applies("a a")


def test_programs_too_short_for_the_threshold_skip_the_tokenizer_only_when_they_must(tmp_path):
    # A SentencePiece-style tokenizer: one token per character and a leading marker, so a
    # program of n bytes can have n + 1 tokens; at 4 bytes and a threshold of 5 it counts.
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.BPE({"\u2581": 0, "a": 1}, []))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    rule = BreakdownRule(str(tmp_path / "tokenizer.json"), threshold=5)
    assert rule.applies("aaaa") and not rule.applies("aaa")


def test_rates_report_table():
    from rich.console import Console

    result = {"strict": {"files": {"identity": {"samples": 4, "rate": 0.25}}, "mean_rate": 0.25,
                         "correct_rate": 0.5},
              "compat": {"files": {"identity": {"samples": 4, "rate": 0.125}}, "mean_rate": 0.125,
                         "correct_rate": 0.75},
              "breakdown": {"error": None}}
    [table] = HallucinationRates().report(result)
    console = Console(record=True, width=100)
    console.print(table)
    text = console.export_text()
    rows = [line.split() for line in text.splitlines()]
    # The sub-category column reads left to right, the numbers are right-aligned.
    assert "│ Identity     │       4 │" in text, text
    assert ["sub-category", "samples", "HR", "strict", "HR", "compat"] in [
        [w for w in row if w not in "┃│"] for row in rows]
    cells = [[w for w in row if w not in "┃│"] for row in rows]
    assert ["Identity", "4", "25.00%", "12.50%"] in cells
    assert ["mean", "HR", "25.00%", "12.50%"] in cells and ["correct", "50.00%", "75.00%"] in cells
    broken = HallucinationRates().report({**result, "breakdown": {"error": "tokenizer unavailable"}})
    # rich Text, not markup: brackets in a path or message are printed as they are
    assert (str(broken[1]), broken[1].style) == ("Logic Breakdown tokenizer unavailable", "yellow")


@pytest.mark.parametrize("program, message, failed", [
    ("import numpyy\nx = 1", "No module named 'numpyy'", True),
    ("import os.pathh\nx = 1", "No module named 'os.pathh'", True),
    ("import numpyy.linalg\nx = 1", "No module named 'numpyy'", True),  # the package of a leading import
    ("import numpyy\nx = 1", "No module named 'numpyy.linalg'", True),  # a module of a leading package
    ("from math import tauu\nx = 1", "cannot import name 'tauu' from 'math' (unknown location)", True),
    ("import numpyy_extra\nx = 1", "No module named 'numpyy'", False),  # a prefix is not a package
    ("x = 1\nimport numpyy", "No module named 'numpyy'", False),  # not a leading line
    ("import numpyy\nx = 1", "division by zero", False),
])
def test_failed_leading_imports(program, message, failed):
    assert _failed_leading_import(program, message) is failed


def execution(index, status, exception_type=None):
    return Execution("humaneval", "p", index, status, {"base": status}, exception_type=exception_type)


def test_profile_report_columns_and_chart():
    executions = [execution(0, Status.PASSED), execution(1, Status.ERROR, "NameError"),
                  execution(2, Status.ERROR, "IndexError"), execution(3, Status.ERROR, "KeyError"),
                  execution(4, Status.FAILED)]
    generations = [Generation("humaneval", "p", i, prompt="", completion="x = 1", program="x = 1",
                              finish_reason="stop", truncated=False) for i in range(5)]
    scorer = HallucinationProfile()
    result = scorer.score(None, [], generations, executions)
    assert (result["samples"], result["failed"]) == (5, 4)
    assert result["types"] == {"Mapping": 0.5, "Naming": 0.25, "Logic": 0.25}
    assert [(c.name, c.value, c.percent) for c in scorer.columns(result)] == [
        ("halu Mapping", 0.5, True), ("halu Naming", 0.25, True), ("halu Logic", 0.25, True)]
    [line] = scorer.report(result)
    assert line == ("why 4 samples failed (strict): Structure Access 50.0%, Identity 25.0%, "
                    "Logic Deviation 25.0%")
    [chart] = scorer.charts(result)
    assert chart.kind == "bars" and chart.points == [["Mapping", 50.0], ["Naming", 25.0], ["Logic", 25.0]]
    clean = scorer.score(None, [], generations[:1], executions[:1])
    assert clean["failed"] == 0 and scorer.report(clean) == [] and scorer.charts(clean) == []
    assert all(value == {"count": 0, "share": 0.0} for value in clean["classes"].values())


def test_rates_columns_are_percentages():
    result = {"strict": {"mean_rate": 0.25, "correct_rate": 0.5},
              "compat": {"mean_rate": 0.125, "correct_rate": 0.75}}
    assert [(c.name, c.value, c.percent) for c in HallucinationRates().columns(result)] == [
        ("HR mean (strict)", 0.25, True), ("correct rate (strict)", 0.5, True),
        ("HR mean (compat)", 0.125, True), ("correct rate (compat)", 0.75, True)]


def test_rates_of_no_samples_are_zeros():
    from codeharness.scorers.hallucination import compat_rates, strict_rates

    for rates in (compat_rates({}, {}), strict_rates({}, {})):
        assert rates == {"files": {}, "mean_rate": 0.0, "correct_rate": 0.0}
