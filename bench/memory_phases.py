"""Benchmark: where a training run's memory peaks, phase by phase (issue 28).

    CRITIC_HOME=<a workspace with imdb@1> .venv/bin/python bench/memory_phases.py
        [--preset kim-cnn] [--train-rows 20000] [--epochs 1] [--label NAME]

One run of PRESET on imdb@1's first --train-rows train reviews (validation and test kept), in its
own process, its RSS sampled every 50 ms by a thread; the training's own events name the phase
(encoding, each epoch's batches, the validation pass and checkpoint after them), then its best
checkpoint scores the test subset. Prints the peak of each phase and saves them under --label in
bench/results/memory_phases.json (one set per (preset, rows, label); run with glibc's
`MALLOC_MMAP_THRESHOLD_` set, or on an older commit, to compare).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


class Phases:
    """The running phase's name (set by the training's events) and each phase's peak RSS."""

    def __init__(self):
        self.phase, self.peaks = "start", {}
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            phase = self.phase
            self.peaks[phase] = max(self.peaks.get(phase, 0.0), _rss_mb())
            time.sleep(0.05)

    def log(self, event: dict) -> None:
        kind = event["event"]
        if kind == "phase":
            self.phase = event["phase"].split(" on ")[0][:48]
        elif kind == "epoch_start":
            self.phase = f"epoch {event['epoch']}: batches"
        elif kind == "batch" and event["batch"] == event["batches"]:
            self.phase = "validation pass and checkpoint"
        elif kind == "epoch_end":
            self.phase = "between epochs"


def run(preset: str, rows: int, epochs: int) -> dict:
    """In a child: train and score, the peak of each phase."""
    from dataclasses import replace

    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from memory import _first_rows

    phases = Phases()
    dataset = "imdb@1" if rows >= 20_000 else _first_rows("imdb@1", rows)
    config = build_config(dataset, preset=preset)
    config = replace(config, train=replace(config.train, epochs=epochs, min_steps=0))
    start = time.perf_counter()
    experiment = train_experiment(config, name=f"phases-{preset}-{os.getpid()}", log=phases.log)
    train_s = time.perf_counter() - start
    phases.phase = "test subset scored"
    accuracy = harness.test_accuracy(experiment.checkpoint("best"), dataset)
    time.sleep(0.2)
    record = experiment.record.epochs[-1]
    return {
        "train_s": train_s,
        "train_loss": record["train_loss"],
        "val_accuracy": record["val_accuracy"],
        "test_accuracy": accuracy,
        "phases": {k: round(v) for k, v in phases.peaks.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="kim-cnn")
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--label", default="after")
    args = parser.parse_args()

    found = harness.in_child("memory_phases:run", args.preset, args.train_rows, args.epochs)
    row = {
        "preset": args.preset,
        "rows": args.train_rows,
        "epochs": args.epochs,
        "label": args.label,
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
        **found,
    }
    harness.table(
        [{"phase": k, "peak_rss_mb": v} for k, v in row["phases"].items()],
        [("phase", "phase"), ("peak RSS MB", "peak_rss_mb", ",.0f")],
        title=f"{args.preset}, {args.train_rows:,} train reviews, {args.epochs} epoch(s), {args.label}",
    )
    print(
        f"train loss {row['train_loss']:.10f}, validation {row['val_accuracy']:.2%}, "
        f"test {row['test_accuracy']:.2%}, training {row['train_s']:.0f} s, "
        f"whole process peak {row['peak_rss_mb']:,.0f} MB"
    )
    key = (args.preset, args.train_rows, args.label)
    saved = harness.load("memory_phases").get("rows", [])
    kept = [r for r in saved if (r["preset"], r["rows"], r["label"]) != key]
    harness.save("memory_phases", kept + [row], benchmark="memory_phases")


if __name__ == "__main__":
    main()
