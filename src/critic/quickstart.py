"""The main job behind `make demo`: import IMDB and show what it holds. Later steps (train,
evaluate, deploy, serve) extend this same function."""

from __future__ import annotations

from dataclasses import dataclass

from critic.data import IMDB_URL, Saved, import_dataset
from critic.data.stats import DatasetStats, dataset_stats
from critic.workspace import Workspace

__all__ = ["QuickstartResult", "quickstart"]


@dataclass(frozen=True)
class QuickstartResult:
    imported: Saved
    stats: DatasetStats


def quickstart(source: str = IMDB_URL, *, name: str = "imdb", workspace: Workspace | None = None,
               progress: bool = True) -> QuickstartResult:
    workspace = workspace or Workspace.from_env()
    imported = import_dataset(name, source, workspace=workspace, progress=progress)
    return QuickstartResult(imported, dataset_stats(imported.version.ref, workspace=workspace))
