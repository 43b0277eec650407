"""`codeharness sandbox ...`: build the Docker sandbox's image, clean up after crashed runs."""

from __future__ import annotations

from typing import Annotated

import typer
from codeharness.cli.common import fail
from codeharness.core.errors import HarnessError

app = typer.Typer(help="Build the Docker sandbox's image; clean up after crashed runs.",
                  no_args_is_help=True)


@app.command()
def build(
    offline: Annotated[bool, typer.Option(
        help="Build from Debian packages with debootstrap (needs root); no registry needed.")] = False,
):
    """Build the execution image (Python, numpy and the sandbox worker); print its tag."""
    from codeharness.sandbox.docker import connect
    from codeharness.sandbox.docker_image import build_image

    try:
        print(build_image(connect(), offline, log=lambda line: print(line, flush=True)))
    except HarnessError as exc:
        fail(str(exc))


@app.command()
def cleanup():
    """Remove sandbox containers whose run is gone (crashed or killed)."""
    from codeharness.sandbox.docker import connect, remove_leftovers

    try:
        removed = remove_leftovers(connect())
    except HarnessError as exc:
        fail(str(exc))
    print(f"removed {len(removed)} leftover container(s)")
    for name in removed:
        print(f"  {name}")
