"""`critic experiments`: list, show and compare training runs."""

from __future__ import annotations

import typer

from critic.cli.base import App
from critic.cli.render import console, experiments_table, print_comparison, print_experiment

__all__ = ["app"]

app = App(no_args_is_help=True, help="List, inspect and compare training runs.")


@app.command("list")
def experiments_list() -> None:
    """Every experiment: dataset, model, status, best epoch and its validation numbers."""
    from critic.experiments.store import list_experiments

    table = experiments_table(list_experiments())
    console.print(
        table
        if table.rows
        else "no experiments yet: run `critic train --dataset NAME --preset kim-cnn`"
    )


@app.command("show")
def experiments_show(
    name: str = typer.Argument(..., help="Experiment name (see `critic experiments list`)."),
) -> None:
    """One experiment: settings, per-epoch metrics, checkpoints."""
    from critic.experiments.store import get_experiment

    print_experiment(get_experiment(name), settings=True)


@app.command("compare")
def experiments_compare(
    names: list[str] = typer.Argument(..., help="Two or more experiment names."),
) -> None:
    """Settings and per-epoch metrics side by side, plus an overlaid curves PNG."""
    from critic.experiments.compare import compare_experiments

    print_comparison(compare_experiments(names), names)
