"""Progress bars on stderr (rich), quiet when stderr is not a terminal unless asked."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator


def _quiet(n: int = 1) -> None:
    pass


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[..., None]]:
    """Yield advance(n=1). Shows a bar on a terminal, or when CODEHARNESS_PROGRESS=1."""
    if not (sys.stderr.isatty() or os.environ.get("CODEHARNESS_PROGRESS") == "1"):
        yield _quiet
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        yield advance
