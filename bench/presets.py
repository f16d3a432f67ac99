"""Benchmark: every preset with its published settings on the full IMDB, on this machine.

    .venv/bin/python bench/presets.py [--presets kim-cnn,multi-hot-mlp] [--source ../shared/data/aclImdb_v1.tar.gz]

Each preset trains in its own process (bench/harness.py's in_child; the `critic train` path:
train_experiment with the preset's
defaults), then its best checkpoint predicts the 25,000 test reviews through the Predictor.
Each follows its source's protocol: the platform's models (kim-cnn, kim-cnn-2014) train on 80 %
of aclImdb's train and keep the epoch with the best validation loss; the Keras tutorials' models
train on all 25,000 train reviews for their fixed epochs and keep the last (a dataset version
with no validation subset, made with `critic data split imdb --validation-fraction 0`). Prints a
table (test accuracy against the published figure,
training wall time, seconds per epoch, test prediction time, peak RSS) and saves
bench/results/presets.json. The workspace is kept (--home) so the runs can be evaluated later.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def one(preset: str, dataset: str) -> dict:
    """Runs inside the child process: train, then predict the test subset."""

    from critic.data import load_version
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from critic.predictor import Predictor

    start = time.perf_counter()
    experiment = train_experiment(
        build_config(dataset, preset=preset), name=f"bench-{preset}-{int(time.time())}"
    )
    train_s = time.perf_counter() - start
    test = load_version(dataset).subset("test", ["text", "label"])
    predictor = Predictor.from_checkpoint(experiment.checkpoint("best"))
    start = time.perf_counter()
    probs = predictor.predict_proba(test["text"].tolist())
    predict_s = time.perf_counter() - start
    truth = test["label"].map({c: i for i, c in enumerate(predictor.classes)}).to_numpy()
    rows = experiment.record.epochs
    best = next(r for r in rows if r["epoch"] == experiment.record.best_epoch)
    return {
        "preset": preset,
        "experiment": experiment.name,
        "test_accuracy": float((probs.argmax(1) == truth).mean()),
        "best_epoch": experiment.record.best_epoch,
        "epochs": len(rows),
        "val_accuracy": best["val_accuracy"],
        "val_loss": best["val_loss"],
        "train_s": train_s,
        "seconds_per_epoch": [r["seconds"] for r in rows],
        "predict_test_s": predict_s,
        "config": experiment.record.config,
    }


def run_child(preset: str, dataset: str, env: dict) -> dict:
    """One preset in a fresh interpreter (its progress on the terminal): its row, with its peak RSS."""
    try:
        return harness.in_child("presets:one", preset, dataset, env=env, stderr="inherit")
    except harness.ChildFailed as failed:
        return {"preset": preset, "error": f"exit {failed.result['rc']}"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--presets", default="kim-cnn,multi-hot-mlp,embedding-mlp,cnn-1d,kim-cnn-2014,stacked-lstm"
    )
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument(
        "--source",
        default=os.environ.get(
            "CRITIC_IMDB_SOURCE", str(ROOT.parent / "shared/data/aclImdb_v1.tar.gz")
        ),
    )
    parser.add_argument(
        "--home", default=os.environ.get("CRITIC_HOME", str(Path.home() / ".critic"))
    )
    parser.add_argument("--show", action="store_true", help="print the saved table and exit")
    args = parser.parse_args()
    if args.show:
        _print({r["preset"]: r for r in harness.load("presets")["rows"]})
        return
    env = {**os.environ, "CRITIC_HOME": args.home}
    imported = harness.run_child(
        [
            sys.executable,
            "-m",
            "critic.cli",
            "data",
            "import",
            args.dataset,
            "--source",
            args.source,
            "-q",
        ],
        env=env,
    )
    if imported["rc"] != 0:
        raise harness.ChildFailed(imported)
    refs = {"validation": _ref(env, args.dataset, 0.2), "all-train": _ref(env, args.dataset, 0.0)}
    previous = {r["preset"]: r for r in harness.load("presets").get("rows", [])}
    for preset in args.presets.split(","):
        result = run_child(preset, refs[PROTOCOL[preset]], env)
        result["protocol"] = PROTOCOL[preset]
        previous[preset] = {**result, "date": harness.now()}
        harness.save("presets", list(previous.values()), benchmark="presets")
        _print(previous)


PROTOCOL = {
    "kim-cnn": "validation",
    "kim-cnn-2014": "validation",
    "multi-hot-mlp": "all-train",
    "embedding-mlp": "all-train",
    "cnn-1d": "all-train",
    "stacked-lstm": "all-train",
}


def _ref(env: dict, dataset: str, validation_fraction: float) -> str:
    """The version of `dataset` with this validation share (made if missing; identical ones are reused)."""
    return harness.in_child("presets:version_with", dataset, validation_fraction, env=env)["ref"]


def version_with(dataset: str, validation_fraction: float) -> dict:
    """Runs inside a child process, in the workspace of its CRITIC_HOME."""
    from critic.data import SplitSettings, resplit

    return {
        "ref": resplit(dataset, SplitSettings(validation_fraction=validation_fraction)).version.ref
    }


PUBLISHED = {
    "multi-hot-mlp": 0.8659,
    "embedding-mlp": 0.8694,
    "cnn-1d": 0.8779,
    "kim-cnn": 0.89,
    "kim-cnn-2014": None,
    "stacked-lstm": 0.8509,
}


def _print(rows: dict) -> None:
    print(
        f"{'preset':<15} {'protocol':<11} {'test acc':>9} {'bar':>7} {'met':>4} {'val acc':>8} "
        f"{'best':>5} {'train':>9} "
        f"{'s/epoch':>8} {'predict 25k':>12} {'peak RSS':>9}"
    )
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:<15} failed: {r['error']}")
            continue
        bar = PUBLISHED.get(name)
        met = "-" if bar is None else ("yes" if r["test_accuracy"] >= bar else "NO")
        per_epoch = sum(r["seconds_per_epoch"]) / len(r["seconds_per_epoch"])
        val = "-" if r["val_accuracy"] is None else f"{r['val_accuracy']:.2%}"
        print(
            f"{name:<15} {r.get('protocol', PROTOCOL.get(name, '?')):<11} "
            f"{r['test_accuracy']:>9.2%} {'-' if bar is None else f'{bar:.2%}':>7} "
            f"{met:>4} {val:>8} {r['best_epoch']:>3}/{r['epochs']:<1} {r['train_s'] / 60:>7.1f} m "
            f"{per_epoch:>7.0f}s {r['predict_test_s']:>10.1f} s {r['peak_rss_mb']:>7.0f} MB"
        )


if __name__ == "__main__":
    main()
