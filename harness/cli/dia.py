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

    from codeharness.tasks import dia_templates

    if k < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--k")
    path = output or Path(f"DIA-codeharness-k{k}-seed{seed}.json")
    data = dia_templates.generate(k, seed)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{data['instance_count']} questions from {data['template_count']} templates: {path}")


@app.command()
def templates(
    category: Annotated[Optional[str], typer.Option(help="Only this category.")] = None,
    level: Annotated[Optional[str], typer.Option(help="Only this level: easy, medium or hard.")] = None,
):
    """List the generator's templates: category, level and the rule's inputs (needs a program,
    steps, search size), whether they carry files (tool mode) or a planted hint."""
    from codeharness.tasks import dia_templates

    print("id  name                                category              level   code steps search     files hint")
    shown = 0
    for t in dia_templates.TEMPLATES:
        if (category and t.category != category) or (level and t.level != level):
            continue
        shown += 1
        print(f"{t.id:<3d} {t.name:<35s} {t.category:<21s} {t.level:<7s} {'yes' if t.code else 'no':<4s} "
              f"{t.steps:<5d} {t.search:<10d} {'yes' if t.files else '':<5s} {'yes' if t.adversarial else ''}")
    print(f"{shown} templates. Level rule: 2 points if a program is needed, +1 per step after the first, "
          f"+1 for a search of 100+ and +1 of 10,000+ candidates; easy <= 1, medium 2-3, hard 4+.")
