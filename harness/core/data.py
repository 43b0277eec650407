"""Reading benchmark data from local files or from the Hugging Face Hub."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra

HF_PREFIX = "hf:"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def jsonl_objects(path: Path) -> Iterator[tuple[str, dict]]:
    """The JSON objects of a JSONL file, line by line (a large file is never read whole),
    each with where it stands ("path:line"); a line that is not a JSON object is an error
    naming it."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HarnessError(f"{where}: malformed JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise HarnessError(f"{where}: not a JSON object")
            yield where, record


def hub_dataset(data_path: str | None, default: str | None = None) -> str | None:
    """Where a task's data comes from: the Hub dataset to read (`hf:NAME`, or `default` when
    no --data-path is given), or None for a local path."""
    source = data_path or (HF_PREFIX + default if default else "")
    return source[len(HF_PREFIX):] if source.startswith(HF_PREFIX) else None


def load_hf(name: str, split: str, config: str | None = None):
    """A Hugging Face dataset split; a clear error when it cannot be reached."""
    require_extra("reading Hugging Face datasets", "datasets", "datasets")
    import datasets

    try:
        return datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # noqa: BLE001 - network, auth and name errors all end here
        raise HarnessError(f"could not load the Hugging Face dataset {name!r} ({config or 'default'}, "
                           f"split {split!r}): {exc}") from exc


def require_fields(record: dict, names: tuple[str, ...], where: str) -> None:
    missing = [n for n in names if n not in record]
    if missing:
        raise HarnessError(f"{where}: missing field(s) {', '.join(missing)}")


def load_task_records(task, default_hub: str, split: str = "test", config: str | None = None,
                      offline_hint: str = "") -> tuple[list[dict], str]:
    """The records a task reads from its --data-path (a file, or hf:NAME), by default from
    the Hugging Face dataset `default_hub`; also where they came from, for error messages."""
    name = hub_dataset(task.data_path, default_hub)
    if name is not None:
        try:
            dataset = load_hf(name, split=split, config=config)
        except HarnessError as exc:
            if task.data_path:
                raise
            raise HarnessError(f"{exc}\nTask {task.name!r} reads {default_hub} from the Hugging Face "
                               f"Hub unless given --data-path FILE{offline_hint}.") from exc
        task.record_dataset(dataset)
        return [dict(row) for row in dataset], HF_PREFIX + name
    path = Path(task.data_path)
    if not path.is_file():
        raise HarnessError(f"{path}: data file not found")
    return read_records(task.record_file(path)), str(path)
