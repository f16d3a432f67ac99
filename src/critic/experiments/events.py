"""A run's events as they happen, for whoever watches from another process (the workbench's live
curves, `critic jobs logs`): `experiments/<name>/events.jsonl`, one JSON object a line.

Each line is a training-loop event (`phase`, `epoch_start`, `batch`, `epoch_end`, `early_stop`;
see critic.train), or `end` with the run's status (done, stopped or failed), plus `t`, the
seconds since the run (or its resume) started, and `run`, which counts resumes. Batch events are
kept at most every `interval` seconds (and the last of an epoch), so the file stays small while a
curve can still draw within an epoch; the rest are written and flushed at once. A reader polls
with `read_events(path, offset)` and gets only the new lines."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

__all__ = ["EVENTS_FILE", "EventWriter", "read_events"]

EVENTS_FILE = "events.jsonl"


class EventWriter:
    """A `log` callable that appends events to the file (and passes them on to `then`)."""

    def __init__(self, path: Path, then=lambda event: None, interval: float = 0.5):
        self.path, self.then, self.interval = Path(path), then, interval
        self.run = _runs_so_far(self.path)
        self.started = time.monotonic()
        self.last_batch = float("-inf")

    def __call__(self, event: dict) -> None:
        self.then(event)
        self.write(event)

    def write(self, event: dict) -> None:
        """To the file only (e.g. the run's `end`, which the terminal view does not know)."""
        now = time.monotonic()
        if event.get("event") == "batch":
            last_of_epoch = event.get("batch", 0) + 1 >= event.get("batches", 0)
            if now - self.last_batch < self.interval and not last_of_epoch:
                return
            self.last_batch = now
        line = json.dumps({**_finite(event), "t": round(now - self.started, 3), "run": self.run})
        with open(
            self.path, "a", encoding="utf-8"
        ) as f:  # one write a line: a reader never sees half
            f.write(line + "\n")


def read_events(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """The whole lines written after byte `offset`, and the offset to ask from next time."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next call
    events = [json.loads(line) for line in whole.splitlines() if line.strip()]
    return events, offset + len(whole)


def _runs_so_far(path: Path) -> int:
    """0 for a fresh run, 1 after one resume, ... (the number of run starts already in the file)."""
    events, _ = read_events(path)
    return len({e.get("run", 0) for e in events})


def _finite(event: dict) -> dict:
    """NaN and infinity (a diverging loss) as null: the file stays valid JSON for any reader."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in event.items()
    }
