"""Progress bars for long work (downloads, imports), drawn by rich on stderr.

Library functions take `progress: bool`; this module is the only place that knows about rich's
progress widgets, so a caller that wants silence passes `progress=False`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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

__all__ = ["stderr_console", "bar", "TrainingView"]


def stderr_console() -> Console:
    return Console(stderr=True)


@contextmanager
def bar(
    description: str,
    total: float | None,
    *,
    unit: str = "items",
    enabled: bool = True,
    completed: float = 0,
) -> Iterator[Callable[[float], None]]:
    """Yield `advance(n)`. unit="bytes" shows sizes and speed; "items" shows n/total. Where
    stderr is not a terminal (a job's log, CI), a plain line every few seconds instead of a bar:
    a log that is read while it grows shows the work moving."""
    if not enabled:
        yield lambda n: None
        return
    console = stderr_console()
    if not console.is_terminal:
        with _lines(description, total, unit, completed) as advance:
            yield advance
        return
    if unit == "bytes":
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        ]
    else:
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total, completed=completed)
        yield lambda n: progress.advance(task, n)


LINE_EVERY = 2.0  # seconds between two progress lines in a log


@contextmanager
def _lines(description: str, total: float | None, unit: str, done: float):
    """`advance(n)` that prints "DESCRIPTION: DONE of TOTAL (P%), S s" at most every LINE_EVERY
    seconds, and once at the end."""
    started = last = time.monotonic()
    count, said = done, None

    def say() -> None:
        nonlocal said
        said = count
        shown = _amount(count, unit) + (f" of {_amount(total, unit)}" if total else "")
        share = f" ({100 * count / total:.0f}%)" if total else ""
        elapsed = time.monotonic() - started
        print(f"{description}: {shown}{share}, {elapsed:.0f} s", file=sys.stderr, flush=True)

    def advance(n: float) -> None:
        nonlocal count, last
        count += n
        if time.monotonic() - last >= LINE_EVERY:
            last = time.monotonic()
            say()

    yield advance
    if said != count:
        say()


def _amount(n: float, unit: str) -> str:
    if unit == "bytes":
        return f"{n / 2**20:,.1f} MB"
    return f"{n:,.0f}"


class TrainingView:
    """A `log` callable for the training loop: a live bar per epoch (batch, running loss and
    accuracy, samples/s, ETA) and one summary line per finished epoch."""

    def __init__(self, console: Console | None = None):
        self.console = console or stderr_console()
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "loss {task.fields[loss]:.4f}  acc {task.fields[accuracy]:.4f}  {task.fields[speed]:,.0f}/s"
            ),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task = None
        self.started = time.perf_counter()

    def __enter__(self) -> TrainingView:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "phase":
            self.console.print(
                f"[dim]{time.perf_counter() - self.started:6.1f} s  {event['phase']}[/]"
            )
        elif kind == "epoch_start":
            self.task = self.progress.add_task(
                "",
                total=event["batches"],
                epoch=event["epoch"],
                epochs=event["epochs"],
                loss=0.0,
                accuracy=0.0,
                speed=0.0,
            )
        elif kind == "batch" and self.task is not None:
            self.progress.update(
                self.task,
                completed=event["batch"],
                loss=event["loss"],
                accuracy=event["accuracy"],
                speed=event["samples_per_s"],
            )
        elif kind == "epoch_end":
            if self.task is not None:
                self.progress.remove_task(self.task)
            star = "  [green]★ best[/]" if event["best"] else ""
            val = (
                "no validation subset"
                if event["val_loss"] is None
                else f"validation loss {event['val_loss']:.4f} acc {event['val_accuracy']:.4f}"
            )
            self.console.print(
                f"epoch {event['epoch']}: train loss {event['train_loss']:.4f} acc {event['train_accuracy']:.4f} | "
                f"{val}  ({event['seconds']:.1f} s, {event['samples_per_s']:,.0f} samples/s){star}"
            )
        elif kind == "early_stop":
            self.console.print(
                f"[yellow]early stop[/] after epoch {event['epoch']}: no better validation for "
                f"{event['patience']} epochs"
            )
