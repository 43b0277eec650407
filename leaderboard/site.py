"""The static site: index (a sortable, filterable table per task, with plots), a page per
model, and each run's manifest. Plain files: open index.html from file:// or any host."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from leaderboard.collect import Run
from leaderboard.render import display_frame

STATIC = Path(__file__).with_name("static")
TEMPLATES = Path(__file__).with_name("templates")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "model"


def build_site(table: pd.DataFrame, runs: list[Run], skipped: list, out: Path) -> Path:
    import jinja2

    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC, out / "static", dirs_exist_ok=True)
    (out / "manifests").mkdir(exist_ok=True)
    for run in runs:
        shutil.copyfile(run.path / "manifest.json", out / "manifests" / f"{run.run_id}.json")
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    by_id = {run.run_id: run for run in runs}
    models = sorted(table["model"].unique()) if not table.empty else []
    tasks = []
    for task, rows in table.groupby("task", sort=True):
        section = task_section(task, rows, prefix="")
        section["plots"] = plots_for_task(task, rows, by_id, out / "plots")
        tasks.append(section)
    (out / "index.html").write_text(environment.get_template("index.html.j2").render(
        tasks=tasks, run_count=len(runs), skipped=[(str(p), r) for p, r in skipped],
        models=[{"name": m, "page": f"models/{slug(m)}.html"} for m in models],
        built=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")), encoding="utf-8")
    (out / "models").mkdir(exist_ok=True)
    for model in models:
        rows = table[table["model"] == model]
        sections = [task_section(task, task_rows, prefix="../") for task, task_rows in rows.groupby("task", sort=True)]
        (out / "models" / f"{slug(model)}.html").write_text(environment.get_template("model.html.j2").render(
            model=model, tasks=sections), encoding="utf-8")
    return out / "index.html"


def task_section(task: str, rows: pd.DataFrame, prefix: str) -> dict:
    shown = display_frame(rows, with_command=False)
    raw = rows.reset_index(drop=True)
    table_rows = []
    for index in shown.index:
        cells = []
        for label in shown.columns:
            raw_column = "rank" if label == "rank" else label.removesuffix(" %")
            value = raw.at[index, raw_column] if raw_column in raw.columns and label != "date" else None
            cells.append({"text": shown.at[index, label],
                          "value": None if value is None or pd.isna(value) else value,
                          "link": f"{prefix}models/{slug(raw.at[index, 'model'])}.html" if label == "model" else None})
        table_rows.append({"cells": cells, "run_id": raw.at[index, "run_id"], "command": raw.at[index, "command"]})
    return {"name": task, "key": slug(task), "columns": list(shown.columns), "rows": table_rows}


def run_label(row) -> str:
    return f"{row['model'].split('/')[-1]} · {row['backend']} · T={row['temperature']} n={row['n']}"


def plots_for_task(task: str, rows: pd.DataFrame, runs: dict[str, Run], folder: Path) -> list[dict]:
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(exist_ok=True)
    plots = []
    for title, draw, name in (("pass@k over k", _pass_at_k_curves, "passk"),
                              ("hallucination profile of failed samples", _hallucination_bars, "halu"),
                              ("DIA: reliability vs success", _dia_scatter, "dia")):
        figure = draw(rows, runs)
        if figure is not None:
            path = folder / f"{slug(task)}-{name}.svg"
            figure.savefig(path, bbox_inches="tight")
            matplotlib.pyplot.close(figure)
            plots.append({"title": f"{task}: {title}", "path": f"plots/{path.name}"})
    return plots


def _pass_at_k_curves(rows: pd.DataFrame, runs: dict[str, Run]):
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    drawn = False
    for _, row in rows.iterrows():
        table = runs[row["run_id"]].scores.get("pass_at_k") or {}
        group = "plus" if "plus" in table else next(iter(table), None)
        if group is None:
            continue
        ks = sorted(int(key.removeprefix("pass@")) for key in table[group] if key.startswith("pass@"))
        values = [100 * table[group][f"pass@{k}"]["value"] for k in ks]
        low = [100 * table[group][f"pass@{k}"]["ci_low"] for k in ks]
        high = [100 * table[group][f"pass@{k}"]["ci_high"] for k in ks]
        line, = axes.plot(ks, values, marker="o", label=f"{run_label(row)} ({group})")
        axes.fill_between(ks, low, high, color=line.get_color(), alpha=0.15)
        drawn = True
    if not drawn:
        plt.close(figure)
        return None
    if max(axes.get_xlim()) > 20:
        axes.set_xscale("log")
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes.set_ylim(0, 100)
    axes.set_xlabel("k")
    axes.set_ylabel("pass@k (%)")
    axes.legend(fontsize=7)
    return figure


def _hallucination_bars(rows: pd.DataFrame, runs: dict[str, Run]):
    import matplotlib.pyplot as plt

    columns = [c for c in rows.columns if c.startswith("halu ") and rows[c].notna().any()]
    if not columns:
        return None
    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    width = 0.8 / len(rows)
    for position, (_, row) in enumerate(rows.iterrows()):
        shares = [100 * (row[c] if pd.notna(row[c]) else 0) for c in columns]
        axes.bar([i + position * width for i in range(len(columns))], shares, width, label=run_label(row))
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(columns))],
                    [c.removeprefix("halu ") for c in columns], rotation=30, ha="right", fontsize=8)
    axes.set_ylim(0, 100)
    axes.set_ylabel("share of failed samples (%)")
    axes.legend(fontsize=7)
    return figure


def _dia_scatter(rows: pd.DataFrame, runs: dict[str, Run]):
    import matplotlib.pyplot as plt

    if "DIA RS@k" not in rows.columns or rows["DIA RS@k"].isna().all():
        return None
    figure, axes = plt.subplots(figsize=(5.0, 3.6))
    for _, row in rows[rows["DIA RS@k"].notna()].iterrows():
        axes.scatter(100 * row["DIA mean TSR"], row["DIA RS@k"], label=run_label(row))
    axes.set_xlabel("mean task success rate (%)")
    axes.set_ylabel("reliability score RS@k")
    axes.axhline(0, color="grey", linewidth=0.5)
    axes.legend(fontsize=7)
    return figure
