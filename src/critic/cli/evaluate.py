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
    explain_errors: int | None = typer.Option(
        None,
        "--explain-errors",
        min=0,
        help="Explain this many of the most confident mistakes (their words shaded in report.html "
        "and the workbench; default: critic.evaluate.EXPLAINED_ERRORS, 50); 0: none.",
    ),
) -> None:
    """Metrics, confusion matrix, errors, plots and an HTML report for one checkpoint."""
    from critic.evaluate import evaluate

    for ev in evaluate(
        experiment,
        checkpoint=checkpoint,
        subset=subset,
        dataset=dataset,
        **({} if explain_errors is None else {"explain_errors": explain_errors}),
    ):
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
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Show which words drove each prediction (blue: toward the class, orange: away); "
        "with --file, an `explanation` column (JSON: the class and its 10 strongest words).",
    ),
    explain_class: str | None = typer.Option(
        None,
        "--explain-class",
        help="Explain this class instead of the predicted one (implies --explain).",
    ),
    precision: str = typer.Option(
        "fp32",
        "--precision",
        help="fp32, or bf16: the model's matrix products in bfloat16, about 2x faster on a "
        "CPU with AMX or AVX512-BF16 (probabilities ~1e-2 apart; explanations stay fp32).",
    ),
) -> None:
    """Classify texts with an experiment's checkpoint: every class's probability."""
    from critic.errors import SettingsError
    from critic.experiments.store import get_experiment
    from critic.predictor import Predictor, check_precision

    if bool(texts) == bool(file):
        raise SettingsError("give texts as arguments or one --file, not both and not neither")
    check_precision(precision, "--precision")  # before the model is loaded
    predictor = Predictor.from_checkpoint(
        get_experiment(experiment).checkpoint(checkpoint), precision=precision
    )
    explain = explain or explain_class is not None
    if explain_class is not None:
        from critic.explain import target_index

        target_index(predictor.classes, explain_class)  # refused before anything is predicted
    if texts:
        _print_predictions(texts, predictor.classes, predictor.predict(texts))
        if explain:
            _print_explanations(texts, predictor.explain(texts, explain_class))
        return
    from critic.batch_predict import predict_file

    written = predict_file(
        predictor,
        file,
        output=output,
        text_column=text_column,
        explain=explain,
        explain_class=explain_class,
    )
    console.print(
        f"[green]predicted[/] {plural(written.rows, 'row')} → {written.path}"
        + (
            f" ({plural(written.empty, 'row')} had no text and {'was' if written.empty == 1 else 'were'} "
            f"predicted as an empty review)"
            if written.empty
            else ""
        )
    )


def _print_explanations(texts: list[str], explanations: list) -> None:
    """Each text with its words shaded by score (`critic.explain.shade`), then its strongest words."""
    from rich.text import Text

    from critic.explain.shade import COLOURS, DARK, pieces

    for text, ex in zip(texts, explanations):
        head = Text(f"\n{ex.label} ({ex.probabilities[ex.label]:.4f})", style="bold")
        head.append(f" · why {ex.target}: {_method(ex)}", style="dim")
        console.print(head)
        shown = Text()
        for piece in pieces(text, ex):
            if not piece.seen:
                shown.append(piece.text, style="dim strike")
            elif piece.level:
                fg = "white" if piece.level in DARK else "black"
                shown.append(piece.text, style=f"{fg} on {COLOURS[piece.level]}")
            else:
                shown.append(piece.text)
        console.print(shown)
        top = Text("strongest: ", style="dim")
        for i, span in enumerate(ex.top(8)):
            colour = COLOURS[4] if span.score > 0 else COLOURS[-4]
            top.append(("" if i == 0 else ", ") + span.word, style=f"bold {colour}")
            top.append(f" {span.score:+.3f}", style="dim")
        console.print(top)
    legend = Text("\n")
    legend.append(" toward the class ", style=f"white on {COLOURS[4]}")
    legend.append("  ")
    legend.append(" away from it ", style=f"white on {COLOURS[-4]}")
    legend.append("  ")
    legend.append("not read (beyond the sequence length)", style="dim strike")
    console.print(legend)


def _method(ex) -> str:
    if ex.method == "linear":
        return "the linear model's exact word contributions to the logit"
    if ex.method == "occlusion":
        return "occlusion (the log-odds each word takes away)"
    return (
        f"Integrated Gradients on the log-odds, {ex.steps} steps, "
        f"completeness error {ex.completeness_error:.1%}"
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
