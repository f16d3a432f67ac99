"""Evaluate an experiment's checkpoint on a subset of its dataset version, or of any other
version with the same classes (a labelled file from elsewhere, imported as a dataset).

    evaluate("kim-cnn-1", checkpoint="best", subset="test")
    → experiments/kim-cnn-1/evaluation/best/test/        (another version: best/NAME-vN/test/)
        metrics.json      `critic.metrics.classification_metrics` + what was evaluated
        errors.csv        every misclassified row, most confident mistakes first
        explanations.jsonl  the EXPLAINED_ERRORS most confident mistakes explained (critic.explain):
                          {"row", "label", "probabilities", "explanation"} a line, what the model
                          latched onto (the predicted class's word scores)
        history.png, confusion.png, correct_incorrect.png, reliability.png, roc_pr.png (two classes)
        report.html       all of it on one self-contained page

Predictions come from the one `Predictor` (the checkpoint's encoder and model), fed a chunk of
texts at a time, so the encoded subset is never in memory at once. The folder is written beside
and then swapped in, so a reader never sees half a report; the catalog keeps a summary for
`critic experiments compare`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from critic.artifacts import replace_dir, write_json
from critic.catalog import open_catalog
from critic.errors import SettingsError
from critic.evaluations import check_evaluable, check_same_classes
from critic.experiments.store import Experiment
from critic.metrics import classification_metrics
from critic.plots import (
    confusion_png,
    correct_incorrect_png,
    history_png,
    reliability_png,
    roc_pr_png,
)
from critic.predictor import Predictor, predict_in_chunks
from critic.progress import bar
from critic.report import evaluation_html
from critic.workspace import Workspace

__all__ = ["Evaluation", "evaluate", "SUBSET_CHOICES", "EXPLAINED_ERRORS"]

SUBSET_CHOICES = ("validation", "test", "all")
# the most confident mistakes explained for report.html and the workbench's error browser: the
# report shows 50; a neural model's explanation costs a few dozen forward passes each
EXPLAINED_ERRORS = 50


@dataclass(frozen=True)
class Evaluation:
    experiment: str
    checkpoint: str
    subset: str
    epoch: int
    folder: Path
    metrics: dict
    seconds: float
    dataset: str  # name@version it read
    own_dataset: bool = True  # the version the experiment trained on (else one from elsewhere)

    def file(self, name: str) -> Path:
        return self.folder / name


def evaluate(
    name: str,
    *,
    checkpoint: str = "best",
    subset: str = "test",
    dataset: str | None = None,
    workspace: Workspace | None = None,
    progress: bool = True,
    explain_errors: int = EXPLAINED_ERRORS,
) -> list[Evaluation]:
    """One Evaluation per subset (`all`: validation, then test) of `dataset` (NAME or NAME@V;
    default: the version the experiment trained on); its `explain_errors` most confident mistakes
    explained (0: none)."""
    workspace = workspace or Workspace.from_env()
    if subset not in SUBSET_CHOICES:
        raise SettingsError(f"subset must be one of {', '.join(SUBSET_CHOICES)}, got {subset!r}")
    if explain_errors < 0:
        raise SettingsError(f"explain_errors must be 0 or more, got {explain_errors}")
    # the checks the workbench makes before it queues an evaluation: one implementation
    plan = check_evaluable(
        name, checkpoint=checkpoint, subset=subset, dataset=dataset, workspace=workspace
    )
    predictor = Predictor.from_checkpoint(plan.checkpoint)
    check_same_classes(plan.version, predictor.classes, plan.experiment.name)
    return [
        _evaluate_one(
            plan.experiment,
            checkpoint,
            predictor,
            plan.version,
            s,
            workspace,
            progress,
            explain_errors,
        )
        for s in plan.subsets
    ]


def _folder(experiment: Experiment, checkpoint: str, version, subset: str) -> Path:
    base = experiment.path / "evaluation" / checkpoint
    if version.ref != experiment.record.dataset:
        base = base / f"{version.record.name}-v{version.record.version}"
    return base / subset


def _evaluate_one(
    experiment: Experiment,
    checkpoint: str,
    predictor: Predictor,
    version,
    subset: str,
    workspace: Workspace,
    progress: bool,
    explain_errors: int,
) -> Evaluation:
    start = time.perf_counter()
    rows = version.subset(subset, ["text", "label", "origin"])
    classes = predictor.classes
    labels = rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)
    probs = predict_in_chunks(
        predictor,
        rows["text"].tolist(),
        f"evaluate {experiment.name} ({checkpoint}) on {subset}",
        progress=progress,
    )
    metrics = classification_metrics(labels, probs, classes)
    epoch = int(predictor.manifest.get("epoch", 0))
    metrics_file = {
        "experiment": experiment.name,
        "checkpoint": checkpoint,
        "epoch": epoch,
        "dataset": version.ref,
        "subset": subset,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **metrics,
    }
    errors = _errors(rows, labels, probs, classes)
    explained = _explain_errors(predictor, errors.head(explain_errors), progress)
    final = _folder(experiment, checkpoint, version, subset)
    title = f"{experiment.name} · {checkpoint} checkpoint (epoch {epoch}) · {version.ref} {subset}"

    def fill(tmp: Path) -> None:
        write_json(tmp / "metrics.json", metrics_file)
        errors.to_csv(tmp / "errors.csv", index=False)
        with open(tmp / "explanations.jsonl", "w", encoding="utf-8") as out:
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in explained)
        images = _plots(tmp, experiment, metrics, labels, probs, classes, title)
        meta = {
            "experiment": experiment.name,
            "model": experiment.record.model,
            "checkpoint": f"{checkpoint} (epoch {epoch})",
            "dataset": version.ref,
            "subset": f"{subset} ({len(rows):,} rows)",
            "evaluated": metrics_file["created"],
        }
        (tmp / "report.html").write_text(
            evaluation_html(
                title=title,
                meta=meta,
                metrics=metrics,
                classes=classes,
                images=images,
                errors=errors,
                explanations={line["row"]: line["explanation"] for line in explained},
            ),
            encoding="utf-8",
        )

    replace_dir(final, fill)
    seconds = time.perf_counter() - start
    summary = {
        "n": metrics["n"],
        "accuracy": metrics["accuracy"],
        "loss": metrics["loss"],
        "macro_f1": metrics["macro_avg"]["f1"],
        "ece": metrics["ece"],
        "seconds": seconds,
    }
    if "roc_auc" in metrics:
        summary["roc_auc"] = metrics["roc_auc"]
    open_catalog(workspace).record_evaluation(
        experiment.name,
        checkpoint,
        subset,
        epoch,
        metrics_file["created"],
        summary,
        final.relative_to(workspace.root).as_posix(),
        version.ref,
    )
    own = version.ref == experiment.record.dataset
    return Evaluation(
        experiment.name, checkpoint, subset, epoch, final, metrics, seconds, version.ref, own
    )


def _explain_errors(predictor: Predictor, errors: pd.DataFrame, progress: bool) -> list[dict]:
    """{"row", "label", "probabilities", "explanation"} for each of `errors` (the most confident
    mistakes): why the model answered what it did, a chunk of rows at a time."""
    texts, out, chunk = errors["text"].tolist(), [], 16
    with bar("explain the most confident mistakes", len(texts), enabled=progress) as advance:
        for i in range(0, len(texts), chunk):
            found = predictor.explain(texts[i : i + chunk])
            for row, ex in zip(errors["row"].iloc[i : i + chunk], found):
                out.append({"row": int(row), **ex.answer()})
            advance(len(found))
    return out


def _errors(
    rows: pd.DataFrame, labels: np.ndarray, probs: np.ndarray, classes: list[str]
) -> pd.DataFrame:
    """Misclassified rows: row (position in the subset), origin, true and predicted label, the
    predicted label's probability and the true label's; most confident mistakes first."""
    predicted = probs.argmax(1)
    wrong = np.flatnonzero(predicted != labels)
    frame = pd.DataFrame(
        {
            "row": wrong,
            "origin": rows["origin"].to_numpy()[wrong],
            "true_label": [classes[i] for i in labels[wrong]],
            "predicted_label": [classes[i] for i in predicted[wrong]],
            "probability": probs[wrong, predicted[wrong]],
            "true_label_probability": probs[wrong, labels[wrong]],
            "text": rows["text"].to_numpy()[wrong],
        }
    )
    return frame.sort_values(
        ["probability", "row"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def _plots(
    folder: Path,
    experiment: Experiment,
    metrics: dict,
    labels: np.ndarray,
    probs: np.ndarray,
    classes: list[str],
    title: str,
) -> dict[str, Path]:
    images = {
        "Training history": history_png(
            list(experiment.record.epochs),
            folder / "history.png",
            experiment.name,
            experiment.record.best_epoch,
        ),
        "Confusion matrix": confusion_png(
            metrics["confusion_matrix"], classes, folder / "confusion.png", title
        ),
        "Correct and incorrect per class": correct_incorrect_png(
            metrics["per_class"], folder / "correct_incorrect.png", title
        ),
        "Calibration": reliability_png(
            metrics["calibration_bins"], metrics["ece"], folder / "reliability.png", title
        ),
    }
    if "roc_auc" in metrics:
        images["ROC and precision–recall"] = roc_pr_png(
            labels == 1, probs[:, 1], classes[1], folder / "roc_pr.png", title
        )
    return images
