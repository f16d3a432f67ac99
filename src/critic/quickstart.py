"""The main job behind `make demo`: import IMDB (or any labelled table), show what it holds, train
a model (the fast linear one unless told otherwise), evaluate it on validation and test, and deploy
it. `critic quickstart` then serves the deployment until Ctrl-C."""

from __future__ import annotations

from dataclasses import dataclass

from critic.data import IMDB_URL, Saved, SplitSettings, import_dataset
from critic.data.stats import DatasetStats, dataset_stats
from critic.deploy import Created, create_deployment
from critic.evaluate import Evaluation, evaluate
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.experiments.store import Experiment
from critic.train import Log
from critic.workspace import Workspace

__all__ = ["QuickstartResult", "quickstart", "QUICKSTART_PRESET"]

QUICKSTART_PRESET = (
    "linear"  # trains in seconds on a laptop; the neural presets take minutes to hours
)


@dataclass(frozen=True)
class QuickstartResult:
    imported: Saved
    stats: DatasetStats
    experiment: Experiment
    evaluations: list[Evaluation]  # validation and test, those the dataset has
    deployment: Created  # its token is in clear here, once


def quickstart(
    source: str = IMDB_URL,
    *,
    name: str = "imdb",
    preset: str = QUICKSTART_PRESET,
    text: str | None = None,
    label: str | None = None,
    split: SplitSettings = SplitSettings(),
    workspace: Workspace | None = None,
    progress: bool = True,
    log: Log = lambda event: None,
) -> QuickstartResult:
    """`text` / `label` name a table's columns (default: the obvious names); `split` applies to a
    table without its own subsets (e.g. test_fraction=0.2 for a CSV)."""
    workspace = workspace or Workspace.from_env()
    imported = import_dataset(
        name, source, text=text, label=label, split=split, workspace=workspace, progress=progress
    )
    ref = imported.version.ref
    stats = dataset_stats(ref, workspace=workspace, progress=progress)
    experiment = train_experiment(build_config(ref, preset=preset), workspace=workspace, log=log)
    by_subset = imported.version.manifest["rows"]["by_subset"]
    subsets = [s for s in ("validation", "test") if sum(by_subset.get(s, {}).values())]
    evaluations = [
        ev
        for s in subsets
        for ev in evaluate(experiment.name, subset=s, workspace=workspace, progress=progress)
    ]
    deployment = create_deployment(experiment.name, workspace=workspace)
    return QuickstartResult(imported, stats, experiment, evaluations, deployment)
