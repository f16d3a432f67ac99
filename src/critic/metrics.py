"""Classification metrics from true labels and predicted probabilities (scikit-learn's
implementations), as plain JSON-ready values.

    labels (N,) int class indices, probs (N, K) rows summing to 1, classes K names
    → accuracy, mean cross-entropy (the training loss), majority-class baseline (always predicting
      the subset's most common class, the seeds' yardstick), confusion matrix (rows: true class,
      columns: predicted), per-class precision / recall / F1 / support / correct / incorrect,
      macro and weighted averages, expected calibration error with its bins, and for two classes
      ROC AUC and average precision (positive class = the second class)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

__all__ = ["classification_metrics", "calibration_bins", "ECE_BINS"]

ECE_BINS = 15  # Guo et al. 2017, "On Calibration of Modern Neural Networks"


def classification_metrics(labels: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict:
    labels, probs = np.asarray(labels, dtype=np.int64), np.asarray(probs, dtype=np.float64)
    k = len(classes)
    predicted = probs.argmax(1)
    everyone = list(range(k))
    matrix = confusion_matrix(labels, predicted, labels=everyone)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=everyone, zero_division=0
    )
    correct = np.diag(matrix)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "predicted": int(matrix[:, i].sum()),
            "correct": int(correct[i]),
            "incorrect": int(support[i] - correct[i]),
        }
        for i, name in enumerate(classes)
    }
    averages = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            labels, predicted, labels=everyone, average=average, zero_division=0
        )
        averages[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    counts = np.bincount(labels, minlength=k)
    bins = calibration_bins(labels, probs)
    result = {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "loss": float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None)).mean())
        if len(labels)
        else 0.0,
        "baseline_accuracy": float(counts.max() / max(len(labels), 1)),
        "baseline_class": classes[int(counts.argmax())],
        "correct": int(correct.sum()),
        "incorrect": int(len(labels) - correct.sum()),
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class,
        "macro_avg": averages["macro"],
        "weighted_avg": averages["weighted"],
        "ece": float(
            sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins)
            / max(len(labels), 1)
        ),
        "calibration_bins": bins,
    }
    if k == 2 and 0 < counts[1] < len(labels):
        result["roc_auc"] = float(roc_auc_score(labels, probs[:, 1]))
        result["average_precision"] = float(average_precision_score(labels, probs[:, 1]))
    return result


def calibration_bins(labels: np.ndarray, probs: np.ndarray, n_bins: int = ECE_BINS) -> list[dict]:
    """Equal-width bins of confidence (the top probability, in (0, 1]); per non-empty bin its
    range, count, mean confidence and accuracy. ECE = Σ count/N · |accuracy − confidence|."""
    confidence = probs.max(1)
    hit = probs.argmax(1) == labels
    which = np.clip(
        np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1
    )  # (lo, hi] bins
    bins = []
    for b in range(n_bins):
        inside = which == b
        if inside.any():
            bins.append(
                {
                    "low": b / n_bins,
                    "high": (b + 1) / n_bins,
                    "count": int(inside.sum()),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(hit[inside].mean()),
                }
            )
    return bins
