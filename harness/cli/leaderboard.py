"""`codeharness leaderboard build|publish`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from codeharness.cli.common import guarded
from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra

app = typer.Typer(help="Leaderboard tables and a static web page from run directories.",
                  no_args_is_help=True)


@app.command()
def build(
    results: Annotated[list[Path], typer.Argument(help="Folders searched for run directories.")],
    out: Annotated[Path, typer.Option(help="Where the tables and the site go.")] = Path("leaderboard-site"),
):
    """Collect every run (manifest + scores), rank runs per task, write Markdown, CSV, JSON,
    LaTeX and a static HTML site."""
    @guarded
    def run():
        require_extra("codeharness leaderboard build", "leaderboard", "matplotlib", "jinja2", "tabulate")
        from codeharness.leaderboard.collect import collect
        from codeharness.leaderboard.render import write_tables
        from codeharness.leaderboard.site import build_site
        from codeharness.leaderboard.table import build_table

        found = collect(results)
        for path, reason in found.skipped:
            typer.echo(f"skipped {path}: {reason}", err=True)
        if not found.runs:
            raise HarnessError(f"no scored run directories under {', '.join(map(str, results))}")
        table = build_table(found.runs)
        write_tables(table, out)
        index = build_site(table, found.runs, found.skipped, out)
        typer.echo(f"{len(found.runs)} runs, {table['task'].nunique()} tasks; open {index}")

    run()


@app.command()
def publish(
    site: Annotated[Path, typer.Argument(help="A folder made by `leaderboard build`.")],
    to: Annotated[Optional[Path], typer.Option(help="Copy the site to this folder.")] = None,
    branch: Annotated[Optional[str], typer.Option(help="Commit the site as this git branch (e.g. gh-pages).")] = None,
    repo: Annotated[Path, typer.Option(help="The git repository for --branch.")] = Path("."),
    hub: Annotated[Optional[str], typer.Option(help="Push the table as this Hugging Face dataset.")] = None,
):
    """Copy the site somewhere, commit it to a git branch, and/or push the table to the Hub."""
    @guarded
    def run():
        from codeharness.leaderboard import publish as publishing

        if not (site / "index.html").exists():
            raise HarnessError(f"{site}: no index.html; run `codeharness leaderboard build` first")
        if not (to or branch or hub):
            raise HarnessError("say where to publish: --to PATH, --branch NAME and/or --hub REPO")
        if to:
            typer.echo(f"copied to {publishing.copy_site(site, to)}")
        if branch:
            sha = publishing.commit_to_branch(site, repo, branch, f"Publish leaderboard from {site}")
            typer.echo(f"committed {sha[:12]} to branch {branch} of {repo}")
        if hub:
            publishing.push_to_hub(site, hub)
            typer.echo(f"pushed the table to the Hub dataset {hub}")

    run()
