"""`critic evaluate` and `critic predict`: a checkpoint on a subset, or on texts and tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from critic.cli.render import console, plural, print_evaluation

__all__ = ["evaluate_command", "predict_command"]

_CHECKPOINT = typer.Option("best", "--checkpoint", help="best or last.")


def evaluate_command(
    experiment: str = typer.Argument(..., help="Experiment name (see `critic experiments list`)."),
    checkpoint: str = _CHECKPOINT,
    subset: str = typer.Option("test", "--subset", help="validation, test, or all (each in turn)."),
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        "-d",
        help="NAME or NAME@VERSION to evaluate on instead of the experiment's own: any version "
        "with the same classes (e.g. a labelled file from elsewhere, imported with critic data import).",
    ),
) -> None:
    """Metrics, confusion matrix, errors, plots and an HTML report for one checkpoint."""
    from critic.evaluate import evaluate

    for ev in evaluate(experiment, checkpoint=checkpoint, subset=subset, dataset=dataset):
        print_evaluation(ev)


def predict_command(
    experiment: str = typer.Argument(..., help="Experiment name."),
    texts: list[str] | None = typer.Argument(None, help="Texts to classify (or use --file)."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="A CSV/TSV/JSONL/Parquet table with a text column."
    ),
    text_column: str | None = typer.Option(
        None, "--text-column", help="The column holding the text (default: guessed)."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Where --file's predictions go (default: FILE.predictions.csv).",
    ),
    checkpoint: str = _CHECKPOINT,
) -> None:
    """Classify texts with an experiment's checkpoint: every class's probability."""
    from critic.errors import SettingsError
    from critic.experiments.store import get_experiment
    from critic.predictor import Predictor

    if bool(texts) == bool(file):
        raise SettingsError("give texts as arguments or one --file, not both and not neither")
    predictor = Predictor.from_checkpoint(get_experiment(experiment).checkpoint(checkpoint))
    if texts:
        _print_predictions(texts, predictor.classes, predictor.predict(texts))
        return
    from critic.batch_predict import predict_file

    written = predict_file(predictor, file, output=output, text_column=text_column)
    console.print(
        f"[green]predicted[/] {plural(written.rows, 'row')} → {written.path}"
        + (
            f" ({plural(written.empty, 'row')} had no text and {'was' if written.empty == 1 else 'were'} "
            f"predicted as an empty review)"
            if written.empty
            else ""
        )
    )


def _print_predictions(texts: list[str], classes: list[str], answers: list[dict]) -> None:
    table = Table("text", "label", *classes)
    for text, answer in zip(texts, answers):
        table.add_row(
            text if len(text) <= 80 else text[:77] + "...",
            answer["label"],
            *(f"{answer['probabilities'][c]:.4f}" for c in classes),
        )
    console.print(table)
