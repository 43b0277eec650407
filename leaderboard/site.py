"""The static site: index (a sortable, filterable table per task, with plots), a page per
model, and each run's manifest. Plain files: open index.html from file:// or any host."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from codeharness.leaderboard.collect import Run
from codeharness.leaderboard.render import display_frame

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
    """One figure per chart id the task's runs declared (scores.json "charts"), each run a
    line, a set of bars or a point in it."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(exist_ok=True)
    by_id: dict[str, list[tuple[dict, dict]]] = {}
    for _, row in rows.iterrows():
        for chart in runs[row["run_id"]].scores.get("charts") or []:
            by_id.setdefault(chart["id"], []).append((row, chart))
    plots = []
    for chart_id, drawn in by_id.items():
        figure = DRAW[drawn[0][1]["kind"]](drawn)
        path = folder / f"{slug(task)}-{slug(chart_id)}.svg"
        figure.savefig(path, bbox_inches="tight")
        matplotlib.pyplot.close(figure)
        plots.append({"title": f"{task}: {drawn[0][1]['title']}", "path": f"plots/{path.name}"})
    return plots


def _figure(first: dict, size: tuple[float, float] = (6.4, 3.6)):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=size)
    axes.set_xlabel(first["x_label"])
    axes.set_ylabel(first["y_label"])
    return figure, axes


def _label(row, chart: dict) -> str:
    return run_label(row) + (f" ({chart['series']})" if chart.get("series") else "")


def _curves(drawn: list[tuple[dict, dict]]):
    import matplotlib.ticker

    figure, axes = _figure(drawn[0][1])
    for row, chart in drawn:
        xs, ys, lows, highs = zip(*chart["points"]) if chart["points"] else ((), (), (), ())
        line, = axes.plot(xs, ys, marker="o", label=_label(row, chart))
        if all(v is not None for v in lows + highs):
            axes.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.15)
    if max(axes.get_xlim()) > 20:
        axes.set_xscale("log")
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes.set_ylim(0, 100)
    axes.legend(fontsize=7)
    return figure


def _bars(drawn: list[tuple[dict, dict]]):
    figure, axes = _figure(drawn[0][1])
    labels = list(dict.fromkeys(label for _, chart in drawn for label, _ in chart["points"]))
    width = 0.8 / len(drawn)
    for position, (row, chart) in enumerate(drawn):
        values = dict(chart["points"])
        axes.bar([i + position * width for i in range(len(labels))], [values.get(label, 0) for label in labels],
                 width, label=_label(row, chart))
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))], labels, rotation=30, ha="right",
                    fontsize=8)
    axes.set_ylim(0, 100)
    axes.legend(fontsize=7)
    return figure


def _points(drawn: list[tuple[dict, dict]]):
    figure, axes = _figure(drawn[0][1], size=(5.0, 3.6))
    for row, chart in drawn:
        x, y = chart["points"][0]
        axes.scatter(x, y, label=_label(row, chart))
    axes.axhline(0, color="grey", linewidth=0.5)
    axes.legend(fontsize=7)
    return figure


DRAW = {"curve": _curves, "bars": _bars, "point": _points}
