"""Benchmark: where do critic's and Keras's trained Kim CNNs differ?

    .venv/bin/python bench/research/kim_cnn_errors.py [--dataset imdb@1]
    (needs keras; runs with KERAS_BACKEND=torch; reads what bench/compare_peers.py saved)

Takes every CPU seed of the Kim CNN seed study, bench/results/research/kim_cnn_seeds.json (the runs
of `bench/compare_peers.py`, seed 0 included): critic's best checkpoint (the row's experiment) and
Keras's best weights (the row's weights file), loaded into critic's kim-cnn graph, which
bench/research/kim_cnn_twin.py shows is the same network. Every model predicts through
critic's `Predictor` with the encoder fitted on the train subset, so the only difference between
two rows is the trained weights. For validation and test it reports accuracy, ROC AUC (how well
the scores rank, whatever the threshold), the share of texts predicted as the second class, and
the accuracy at the balanced threshold (the median score, so half are predicted each way: the
test set is balanced), then test accuracy by review length. Prints the mean over seeds per
contender, and critic − Keras with Welch's p, and saves every seed's numbers to
bench/results/research/kim_cnn_errors.json (`--table` prints them again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # bench/: the shared harness and compare_peers
import harness  # noqa: E402
from compare_peers import load_seeds  # noqa: E402

REPO = harness.BENCH.parent
OUT = "research/kim_cnn_errors"
LENGTHS = (
    0,
    100,
    150,
    200,
    300,
    450,
    650,
)  # bucket edges in words; the last bucket is "cut at 650"
MEASURES = ("accuracy", "auc", "predicted_second", "balanced_accuracy")  # the keys `scores` returns


def saved_models() -> list[tuple[str, int, str]]:
    """(contender, seed, checkpoint folder or Keras weights file) for every saved Kim CNN seed."""
    found = []
    for contender, by_seed in load_seeds("kim-cnn")["runs"].get("cpu", {}).items():
        for seed, r in by_seed.items():
            if contender == "critic kim-cnn" and "experiment" in r:
                found.append((contender, int(seed), r["experiment"]))
            elif contender == "keras kim-cnn" and "weights" in r and (REPO / r["weights"]).exists():
                found.append((contender, int(seed), r["weights"]))
    return found


def keras_predictor(weights: str, encoder, classes: list[str]):
    """Keras's trained weights in critic's kim-cnn graph, behind critic's Predictor."""
    from kim_cnn_twin import copy_from_keras  # bench/research/, this script's folder

    import keras
    from compare_peers import _keras_model
    from critic.models.graph import GraphModel
    from critic.predictor import Predictor
    from critic.presets import get_preset

    preset = get_preset("kim-cnn")
    twin = _keras_model(keras, "kim-cnn", preset.encoder, len(classes))
    twin.load_weights(weights)
    model = GraphModel(preset.model, encoder.input_spec, len(classes))
    copy_from_keras(model, twin, keras)
    return Predictor(model.eval(), encoder, classes, {})


def scores(probs: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    second = probs[:, 1]
    balanced = second > np.median(second)
    return {
        "accuracy": float((probs.argmax(1) == labels).mean()),
        "auc": float(roc_auc_score(labels, second)),
        "predicted_second": float((probs.argmax(1) == 1).mean()),
        "balanced_accuracy": float((balanced == (labels == 1)).mean()),
    }


def length_buckets(words: np.ndarray) -> dict[str, np.ndarray]:
    """Bucket name → (N,) mask of the texts whose word count falls in it."""
    return {
        f"{low}-{high - 1}" if high else f"{low} (cut)": (words >= low) & (words < high)
        if high
        else words >= low
        for low, high in zip(LENGTHS, LENGTHS[1:] + (None,))
    }


def by_length(
    probs: np.ndarray, labels: np.ndarray, buckets: dict[str, np.ndarray]
) -> dict[str, float]:
    right = probs.argmax(1) == labels
    return {name: float(right[rows].mean()) for name, rows in buckets.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="imdb@1")
    parser.add_argument(
        "--table", action="store_true", help="print the saved results' tables and exit"
    )
    args = parser.parse_args()
    if args.table:
        saved = harness.load(OUT)
        _print(saved["rows"], saved["classes"], saved["test_reviews_by_length"])
        return

    from critic.data import load_version
    from critic.experiments.store import get_experiment
    from critic.predictor import Predictor
    from critic.presets import get_preset
    from critic.text.encoders import encoder_for
    from critic.text.spec import PAD

    version = load_version(args.dataset)
    classes = version.classes
    if len(classes) != 2:
        raise SystemExit(
            f"{version.ref} has {len(classes)} classes; this comparison (AUC, balanced threshold) needs 2"
        )
    subsets = {s: version.subset(s, ["text", "label"]) for s in ("validation", "test")}
    labels = {
        s: rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
        for s, rows in subsets.items()
    }
    encoder = encoder_for(get_preset("kim-cnn").encoder).fit(
        version.subset("train", ["text"])["text"]
    )
    buckets = length_buckets((encoder.encode(subsets["test"]["text"].tolist()) != PAD).sum(1))
    rows = []
    for contender, seed, source in saved_models():
        predictor = (
            keras_predictor(str(REPO / source), encoder, classes)
            if contender.startswith("keras")
            else Predictor.from_checkpoint(get_experiment(source).checkpoint("best"))
        )
        row = {"contender": contender, "seed": seed, "source": source}
        for subset, texts in subsets.items():
            probs = predictor.predict_proba(texts["text"].tolist())
            row[subset] = scores(probs, labels[subset])
            if subset == "test":
                row["test_by_length"] = by_length(probs, labels[subset], buckets)
        rows.append(row)
        print(f"{contender} seed {seed}: test {row['test']['accuracy']:.2%}", flush=True)
    counts = {name: int(mask.sum()) for name, mask in buckets.items()}
    _print(rows, classes, counts)
    harness.save(
        OUT,
        rows,
        benchmark="kim_cnn_errors",
        dataset=args.dataset,
        classes=classes,
        test_reviews_by_length=counts,
    )


def _difference(rows: list[dict]) -> None:
    """critic − Keras per subset and measure, with Welch's p (unequal spreads)."""
    from scipy import stats

    ours = [r for r in rows if r["contender"].startswith("critic")]
    theirs = [r for r in rows if r["contender"].startswith("keras")]
    if len(ours) < 2 or len(theirs) < 2:
        return
    for subset in ("validation", "test"):
        cells = []
        for key in MEASURES:
            a, b = [r[subset][key] * 100 for r in ours], [r[subset][key] * 100 for r in theirs]
            p = stats.ttest_ind(a, b, equal_var=False).pvalue
            cells.append(f"{statistics.mean(a) - statistics.mean(b):+.2f} points (p {p:.2f})")
        print(f"| critic − Keras | | {subset} | " + " | ".join(cells) + " |")


def _print(rows: list[dict], classes: list[str], counts: dict[str, int]) -> None:
    contenders = sorted({r["contender"] for r in rows})

    def mean(name: str, get) -> str:
        values = [get(r) for r in rows if r["contender"] == name]
        return f"{statistics.mean(values):.2%}" + (
            f" ± {statistics.stdev(values) * 100:.2f}" if len(values) > 1 else ""
        )

    print(
        f"\nmean ± sd over seeds; '{classes[1]}' share = texts predicted {classes[1]!r} (both subsets are balanced)\n"
    )
    print(
        "| contender | seeds | subset | accuracy | ROC AUC | "
        + f"'{classes[1]}' share | accuracy at the balanced threshold |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in contenders:
        n = sum(r["contender"] == name for r in rows)
        for subset in ("validation", "test"):
            cells = [mean(name, lambda r, k=k, s=subset: r[s][k]) for k in MEASURES]
            print(f"| {name} | {n} | {subset} | " + " | ".join(cells) + " |")
    _difference(rows)
    buckets = list(rows[0]["test_by_length"])
    print("\ntest accuracy by review length (words after cleaning), mean over seeds\n")
    print("| contender | " + " | ".join(f"{b} ({counts[b]:,})" for b in buckets) + " |")
    print("|---|" + "---|" * len(buckets))
    for name in contenders:
        print(
            f"| {name} | "
            + " | ".join(
                mean(name, lambda r, b=b: r["test_by_length"][b]).split(" ±")[0] for b in buckets
            )
            + " |"
        )


if __name__ == "__main__":
    main()
