"""`codeharness dia generate`: write DIA-style questions from our own templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(help="DIA-Bench: dynamic questions with exact answers.", no_args_is_help=True)


@app.command()
def generate(
    k: Annotated[int, typer.Option(help="Instances per template.")] = 5,
    seed: Annotated[int, typer.Option(help="The same seed always writes the same questions.")] = 0,
    output: Annotated[Optional[Path], typer.Option(help="Default: DIA-codeharness-k<K>-seed<SEED>.json.")] = None,
):
    """Write k instances of every template, with their computed solutions, in the published
    DIA-Bench JSON format (usable as `--task dia --data-path FILE`)."""
    import json

    from tasks import dia_templates

    if k < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--k")
    path = output or Path(f"DIA-codeharness-k{k}-seed{seed}.json")
    data = dia_templates.generate(k, seed)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{data['instance_count']} questions from {data['template_count']} templates: {path}")
