"""The CoGEX output parser and answer matching, on hand-written model outputs."""

import pytest
from codeharness.tasks import emulation


@pytest.mark.parametrize("text, answer", [
    ("{'answer': 3}", 3),
    ("### Output\n{'words': ['a', 'b'], 'answer': 2}\nThe function returns 2.", 2),
    ("blah\n### Output\n  {'answer': 'a } b', 'x': {'y': 1}} trailing {junk", "a } b"),
    ("{'answer': [1, (2, 3)], 'steps': {'s1': None}}\n### Instruction\nnext task", [1, (2, 3)]),
    ("### Output\n```python\n{'answer': True}\n```", True),
    ("{'answer': -1.5e3}", -1500.0),
])
def test_parses_the_first_dict_after_output(text, answer):
    parsed = emulation.parse_output(text)
    assert parsed.ok and parsed.answer == answer


@pytest.mark.parametrize("text, error", [
    ("", "no dict"),
    ("The answer is 4.", "no dict"),
    ("### Output\n{'answer': 3", "no parseable dict"),
    ("### Output\n{'answer': foo(3)}", "no parseable dict"),
    ("### Output\n{'result': 3}", "no 'answer' key"),
    ("### Output\n{1, 2, 3}", "not a dict"),
])
def test_malformed_outputs_are_counted_not_raised(text, error):
    parsed = emulation.parse_output(text)
    assert not parsed.ok and error in parsed.error


def test_a_huge_unbalanced_output_does_not_hang_or_raise():
    parsed = emulation.parse_output("### Output\n{" + "'a': [" * 200 + "}" * 300)
    assert not parsed.ok


def test_normalized_match_ignores_case_punctuation_and_articles():
    assert emulation.normalized_match("The Desserts.", "desserts")
    assert not emulation.exact_match("The Desserts.", "desserts")
    assert emulation.exact_match(12, "12")
    assert not emulation.normalized_match("12", "13")


def test_split_code_and_calls():
    code, call = emulation.split_code("def f(x):\n    return {'answer': x}\n>>> f('a')\n### Output\n{'answer': 'a'}")
    assert code == "def f(x):\n    return {'answer': x}\n" and call == "f('a')"
    assert emulation.call_for(code, "do it", "b c") == "f('b c')"
    assert emulation.call_for("def g(task, text):\n    pass\n", "do it", "b") == "g('do it', 'b')"
    assert emulation.call_for("x = 1\n", "do", "b") is None


def test_majority_vote_by_normalized_answer():
    assert emulation.majority(["Cat", "dog", "cat.", "dog", "the cat"]) == "Cat"
    assert emulation.majority([]) is None
