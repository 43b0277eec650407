"""Local stand-ins for Hugging Face Hub datasets, laid out as the hub repositories are (parquet
files per config and split, configs declared in README.md), so `datasets.load_dataset(DIR,
config, split=...)` goes through the same loader as `load_dataset("org/name", ...)` does.
The hub cannot be reached from the build machines; the rows come from the release files that
ship with the package (tasks/data/) and from tests/data."""

from __future__ import annotations

from pathlib import Path


def write_hub_copy(root: Path, configs: dict[str, dict[str, list[dict]]], features=None) -> Path:
    """configs: config name -> split name -> rows. Returns root, for --data-path hf:ROOT."""
    import datasets

    card = ["---", "configs:"]
    for config, splits in configs.items():
        card += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            path = Path(config) / f"{split}-00000-of-00001.parquet"
            (root / config).mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list(rows, features=features).to_parquet(str(root / path))
            card += [f"  - split: {split}", f"    path: {path}"]
    (root / "README.md").write_text("\n".join(card + ["---", ""]))
    return root
