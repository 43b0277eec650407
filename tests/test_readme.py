"""What the README shows is what runs."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_add_a_benchmark_example_is_the_plugin_the_tests_install():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Add a benchmark in one file"):]
    shown = section[section.index("```python\n") + len("```python\n"):]
    shown = shown[:shown.index("```\n")]
    assert shown == (REPO / "tests" / "data" / "plugin" / "codeharness_string_kata.py").read_text()
