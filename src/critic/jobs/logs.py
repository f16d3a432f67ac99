"""Job logs: one file per job under $CRITIC_HOME/jobs/, written by its runner (the command's
stdout and stderr, between a first and a last line of the runner's own), read from the end or
from an offset while it grows."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["JOBS", "ERROR_LINES", "log_file", "tail", "read_from"]

JOBS = "jobs"  # under CRITIC_HOME
ERROR_LINES = 20  # a failed job's error: this many last lines of its log
_BLOCK = 64 * 1024


def log_file(job_id: str) -> str:
    """Where a job's log goes, relative to the workspace root (the id is a validated name)."""
    return f"{JOBS}/{job_id}.log"


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a file ("" when it does not exist), read from the end."""
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return ""
    with file:
        end = file.seek(0, os.SEEK_END)
        data, start = b"", end
        while start > 0 and data.count(b"\n") <= lines:
            start = max(0, start - _BLOCK)
            file.seek(start)
            data = file.read(end - start)
    return b"\n".join(data.splitlines()[-lines:]).decode("utf-8", "replace") if lines else ""


def read_from(
    path: Path, offset: int, *, limit: int = 1024 * 1024, whole: bool = False
) -> tuple[str, int]:
    """What was written from `offset` on (at most `limit` bytes), up to the last whole line unless
    `whole` (the writer has ended), and the offset to read from next time."""
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return "", offset
    with file:
        file.seek(offset)
        data = file.read(limit)
    if (
        not whole and len(data) < limit and not data.endswith(b"\n")
    ):  # a line still being written waits
        data = data[: data.rfind(b"\n") + 1]
    return data.decode("utf-8", "replace"), offset + len(data)
