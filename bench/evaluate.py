"""Benchmark: `critic evaluate` on the full IMDB test set (25,000 reviews), per experiment.

    .venv/bin/python bench/evaluate.py EXPERIMENT [EXPERIMENT ...] [--home ~/.critic] [--checkpoint best]

Each evaluation runs in its own process (bench/harness.py's in_child: loading the checkpoint,
predicting in chunks, metrics,
errors.csv, the plots and report.html: everything `critic evaluate EXP --subset test` does), timed
from the call to the files on disk. Prints a table and saves bench/results/evaluate.json.
Bars (issue 6): the Kim CNN ≤ 60 s, the linear model ≤ 10 s, on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

BARS = {"linear": 10.0, "kim-cnn": 60.0}


def one(name: str, checkpoint: str) -> dict:
    from critic.evaluate import evaluate
    from critic.experiments.store import get_experiment

    start = time.perf_counter()
    (ev,) = evaluate(name, checkpoint=checkpoint, subset="test", progress=False)
    seconds = time.perf_counter() - start
    return {
        "experiment": name,
        "model": get_experiment(name).record.model,
        "checkpoint": checkpoint,
        "epoch": ev.epoch,
        "n": ev.metrics["n"],
        "accuracy": ev.metrics["accuracy"],
        "loss": ev.metrics["loss"],
        "macro_f1": ev.metrics["macro_avg"]["f1"],
        "ece": ev.metrics["ece"],
        "roc_auc": ev.metrics.get("roc_auc"),
        "seconds": seconds,
        "folder": str(ev.folder),
    }


def run_child(name: str, checkpoint: str, env: dict) -> dict:
    """One evaluation in a fresh interpreter: its row, with its peak RSS."""
    try:
        return harness.in_child("evaluate:one", name, checkpoint, env=env, stderr="inherit")
    except harness.ChildFailed as failed:
        return {"experiment": name, "error": f"exit {failed.result['rc']}"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("experiments", nargs="*")
    parser.add_argument(
        "--home", default=os.environ.get("CRITIC_HOME", str(Path.home() / ".critic"))
    )
    parser.add_argument("--checkpoint", default="best")
    args = parser.parse_args()
    env = {**os.environ, "CRITIC_HOME": args.home}
    rows = [run_child(name, args.checkpoint, env) for name in args.experiments]
    print(
        f"{'experiment':<28} {'model':<16} {'ckpt':<5} {'test acc':>9} {'loss':>7} {'ECE':>6} "
        f"{'seconds':>8} {'bar':>5} "
        f"{'met':>4} {'peak RSS':>9}"
    )
    for r in rows:
        if "error" in r:
            print(f"{r['experiment']:<28} failed: {r['error']}")
            continue
        bar = BARS.get(r["model"].split(".v")[0])
        met = "-" if bar is None else ("yes" if r["seconds"] <= bar else "NO")
        print(
            f"{r['experiment']:<28} {r['model']:<16} {r['checkpoint']:<5} {r['accuracy']:>9.2%} {r['loss']:>7.4f} "
            f"{r['ece']:>6.3f} {r['seconds']:>7.1f}s {'-' if bar is None else f'{bar:.0f}s':>5} {met:>4} "
            f"{r['peak_rss_mb']:>6.0f} MB"
        )
    harness.save("evaluate", rows, benchmark="evaluate")


if __name__ == "__main__":
    main()
