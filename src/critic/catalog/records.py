"""The catalog's records: one frozen dataclass per kind of row, as callers see them (JSON columns
already parsed)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "DatasetRecord",
    "ExperimentRecord",
    "DeploymentRecord",
    "JobRecord",
    "JOB_STATES",
    "JOB_ENDED",
]


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    version: int
    created: str
    fingerprint: str
    rows: int
    rejected: int
    path: str  # relative to the workspace root, so a shared workspace works on every node
    manifest: dict

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class ExperimentRecord:
    name: str
    dataset: str
    model: str
    status: str
    created: str
    updated: str
    epochs_done: int
    best_epoch: int | None
    seconds: float
    error: str | None
    path: str  # relative to the workspace root
    config: dict
    owner: str | None = None
    epochs: tuple[dict, ...] = ()

    @property
    def best_metrics(self) -> dict:
        """The metrics of the epoch whose checkpoint is `best` (not the last epoch's: early
        stopping runs past it)."""
        return next(e for e in self.epochs if e["epoch"] == self.best_epoch)


@dataclass(frozen=True)
class DeploymentRecord:
    name: str
    experiment: str
    checkpoint: str
    input_name: str
    enabled: bool
    token_hash: str
    created: str
    updated: str
    runtime: str = "torch"  # torch, torch-bf16, onnx or onnx-int8 (critic.deploy.RUNTIMES)


# a job's states (critic.jobs): queued → running → done | failed | cancelled
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
JOB_ENDED = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class JobRecord:
    id: str  # job-YYYYmmdd-HHMMSS-xxxx (UTC), also its log file's name
    kind: str  # train, evaluate, import, ... (critic.jobs.commands.COMMANDS)
    argv: tuple[str, ...]  # the critic command, without `critic`: ("train", "--dataset", ...)
    state: str  # one of JOB_STATES
    created: str  # ISO 8601 UTC, milliseconds: the queue's order
    started: str | None
    ended: str | None
    executor: str  # who runs it: "local" (a process group of this host), "ray"
    handle: str | None  # the executor's id for it, e.g. "host:pid" of the runner's process group
    log: str  # its log file, relative to the workspace root
    exit_code: int | None  # the command's; negative: killed by that signal
    error: str | None  # why it failed: the last lines of its log
    target: str | None  # what it makes or reads, e.g. the experiment's name
    user: str | None  # who submitted it (a workbench login), if anyone

    @property
    def finished(self) -> bool:
        return self.state in JOB_ENDED

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
