"""A job as the catalog records it: one critic command line, run outside the request that asked
for it, with its state, times, the executor that runs it and where its log goes.

    queued ──claim──▶ running ──▶ done       (exit code 0)
       │                 ├──────▶ failed     (another exit code, or its process died unrecorded)
       └───cancel────────┴──────▶ cancelled
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["JobRecord", "STATES", "ENDED", "timestamp", "new_job_id"]

STATES = ("queued", "running", "done", "failed", "cancelled")
ENDED = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class JobRecord:
    id: str  # job-YYYYmmdd-HHMMSS-xxxx (UTC), also its log file's name
    kind: str  # train, evaluate, import, ... (critic.jobs.commands.COMMANDS)
    argv: tuple[str, ...]  # the critic command, without `critic`: ("train", "--dataset", ...)
    state: str  # one of STATES
    created: str  # ISO 8601 UTC, milliseconds: the queue's order
    started: str | None
    ended: str | None
    executor: str  # who runs it: "local" (a process group of this host), later "ray"
    handle: str | None  # the executor's id for it, e.g. "host:pid" of the runner's process group
    log: str  # its log file, relative to the workspace root
    exit_code: int | None  # the command's; negative: killed by that signal
    error: str | None  # why it failed: the last lines of its log
    target: str | None  # what it makes or reads, e.g. the experiment's name
    user: str | None  # who submitted it (a workbench login), if anyone

    @property
    def finished(self) -> bool:
        return self.state in ENDED

    @property
    def command(self) -> str:
        """The command line as a user would type it."""
        return shlex.join(("critic", *self.argv))

    def seconds(self, at: datetime | None = None) -> float | None:
        """How long it ran (so far, while it runs); None when it never started."""
        if not self.started:
            return None
        end = datetime.fromisoformat(self.ended) if self.ended else (at or datetime.now(UTC))
        return max(0.0, (end - datetime.fromisoformat(self.started)).total_seconds())


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_job_id() -> str:
    """Sortable by time, and random enough that a clash (retried by `submit`) is rare."""
    return f"job-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
