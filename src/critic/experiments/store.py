"""Experiments as records: lookups in the catalog, the folder each one owns, and whether the
process that runs one is still alive. Light on purpose: the server and deployments find a
checkpoint here without importing training code.

    experiments/<name>/
      config.json          the resolved ExperimentConfig
      metrics.jsonl        one line per finished epoch
      events.jsonl         the run's events as they happen (critic.experiments.events)
      checkpoints/best/    the best epoch by the checkpoint metric on validation (never test)
      checkpoints/last/    the last finished epoch
      state/               optimizer + RNG + history, for --resume
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from critic.catalog import ExperimentRecord, open_catalog
from critic.errors import ExperimentNotFound, SettingsError
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = [
    "Experiment",
    "get_experiment",
    "list_experiments",
    "owner",
    "now",
    "free_name",
    "flat_settings",
]


@dataclass(frozen=True)
class Experiment:
    record: ExperimentRecord
    path: Path

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def status(self) -> str:
        """The catalog's status, except that a "running" run whose process is gone is "killed"."""
        if self.record.status == "running" and not _alive(self.record.owner):
            return "killed"
        return self.record.status

    def checkpoint(self, which: str = "best") -> Path:
        if which not in ("best", "last"):
            raise SettingsError(f"checkpoint must be 'best' or 'last', got {which!r}")
        path = self.path / "checkpoints" / which
        if not (path / "model.json").exists():
            raise SettingsError(
                f"experiment {self.name!r} has no {which} checkpoint yet (status: {self.record.status})"
            )
        return path


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str | None) -> bool:
    """Whether the process that claimed a run still exists (known only on the same host)."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's run: assume it is alive
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return not _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A process that ended but was not reaped (its parent died and nobody adopted it) still
    answers kill(pid, 0); Linux's /proc tells it apart ('Z'). Elsewhere: assume it is not one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]  # the state follows the command's ')'


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def get_experiment(name: str, workspace: Workspace | None = None) -> Experiment:
    workspace = workspace or Workspace.from_env()
    validate_name(name, "experiment name")
    records = open_catalog(workspace).experiments(name)
    if not records:
        raise ExperimentNotFound(f"no experiment {name!r}; see `critic experiments list`")
    return Experiment(records[0], workspace.root / records[0].path)


def list_experiments(workspace: Workspace | None = None) -> list[Experiment]:
    workspace = workspace or Workspace.from_env()
    return [Experiment(r, workspace.root / r.path) for r in open_catalog(workspace).experiments()]


def free_name(base: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """`BASE-N` with the smallest N not in `taken` (a preset's name without its version, e.g.
    kim-cnn-3): what `critic train` names an experiment given no --name."""
    base = base.rsplit(".v", 1)[0]
    n = 1
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def flat_settings(config: dict) -> dict[str, object]:
    """A saved config (config.json) as `table.setting` → value, for showing and comparing: the
    blocks summed up as "N blocks" (or "linear"), and the train settings a linear model never
    reads left out (they hold defaults, not choices)."""
    flat = _flatten(config)
    linear = config.get("model", {}).get("kind") == "linear"
    if linear:
        from critic.config import LINEAR_TRAIN_SETTINGS  # here: config brings torch

        flat = {
            k: v
            for k, v in flat.items()
            if not k.startswith("train.") or k[6:] in LINEAR_TRAIN_SETTINGS
        }
    kind = config.get("model", {}).get("kind")
    if kind == "ensemble":  # it passes seed, device and threads to its members
        flat = {
            k: v
            for k, v in flat.items()
            if not k.startswith("train.") or k[6:] in ("seed", "device", "threads")
        }
    blocks = config.get("model", {}).get("blocks")
    flat["model.blocks"] = (
        kind if kind in ("linear", "ensemble") or blocks is None else f"{len(blocks)} blocks"
    )
    return flat


def _flatten(config: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and key != "class_weight":
            out.update(_flatten(value, f"{prefix}{key}."))
        elif not (prefix == "model." and key == "blocks"):
            out[f"{prefix}{key}"] = value
    return out
