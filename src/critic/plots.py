"""Pictures of training runs (matplotlib, Agg backend: files only, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["curves_png"]


def curves_png(runs: dict[str, list[dict]], path: Path, title: str) -> Path:
    """Loss and accuracy per epoch; one colour per run, solid = validation, dashed = train.
    `runs`: name → rows with epoch, train_loss, val_loss, train_accuracy, val_accuracy."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (name, rows) in enumerate(runs.items()):
        colour = f"C{i % 10}"
        epochs = [r["epoch"] for r in rows]
        for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.plot(epochs, [r[f"train_{key}"] for r in rows], "--", color=colour, alpha=0.6, label=f"{name} train")
            if all(r[f"val_{key}"] is not None for r in rows):
                ax.plot(epochs, [r[f"val_{key}"] for r in rows], "-o", color=colour, label=f"{name} validation")
    ax_loss.set(title="loss (cross-entropy)", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_acc.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
