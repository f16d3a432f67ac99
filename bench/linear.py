"""Benchmark: critic's `linear` preset against scikit-learn's TF-IDF + logistic regression, on the
full IMDB, same split (train 20,000 / validation 5,000 / test 25,000 of the workspace's `imdb@1`).

    .venv/bin/python bench/linear.py [--dataset imdb@1] [--repeats 1]

Each contender runs in its own process (bench/harness.py's in_child). Training time is wall time
from the stored dataset:
tokenize + vectorize + fit (critic: its validation grid over C included; the peer: one fit with
its defaults, as a notebook would). Then the test subset is predicted once, and one review at a
time 1,000 times (median latency). Prints a table and saves bench/results/linear.json.
Bars (issue 5): test accuracy ≥ 91.5 %; training ≤ 60 s; faster and more accurate than the peer;
one review ≤ 2 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def critic_linear(dataset: str, config: str | None) -> dict:
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from critic.predictor import Predictor

    start = time.perf_counter()
    experiment = train_experiment(
        build_config(dataset, preset="linear", config_file=Path(config) if config else None),
        name=f"bench-linear-{int(time.time())}",
    )
    train_s = time.perf_counter() - start
    predictor = Predictor.from_checkpoint(experiment.checkpoint("best"))
    row = experiment.record.epochs[0]
    settings = experiment.record.config["model"]
    return {
        "train_s": train_s,
        "val_accuracy": row["val_accuracy"],
        "predict": predictor.predict_proba,
        "classes": predictor.classes,
        "detail": {
            "C": json.loads((experiment.checkpoint("best") / "model.json").read_text())["C"],
            "settings": settings,
        },
    }


def sklearn_tfidf_lr(dataset: str, config: str | None) -> dict:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from critic.data import load_version

    version = load_version(dataset)
    start = time.perf_counter()
    train = version.subset("train", ["text", "label"])
    classes = version.classes
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    X = vectorizer.fit_transform(train["text"])
    model = LogisticRegression(max_iter=1000).fit(
        X, train["label"].map({c: i for i, c in enumerate(classes)})
    )
    train_s = time.perf_counter() - start
    val = version.subset("validation", ["text", "label"])
    val_acc = float(
        (
            model.predict(vectorizer.transform(val["text"]))
            == val["label"].map({c: i for i, c in enumerate(classes)})
        ).mean()
    )
    return {
        "train_s": train_s,
        "val_accuracy": val_acc,
        "classes": classes,
        "predict": lambda texts: model.predict_proba(vectorizer.transform(texts)).astype(
            np.float32
        ),
        "detail": {
            "vectorizer": "TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)",
            "model": "LogisticRegression()",
        },
    }


CONTENDERS = {"critic linear": critic_linear, "sklearn tfidf+LR": sklearn_tfidf_lr}


def one(name: str, dataset: str, config: str | None) -> dict:
    from critic.data import load_version

    result = CONTENDERS[name](dataset, config)
    test = load_version(dataset).subset("test", ["text", "label"])
    truth = test["label"].map({c: i for i, c in enumerate(result["classes"])}).to_numpy()
    start = time.perf_counter()
    probs = result["predict"](test["text"].tolist())
    predict_s = time.perf_counter() - start
    texts = test["text"].tolist()[:1000]
    latencies = []
    for text in texts:
        t0 = time.perf_counter()
        result["predict"]([text])
        latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "contender": name,
        "test_accuracy": float((probs.argmax(1) == truth).mean()),
        "val_accuracy": result["val_accuracy"],
        "train_s": result["train_s"],
        "predict_test_s": predict_s,
        "one_review_ms_median": statistics.median(latencies),
        "detail": result["detail"],
    }


def run_child(name: str, dataset: str, config: str | None) -> dict:
    """One contender in a fresh interpreter: its row, with its own wall time and peak RSS."""
    try:
        return harness.in_child("linear:one", name, dataset, config, stderr="inherit")
    except harness.ChildFailed:
        raise SystemExit(f"{name} failed") from None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="imdb@1")
    parser.add_argument(
        "--config",
        help='a TOML with [model] kind = "linear" settings for critic (default: the preset)',
    )
    args = parser.parse_args()
    rows = [run_child(name, args.dataset, args.config) for name in CONTENDERS]
    print(
        f"{'contender':<18} {'test acc':>9} {'val acc':>8} {'train s':>8} {'predict 25k s':>14} "
        f"{'1 review ms':>12} {'peak RSS MB':>12}"
    )
    for r in rows:
        print(
            f"{r['contender']:<18} {r['test_accuracy']:>9.2%} {r['val_accuracy']:>8.2%} {r['train_s']:>8.1f} "
            f"{r['predict_test_s']:>14.1f} {r['one_review_ms_median']:>12.2f} {r['peak_rss_mb']:>12.0f}"
        )
    ours, peer = rows
    print(
        f"critic/peer training time: {ours['train_s'] / peer['train_s']:.2f}; accuracy difference: "
        f"{(ours['test_accuracy'] - peer['test_accuracy']) * 100:+.2f} points"
    )
    bars = {
        "test accuracy ≥ 91.5 %": ours["test_accuracy"] >= 0.915,
        "training ≤ 60 s": ours["train_s"] <= 60,
        "faster than the peer": ours["train_s"] < peer["train_s"],
        "more accurate than the peer": ours["test_accuracy"] > peer["test_accuracy"],
        "one review ≤ 2 ms": ours["one_review_ms_median"] <= 2,
    }
    for bar, met in bars.items():
        print(f"  {bar}: {'met' if met else 'NOT met'}")
    harness.save("linear", rows, benchmark="linear", dataset=args.dataset, bars=bars)


if __name__ == "__main__":
    main()
