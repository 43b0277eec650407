"""The table as Markdown, CSV, JSON and LaTeX (booktabs)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

IDENTITY_SHOWN = ("rank", "model", "backend", "prompt", "n", "problems", "temperature", "task_options",
                  "date")
HIDDEN_SUFFIXES = (" ci_low", " ci_high")
NOT_METRICS = {"task", "revision", "top_p", "max_tokens", "seed", "limit", "harness_version", "git_sha",
               "command", "run_id", "run_path", "primary metric", "primary", "tied", "complete",
               *IDENTITY_SHOWN}


def is_percent(rows: pd.DataFrame, column: str) -> bool:
    """Shares declared by their scorer, and selection's pass@1 and gains."""
    return column in rows.attrs.get("percent", ()) or column.startswith("select ")


def metric_columns(rows: pd.DataFrame) -> list[str]:
    """The metric columns these rows have values for, primary metric first."""
    present = [c for c in rows.columns
               if c not in NOT_METRICS and not c.endswith(HIDDEN_SUFFIXES) and rows[c].notna().any()]
    primary = [m for m in rows["primary metric"].dropna().unique() if m in present]
    return primary + [c for c in present if c not in primary]


def format_metric(rows: pd.DataFrame, column: str, index) -> str:
    value = rows.at[index, column]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, (int, float)):
        return str(value)
    if not is_percent(rows, column):
        return f"{value:.2f}"
    text = f"{100 * value:.1f}"
    low, high = rows.get(f"{column} ci_low"), rows.get(f"{column} ci_high")
    if low is not None and pd.notna(low.at[index]):
        text += f" ({100 * low.at[index]:.1f}–{100 * high.at[index]:.1f})"
    return text


def rank_label(row) -> str:
    if not row["complete"]:
        return "partial"
    if row["rank"] is None or pd.isna(row["rank"]):
        return ""
    return f"{int(row['rank'])}{'=' if row['tied'] else ''}"


def display_frame(rows: pd.DataFrame, with_command: bool = True) -> pd.DataFrame:
    """One task's rows as the strings people read: rank (= when tied), settings, metrics."""
    shown = pd.DataFrame(index=rows.index)
    shown["rank"] = rows.apply(rank_label, axis=1)
    for column in IDENTITY_SHOWN[1:]:
        values = rows[column].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
        if (values != "").any():
            shown[column] = values
    shown["date"] = rows["date"].map(lambda d: str(d)[:10] if d else "")
    for column in metric_columns(rows):
        label = column + (" %" if is_percent(rows, column) else "")
        shown[label] = [format_metric(rows, column, index) for index in rows.index]
    if with_command:
        shown["command"] = rows["command"]
    return shown.reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    parts = ["# codeharness leaderboard\n",
             "Ranks: `=` marks runs whose 95% confidence intervals overlap another run's; "
             "`partial` runs (some of the task's problems, or samples missing) are not ranked.\n"]
    for task, rows in table.groupby("task", sort=True):
        shown = display_frame(rows)
        shown["command"] = shown["command"].map(lambda c: f"`{c}`" if c else "")
        shown = shown.map(lambda v: str(v).replace("|", "\\|"))
        parts.append(f"## {task}\n\n{shown.to_markdown(index=False)}\n")
    return "\n".join(parts)


def to_latex(table: pd.DataFrame) -> str:
    parts = []
    for task, rows in table.groupby("task", sort=True):
        shown = display_frame(rows, with_command=False)
        styler = shown.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
        parts.append(f"% {task}\n" + styler.to_latex(hrules=True, caption=task.replace("_", r"\_")))
    return "\n".join(parts)


def write_tables(table: pd.DataFrame, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "leaderboard.md": to_markdown(table),
        "leaderboard.csv": table.to_csv(index=False),
        "leaderboard.json": table.to_json(orient="records", indent=2, force_ascii=False),
        "leaderboard.tex": to_latex(table),
    }
    for name, text in written.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in written]
