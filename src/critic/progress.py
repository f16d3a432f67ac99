"""Progress bars for long work (downloads, imports), drawn by rich on stderr.

Library functions take `progress: bool`; this module is the only place that knows about rich's
progress widgets, so a caller that wants silence passes `progress=False`."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

__all__ = ["stderr_console", "bar"]


def stderr_console() -> Console:
    return Console(stderr=True)


@contextmanager
def bar(description: str, total: float | None, *, unit: str = "items", enabled: bool = True,
        completed: float = 0) -> Iterator[Callable[[float], None]]:
    """Yield `advance(n)`. unit="bytes" shows sizes and speed; "items" shows n/total."""
    if not enabled:
        yield lambda n: None
        return
    if unit == "bytes":
        columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    else:
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=stderr_console(), transient=False) as progress:
        task = progress.add_task(description, total=total, completed=completed)
        yield lambda n: progress.advance(task, n)
