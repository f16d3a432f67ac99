"""Pictures of training runs (matplotlib, Agg backend: files only, no display)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = [
    "curves_png",
    "history_png",
    "confusion_png",
    "correct_incorrect_png",
    "reliability_png",
    "roc_pr_png",
]


def curves_png(runs: dict[str, list[dict]], path: Path, title: str) -> Path:
    """Loss and accuracy per epoch; one colour per run, solid = validation, dashed = train.
    `runs`: name → rows with epoch, train_loss, val_loss, train_accuracy, val_accuracy."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (name, rows) in enumerate(runs.items()):
        colour = f"C{i % 10}"
        epochs = [r["epoch"] for r in rows]
        for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.plot(
                epochs,
                [r[f"train_{key}"] for r in rows],
                "--",
                color=colour,
                alpha=0.6,
                label=f"{name} train",
            )
            if all(r[f"val_{key}"] is not None for r in rows):
                ax.plot(
                    epochs,
                    [r[f"val_{key}"] for r in rows],
                    "-o",
                    color=colour,
                    label=f"{name} validation",
                )
    ax_loss.set(title="loss (cross-entropy)", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_acc.legend(fontsize=8, loc="lower right")
    return _save(fig, path, title)


def history_png(rows: list[dict], path: Path, title: str, best_epoch: int | None) -> Path:
    """One run's train and validation loss and accuracy per epoch, the best epoch marked."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    epochs = [r["epoch"] for r in rows]
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(
            epochs, [r[f"train_{key}"] for r in rows], "--o", color="C0", alpha=0.7, label="train"
        )
        if all(r[f"val_{key}"] is not None for r in rows):
            ax.plot(epochs, [r[f"val_{key}"] for r in rows], "-o", color="C1", label="validation")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="C2", linestyle=":", label=f"best epoch ({best_epoch})")
        ax.set(
            title="loss (cross-entropy)" if key == "loss" else "accuracy",
            xlabel="epoch",
            ylabel=key,
        )
        ax.grid(alpha=0.3)
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)
    return _save(fig, path, title)


def confusion_png(matrix: list[list[int]], classes: list[str], path: Path, title: str) -> Path:
    """Rows: true class, columns: predicted. Colour and % = share of the row (recall on the
    diagonal); each cell also gives its count. Row ends: recall; column feet: precision."""
    m = np.asarray(matrix, dtype=np.int64)
    rows = m.sum(1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
    columns = m.sum(0)
    k = len(classes)
    fig, ax = plt.subplots(figsize=(2.2 + 1.3 * k, 1.8 + 1.1 * k))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{m[i, j]:,}\n{share[i, j]:.1%}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.6 else "black",
                fontsize=9,
            )
        ax.text(k - 0.35, i, f"recall\n{share[i, i]:.1%}", ha="left", va="center", fontsize=8)
    for j in range(k):
        precision = m[j, j] / columns[j] if columns[j] else 0.0
        ax.text(j, k - 0.42, f"precision\n{precision:.1%}", ha="center", va="top", fontsize=8)
    ax.set(
        xticks=range(k),
        yticks=range(k),
        xlabel="predicted",
        ylabel="true",
        xlim=(-0.5, k + 0.3),
        ylim=(k - 0.05, -0.5),
    )
    ax.set_xticklabels(classes, rotation=30 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticklabels(classes)
    return _save(fig, path, title)


def correct_incorrect_png(per_class: dict[str, dict], path: Path, title: str) -> Path:
    """Per true class, how many rows the model got right and wrong (the platform's error graph)."""
    names = list(per_class)
    correct = [per_class[c]["correct"] for c in names]
    incorrect = [per_class[c]["incorrect"] for c in names]
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(names) + 2), 4))
    ax.bar(names, correct, color="C2", label="correct")
    ax.bar(names, incorrect, bottom=correct, color="C3", label="incorrect")
    for x, (ok, bad) in enumerate(zip(correct, incorrect)):
        ax.text(x, ok + bad, f"{bad:,} wrong of {ok + bad:,}", ha="center", va="bottom", fontsize=8)
    ax.set(ylabel="rows", xlabel="true class")
    ax.legend(fontsize=8)
    return _save(fig, path, title)


def reliability_png(bins: list[dict], ece: float, path: Path, title: str) -> Path:
    """Accuracy against mean confidence per confidence bin; the diagonal is perfect calibration."""
    fig, (ax, ax_n) = plt.subplots(
        2, 1, figsize=(5.5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    width = (bins[0]["high"] - bins[0]["low"]) if bins else 0.1
    ax.bar(centres, [b["accuracy"] for b in bins], width=width * 0.9, color="C0", label="accuracy")
    ax.plot(
        [b["confidence"] for b in bins],
        [b["accuracy"] for b in bins],
        "o",
        color="C1",
        label="mean confidence",
    )
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    ax.set(
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1.02),
        title=f"expected calibration error {ece:.3f}",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax_n.bar(centres, [b["count"] for b in bins], width=width * 0.9, color="C7")
    ax_n.set(xlabel="confidence (top probability)", ylabel="rows")
    return _save(fig, path, title)


def roc_pr_png(
    labels: np.ndarray, scores: np.ndarray, positive: str, path: Path, title: str
) -> Path:
    """Two classes: the ROC curve and the precision–recall curve of the positive class's probability."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    precision, recall, _ = precision_recall_curve(labels, scores)
    fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.5))
    ax_roc.plot(fpr, tpr, color="C0", label=f"AUC {auc(fpr, tpr):.4f}")
    ax_roc.plot([0, 1], [0, 1], ":", color="grey")
    ax_roc.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    ax_pr.plot(recall, precision, color="C1", label=f"positive class: {positive}")
    ax_pr.axhline(float(np.mean(labels)), linestyle=":", color="grey", label="chance")
    ax_pr.set(title="precision–recall", xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    for ax in (ax_roc, ax_pr):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left" if ax is ax_pr else "lower right")
    return _save(fig, path, title)


def _save(fig, path: Path, title: str) -> Path:
    fig.suptitle(textwrap.fill(title, width=int(fig.get_figwidth() * 10)), fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
