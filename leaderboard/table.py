"""One pandas table of every run: who, how, and every metric the run has.

Rows are runs, never merged: two runs of one model and task with different settings are
two rows. Columns are identity (model, revision, backend, decoding, problems scored, date,
version, the command that reproduces the run) and the metric columns its scorers declared in
scores.json (and selection.json's); a run ranks by the primary metric its scorers named. No
task or scorer is named here. A partial run (some of the task's problems, or samples still
missing) is shown but never ranked beside complete ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from codeharness.leaderboard.collect import Run


def identity(run: Run) -> dict:
    manifest, config = run.manifest, run.manifest["config"]
    model = manifest.get("model") or {}
    sampling = config.get("sampling") or {}
    return {
        "task": config["task"],
        "model": model.get("model") or config.get("model") or "embedded default",
        "revision": model.get("revision"),
        "backend": config.get("backend"),
        "prompt": manifest.get("prompt_style") or config.get("prompt_style"),
        "n": _samples_per_problem(run.scores, sampling.get("n")),
        "problems": (run.scores.get("coverage") or {}).get("problems"),
        "complete": bool((run.scores.get("coverage") or {}).get("complete")),
        "temperature": sampling.get("temperature"),
        "top_p": sampling.get("top_p"),
        "max_tokens": sampling.get("max_tokens"),
        "seed": sampling.get("seed"),
        "task_options": _options(config.get("task_options") or {}),
        "limit": config.get("limit"),
        "date": (manifest.get("timestamps") or {}).get("created"),
        "harness_version": (manifest.get("versions") or {}).get("codeharness"),
        "git_sha": manifest.get("git_sha"),
        "command": manifest.get("command"),
        "run_id": run.run_id,
        "run_path": str(run.path),
    }


def _samples_per_problem(scores: dict, n):
    """Samples per problem as scored (a replayed file has what it has), else the asked n."""
    per_problem = (scores.get("coverage") or {}).get("samples_per_problem") or {}
    if per_problem.get("min") is None:
        return n
    low, high = per_problem["min"], per_problem["max"]
    return low if low == high else f"{low}-{high}"


def _options(options: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in sorted(options.items()) if k != "data_path")


def metric_columns(scores: dict) -> dict:
    """The columns the run's scorers declared (scores.json "columns"), flattened: a metric's
    value under its name, its interval under "<name> ci_low" / "<name> ci_high"."""
    columns = {}
    for name, column in (scores.get("columns") or {}).items():
        columns[name] = column.get("value")
        for edge in ("ci_low", "ci_high"):
            if edge in column:
                columns[f"{name} {edge}"] = column[edge]
    return columns


def percent_columns(runs: list[Run]) -> set[str]:
    """The columns some scorer declared as shares (shown as percentages)."""
    return {name for run in runs for name, column in (run.scores.get("columns") or {}).items()
            if column.get("percent")}


def selection_columns(selection: dict | None) -> dict:
    """pass@1 of each selection method on all problems, and its gain over random selection."""
    if not selection:
        return {}
    summary = selection.get("summary") or {}
    group = "plus" if "plus" in summary else next(iter(summary), None)
    if group is None:
        return {}
    methods = {method: totals["all"]["pass@1"] for method, totals in summary[group].items()}
    columns = {f"select {method} pass@1": value for method, value in methods.items()}
    if methods.get("random") is not None:
        columns.update({f"select {method} gain": value - methods["random"]
                        for method, value in methods.items() if method != "random" and value is not None})
    return columns


def run_row(run: Run) -> dict:
    row = identity(run)
    row.update(metric_columns(run.scores))
    row.update(selection_columns(run.selection))
    return row


def build_table(runs: list[Run]) -> pd.DataFrame:
    """Every run as a row, complete runs ranked within their task by their primary metric."""
    table = pd.DataFrame([run_row(run) for run in runs])
    if table.empty:
        return table
    table["primary metric"] = [run.scores.get("primary_metric") for run in runs]
    table["primary"] = table.apply(lambda row: row.get(row["primary metric"]) if row["primary metric"] else None,
                                   axis=1)
    ranked = [_rank(group) for _, group in table.groupby("task", sort=True)]
    table = pd.concat(ranked)
    table.attrs["percent"] = percent_columns(runs)
    table["unranked"] = table["rank"].isna()
    table = table.sort_values(["task", "unranked", "rank", "primary"], ascending=[True, True, True, False])
    return table.drop(columns="unranked").reset_index(drop=True)


def _rank(task_rows: pd.DataFrame) -> pd.DataFrame:
    """Rank = 1 + the complete runs that are better beyond doubt (their CI's low end above
    this run's high end); runs whose intervals overlap another's share ranks and are marked
    tied. Partial runs get no rank."""
    task_rows = task_rows.copy()
    low = task_rows.apply(lambda row: _interval_edge(row, "ci_low"), axis=1).astype(float).to_numpy()
    high = task_rows.apply(lambda row: _interval_edge(row, "ci_high"), axis=1).astype(float).to_numpy()
    ranked = ~np.isnan(low) & task_rows["complete"].to_numpy(dtype=bool)
    task_rows["rank"] = [1 + int(np.sum(low[ranked] > high[i])) if ranked[i] else None
                         for i in range(len(task_rows))]
    task_rows["tied"] = [bool(ranked[i] and np.sum((low[ranked] <= high[i]) & (high[ranked] >= low[i])) > 1)
                         for i in range(len(task_rows))]
    return task_rows


def _interval_edge(row, edge: str) -> float:
    """The primary metric's CI edge, or the value itself when the metric has no CI."""
    name = row["primary metric"]
    if not name or row.get(name) is None or pd.isna(row.get(name)):
        return np.nan
    value = row.get(f"{name} {edge}")
    return row["primary"] if value is None or pd.isna(value) else value
