"""Experiments side by side: their settings, their validation curves in one picture, and their
evaluations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from critic.catalog import open_catalog
from critic.errors import SettingsError
from critic.experiments.store import Experiment, flat_settings, get_experiment
from critic.plots import curves_png
from critic.workspace import Workspace

__all__ = ["Comparison", "compare_experiments"]


@dataclass(frozen=True)
class Comparison:
    experiments: list[Experiment]
    settings: list[tuple[str, list[str]]]  # (setting, value per experiment)
    curves: Path
    evaluations: list[list[dict]]  # per experiment, its latest evaluation per (checkpoint, subset)


def compare_experiments(names: list[str], workspace: Workspace | None = None) -> Comparison:
    """Settings side by side and one PNG with every run's per-epoch curves overlaid."""
    workspace = workspace or Workspace.from_env()
    if len(names) < 1:
        raise SettingsError("name at least one experiment to compare")
    runs = [get_experiment(n, workspace) for n in names]
    flat = [flat_settings(r.record.config) for r in runs]
    keys = sorted({k for f in flat for k in f} - {"model.blocks"}) + ["model.blocks"]
    settings = [(k, [str(f.get(k, "")) for f in flat]) for k in keys]
    path = workspace.root / "reports" / ("compare-" + "-".join(names)[:150] + ".png")
    curves_png(
        {r.name: list(r.record.epochs) for r in runs}, path, "per-epoch curves: " + ", ".join(names)
    )
    catalog = open_catalog(workspace)
    return Comparison(runs, settings, path, [catalog.evaluations(r.name) for r in runs])
