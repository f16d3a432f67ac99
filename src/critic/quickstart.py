"""The main job behind `make demo`: import IMDB, show what it holds, train the fast linear model
on it. Later steps (evaluate, deploy, serve) extend this same function."""

from __future__ import annotations

from dataclasses import dataclass

from critic.data import IMDB_URL, Saved, import_dataset
from critic.data.stats import DatasetStats, dataset_stats
from critic.experiment import Experiment, build_config, train_experiment
from critic.train import Log
from critic.workspace import Workspace

__all__ = ["QuickstartResult", "quickstart", "QUICKSTART_PRESET"]

QUICKSTART_PRESET = "linear"  # trains in seconds on a laptop; the neural presets take minutes to hours


@dataclass(frozen=True)
class QuickstartResult:
    imported: Saved
    stats: DatasetStats
    experiment: Experiment


def quickstart(source: str = IMDB_URL, *, name: str = "imdb", workspace: Workspace | None = None,
               progress: bool = True, log: Log = lambda event: None) -> QuickstartResult:
    workspace = workspace or Workspace.from_env()
    imported = import_dataset(name, source, workspace=workspace, progress=progress)
    stats = dataset_stats(imported.version.ref, workspace=workspace)
    experiment = train_experiment(build_config(imported.version.ref, preset=QUICKSTART_PRESET), workspace=workspace, log=log)
    return QuickstartResult(imported, stats, experiment)
