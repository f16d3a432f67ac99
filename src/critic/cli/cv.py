"""`critic cv`: k-fold cross-validation of a preset or a config file on a dataset version."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.table import Table

from critic.cli.render import console, duration, num, plural
from critic.cli.train import _given

__all__ = ["cv_command"]


def cv_command(
    dataset: str = typer.Option(
        ...,
        "--dataset",
        "-d",
        help="NAME or NAME@VERSION: its train and validation rows are cut into folds.",
    ),
    preset: str | None = typer.Option(
        None, "--preset", "-p", help="A model preset (see `critic models list`)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="TOML (or YAML) file with encoder, model and train tables."
    ),
    folds: int = typer.Option(5, "--folds", "-k", help="k: each fold holds out 1/k of the rows."),
    seed: int = typer.Option(
        42, "--seed", help="Seeds the folds and each fold's validation share (not the training)."
    ),
    validation_fraction: float = typer.Option(
        0.1,
        "--validation-fraction",
        help="Share of each fold's train rows held out to pick the epoch (or the linear model's C).",
    ),
    name: str | None = typer.Option(
        None, "--name", help="Name of the run (default: DATASET-PRESET-N); folds are cv-NAME-fI."
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", help="Passes over each fold's train rows (neural models)."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Texts per optimizer step."),
    learning_rate: float | None = typer.Option(
        None, "--learning-rate", "--lr", help="The optimizer's step size."
    ),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads for torch (0 = its default)."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="One line per fold, without the training's own progress."
    ),
) -> None:
    """Cross-validate: train and score one experiment per fold, then show mean ± std."""
    from critic.experiments.cv import CVSettings, cross_validate

    settings = CVSettings(folds, seed, validation_fraction)
    train = _given(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        device=device,
        threads=threads,
    )
    with _FoldView(quiet) as view:
        result = cross_validate(
            dataset,
            preset=preset,
            config_file=config,
            train=train,
            settings=settings,
            name=name,
            log=view,
        )
    print_cv(result)


class _FoldView:
    """A `log` for cross_validate: a line as each fold starts and ends; the training's own events
    go to the training view between them (none with --quiet)."""

    def __init__(self, quiet: bool):
        from critic.progress import TrainingView

        self.training = None if quiet else TrainingView()

    def __enter__(self) -> _FoldView:
        if self.training:
            self.training.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.training:
            self.training.__exit__(*exc)

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "fold_start":
            console.print(f"fold {event['fold']}/{event['folds']}: training {event['experiment']}")
        elif kind == "fold_end":
            console.print(
                f"fold {event['fold']}/{event['folds']}: accuracy {event['accuracy']:.2%}  "
                f"macro F1 {event['macro_f1']:.4f}  loss {event['loss']:.4f}  "
                f"on {plural(event['rows']['test'], 'held-out row')}  ({duration(event['seconds'])})"
            )
        elif self.training:
            self.training(event)


def print_cv(result) -> None:
    """The folds' numbers, their mean ± std, and where the summary is."""
    table = Table(
        title=f"{result.settings.folds}-fold cross-validation {result.name} · {result.dataset}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    for column in ("fold", "accuracy", "macro F1", "loss", "held out", "experiment"):
        table.add_column(column, justify="left" if column == "experiment" else "right")
    for f in result.folds:
        table.add_row(
            str(f.fold),
            f"{f.accuracy:.2%}",
            num(f.macro_f1),
            num(f.loss),
            f"{f.rows['test']:,}",
            f.experiment,
        )
    table.add_section()
    table.add_row(
        "mean",
        f"{result.mean('accuracy'):.2%}",
        *(num(result.mean(m)) for m in ("macro_f1", "loss")),
        "",
        "",
    )
    table.add_row(
        "± std",
        f"{result.std('accuracy'):.2%}",
        *(num(result.std(m)) for m in ("macro_f1", "loss")),
        "",
        "",
    )
    console.print(table)
    console.print(
        f"summary: {result.folder / 'cv.json'}  plot: {result.folder / 'folds.png'}", soft_wrap=True
    )
    names = " ".join(f.experiment for f in result.folds)
    console.print(f"side by side: critic experiments compare {names}", soft_wrap=True)
