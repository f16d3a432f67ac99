"""Benchmark: test accuracy against train size, linear and minilm side by side (issue 28).

    CRITIC_HOME=<a workspace with imdb@1> .venv/bin/python bench/learning_curve.py
        [--sizes 250,1000,5000,20000] [--presets linear,minilm] [--seed 0]

For each size N: a dataset version of N train reviews drawn with the seed from imdb@1's train
subset (both classes in equal numbers), a validation subset of N // 4 (at least 100) drawn from
its validation subset, and the full 25,000-review test subset; imported through the normal path,
then each preset trained with one command's defaults (`build_config(preset=...)`: minilm's
min_steps raises a small table's epochs) in its own process, and its best checkpoint scored on
the test subset. Prints a table (and a plot, bench/results/learning_curve.png) and saves
bench/results/learning_curve.json; a size already measured for a preset is kept unless --again.

`--adopt minilm=EXPERIMENT` takes a run already trained with that preset on all of the source
(imdb@1: 20,000 train and 5,000 validation reviews, which is this draw at 20,000 up to the order
of its rows, e.g. the ensemble's MiniLM member) as the preset's point at the full size, scored
from bench/ensemble.py's cached test probabilities when they are there.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def build(source: str, size: int, seed: int, folder: str) -> str:
    """A CSV (text, label, subset) of `size` train rows, a quarter as many validation rows, and
    the whole test subset of `source`."""
    import pandas as pd

    from critic.data import load_version

    version = load_version(source)

    def draw(subset: str, n: int) -> pd.DataFrame:
        rows = version.subset(subset, ["text", "label"])
        per = n // rows["label"].nunique()
        return rows.groupby("label", group_keys=False).sample(per, random_state=seed)

    parts = [
        draw("train", size).assign(subset="train"),
        draw("validation", max(100, size // 4)).assign(subset="validation"),
        version.subset("test", ["text", "label"]).assign(subset="test"),
    ]
    path = Path(folder) / f"imdb-{size}.csv"
    pd.concat(parts).to_csv(path, index=False)
    return str(path)


def train_one(csv: str, name: str, preset: str) -> dict:
    """In a child: import `csv` as `name` (if not yet), train `preset`, score the test subset."""
    from critic.data import import_dataset
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    ref = import_dataset(name, csv, subset_column="subset", progress=False).version.ref
    config = build_config(ref, preset=preset)
    start = time.perf_counter()
    experiment = train_experiment(config, name=f"curve-{name}-{preset}-{os.getpid()}")
    train_s = time.perf_counter() - start
    accuracy = harness.test_accuracy(experiment.checkpoint("best"), ref)
    return {
        "preset_version": config.preset,
        "train_s": train_s,
        "epochs": experiment.record.epochs_done,
        "best_epoch": experiment.record.best_epoch,
        "val_accuracy": experiment.record.best_metrics["val_accuracy"],
        "test_accuracy": accuracy,
    }


def adopted(experiment: str, source: str) -> dict:
    """A row for a run already trained on all of `source`: its own training time, epochs and
    settings from its catalog record, its best checkpoint's test accuracy (the cached
    probabilities when there are)."""
    import numpy as np

    from critic.data import load_version
    from critic.experiments.store import get_experiment

    run = get_experiment(experiment)
    record = run.record
    version = load_version(source)
    cache = harness.probs_cache(experiment)
    if cache.exists():
        truth = version.subset("test", ["label"])["label"]
        truth = truth.map({c: i for i, c in enumerate(version.classes)}).to_numpy()
        accuracy = float((np.load(cache).argmax(1) == truth).mean())
    else:
        accuracy = harness.test_accuracy(run.checkpoint("best"), source)
    return {
        "size": len(version.subset("train", ["label"])),
        "seed": record.config["train"]["seed"],
        "preset_version": record.config["preset"],
        "adopted": experiment,
        "train_s": record.seconds,  # the sum of its epochs' seconds
        "epochs": record.epochs_done,
        "best_epoch": record.best_epoch,
        "val_accuracy": record.best_metrics["val_accuracy"],
        "test_accuracy": accuracy,
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for preset in sorted({r["preset"] for r in rows}):
        mine = sorted((r for r in rows if r["preset"] == preset), key=lambda r: r["size"])
        ax.plot([r["size"] for r in mine], [100 * r["test_accuracy"] for r in mine], "o-",
                label=preset)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("train reviews")
    ax.set_ylabel("test accuracy (%), 25,000 IMDB test reviews")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", default="imdb@1")
    parser.add_argument("--sizes", default="250,1000,5000,20000")
    parser.add_argument("--presets", default="linear,minilm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--again", action="store_true", help="measure sizes already saved again")
    parser.add_argument(
        "--adopt", action="append", default=[], metavar="PRESET=EXPERIMENT",
        help="a run of PRESET already trained on all of --source, as its full-size point",
    )  # fmt: skip
    args = parser.parse_args()
    saved = harness.load("learning_curve").get("rows", [])
    done = {(r["preset"], r["size"]) for r in saved} if not args.again else set()
    rows = [r for r in saved if (r["preset"], r["size"]) in done]
    for preset, eq, experiment in (a.partition("=") for a in args.adopt):
        if not (eq and preset and experiment):
            parser.error(f"--adopt takes PRESET=EXPERIMENT, got {preset + eq + experiment!r}")
        row = {"preset": preset, **adopted(experiment, args.source)}
        rows = [r for r in rows if (r["preset"], r["size"]) != (preset, row["size"])] + [row]
        done.add((preset, row["size"]))
        harness.save("learning_curve", rows, benchmark="learning_curve")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            csv = build(args.source, size, args.seed, tmp)
            for preset in args.presets.split(","):
                if (preset, size) in done:
                    continue
                found = harness.in_child(
                    "learning_curve:train_one", csv, f"imdb-{size}", preset, stderr="inherit"
                )
                rows.append({"preset": preset, "size": size, "seed": args.seed, **found})
                harness.save("learning_curve", rows, benchmark="learning_curve")
    rows.sort(key=lambda r: (r["preset"], r["size"]))
    harness.table(
        rows,
        [
            "preset",
            ("train reviews", "size", ","),
            ("version", "preset_version"),
            ("epochs", "epochs"),
            ("best", "best_epoch"),
            ("val acc", "val_accuracy", ".2%"),
            ("test acc", "test_accuracy", ".2%"),
            ("train s", "train_s", ",.0f"),
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
        ],
        title="test accuracy against train size (IMDB)",
    )
    plot(rows, harness.RESULTS / "learning_curve.png")
    harness.save("learning_curve", rows, benchmark="learning_curve")


if __name__ == "__main__":
    main()
