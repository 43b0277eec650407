"""One pandas table of every run: who, how, and every metric the run has.

Rows are runs, never merged: two runs of one model and task with different settings are
two rows. Columns are identity (model, revision, backend, decoding, date, version, the
command that reproduces the run) and metrics, flattened from scores.json (and
selection.json) with one small extractor per scorer; a run only fills the columns its
scorers produced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leaderboard.collect import Run

PASS_KS = (1, 10, 100)
PRIMARY_METRICS = ("plus pass@1", "base pass@1", "normalized pass@1", "emulation pass@1", "DIA RS@k")


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
        "n": sampling.get("n"),
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


def _options(options: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in sorted(options.items()) if k != "data_path")


def pass_at_k_columns(scores: dict) -> dict:
    columns = {}
    for group, metrics in (scores.get("pass_at_k") or {}).items():
        for k in PASS_KS:
            metric = metrics.get(f"pass@{k}")
            if metric:
                name = f"{group} pass@{k}"
                columns[name] = metric["value"]
                columns[f"{name} ci_low"] = metric["ci_low"]
                columns[f"{name} ci_high"] = metric["ci_high"]
    return columns


def hallucination_columns(scores: dict) -> dict:
    profile = scores.get("hallucination_profile") or {}
    columns = {f"halu {name}": share for name, share in (profile.get("types") or {}).items()}
    rates = scores.get("hallucination_rates") or {}
    for mode in ("strict", "compat"):
        if mode in rates:
            columns[f"HR mean ({mode})"] = rates[mode]["mean_rate"]
            columns[f"correct rate ({mode})"] = rates[mode]["correct_rate"]
    return columns


def dia_columns(scores: dict) -> dict:
    dia = scores.get("dia")
    if not dia:
        return {}
    return {"DIA RS@k": dia["reliability_score"], "DIA k": str(dia["k"]),
            "DIA CI %": dia["confidence_index"]["percent"], "DIA NMS %": dia["near_miss"]["percent"],
            "DIA mean TSR": dia["mean_task_success_rate"]}


def p3_columns(scores: dict) -> dict:
    curve = (scores.get("p3") or {}).get("attempts_to_first_success") or {}
    return {f"P3 solved within {k.removeprefix('pass@')}": share
            for k, share in (curve.get("solved_within") or {}).items()}


def answer_columns(scores: dict) -> dict:
    columns = {}
    match = scores.get("answer_match")
    if match:
        columns.update({"exact match": match["exact_match"], "normalized match": match["normalized_match"],
                        "parse failure rate": match["parse_failure_rate"]})
    fidelity = scores.get("emulation_fidelity")
    if fidelity:
        columns.update({"emulation accuracy": fidelity["all"]["accuracy"],
                        "emulation accuracy (real raised)": fidelity["real_raised"]["accuracy"],
                        "emulation accuracy (real returned)": fidelity["real_returned"]["accuracy"]})
    return columns


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


EXTRACTORS = (pass_at_k_columns, hallucination_columns, dia_columns, p3_columns, answer_columns)


def run_row(run: Run) -> dict:
    row = identity(run)
    for extract in EXTRACTORS:
        row.update(extract(run.scores))
    row.update(selection_columns(run.selection))
    return row


def build_table(runs: list[Run]) -> pd.DataFrame:
    """Every run as a row, ranked within its task by its primary metric."""
    table = pd.DataFrame([run_row(run) for run in runs])
    if table.empty:
        return table
    table["primary metric"] = table.apply(_primary_name, axis=1)
    table["primary"] = table.apply(lambda row: row.get(row["primary metric"]), axis=1)
    ranked = [_rank(group) for _, group in table.groupby("task", sort=True)]
    table = pd.concat(ranked).sort_values(["task", "rank", "primary"], ascending=[True, True, False])
    return table.reset_index(drop=True)


def _primary_name(row) -> str | None:
    return next((name for name in PRIMARY_METRICS if name in row and pd.notna(row[name])), None)


def _rank(task_rows: pd.DataFrame) -> pd.DataFrame:
    """Rank = 1 + the runs that are better beyond doubt (their CI's low end above this run's
    high end); runs whose intervals overlap another's share ranks and are marked tied."""
    task_rows = task_rows.copy()
    low = task_rows.apply(lambda row: _interval_edge(row, "ci_low"), axis=1).astype(float).to_numpy()
    high = task_rows.apply(lambda row: _interval_edge(row, "ci_high"), axis=1).astype(float).to_numpy()
    ranked = ~np.isnan(low)
    task_rows["rank"] = [1 + int(np.sum(low[ranked] > high[i])) if ranked[i] else None
                         for i in range(len(task_rows))]
    task_rows["tied"] = [bool(ranked[i] and np.sum((low[ranked] <= high[i]) & (high[ranked] >= low[i])) > 1)
                         for i in range(len(task_rows))]
    return task_rows


def _interval_edge(row, edge: str) -> float:
    """The primary metric's CI edge, or the value itself when the metric has no CI."""
    name = row["primary metric"]
    if not name:
        return np.nan
    value = row.get(f"{name} {edge}")
    return row["primary"] if value is None or pd.isna(value) else value
