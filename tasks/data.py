"""Reading benchmark data from local files or from the Hugging Face Hub."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from harness.errors import HarnessError

HF_PREFIX = "hf:"


def read_records(path: Path) -> list[dict]:
    """Records of a .jsonl, .jsonl.gz or .json (a list) file, with file:line in errors."""
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"{path}: data file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            if path.name.endswith((".json", ".json.gz")):
                data = json.load(f)
                if not isinstance(data, list):
                    raise HarnessError(f"{path}: expected a JSON list of records")
                return data
            records = []
            for line_number, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise HarnessError(f"{path}:{line_number}: malformed JSON ({exc.msg})") from exc
            return records
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise HarnessError(f"{path}: unreadable data file ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from exc


def load_hf(name: str, split: str, config: str | None = None):
    """A Hugging Face dataset split; a clear error when it cannot be reached."""
    try:
        import datasets
    except ImportError as exc:
        raise HarnessError("reading Hugging Face datasets needs `pip install codeharness[datasets]`") from exc
    try:
        return datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # noqa: BLE001 - network, auth and name errors all end here
        raise HarnessError(f"could not load the Hugging Face dataset {name!r} ({config or 'default'}, "
                           f"split {split!r}): {exc}") from exc


def require_fields(record: dict, names: tuple[str, ...], where: str) -> None:
    missing = [n for n in names if n not in record]
    if missing:
        raise HarnessError(f"{where}: missing field(s) {', '.join(missing)}")


def load_task_records(task, hub_dataset: str, split: str = "test", config: str | None = None,
                      offline_hint: str = "") -> tuple[list[dict], str]:
    """The records a task reads from its --data-path (a file, or hf:NAME), by default from
    the Hugging Face dataset `hub_dataset`; also where they came from, for error messages."""
    source = task.data_path or HF_PREFIX + hub_dataset
    if source.startswith(HF_PREFIX):
        try:
            dataset = load_hf(source[len(HF_PREFIX):], split=split, config=config)
        except HarnessError as exc:
            if task.data_path:
                raise
            raise HarnessError(f"{exc}\nTask {task.name!r} reads {hub_dataset} from the Hugging Face "
                               f"Hub unless given --data-path FILE{offline_hint}.") from exc
        task.record_dataset(dataset)
        return [dict(row) for row in dataset], source
    path = Path(source)
    if not path.is_file():
        raise HarnessError(f"{path}: data file not found")
    return read_records(task.record_file(path)), str(path)
