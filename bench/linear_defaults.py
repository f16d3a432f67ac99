"""Benchmark: do the linear preset's defaults travel beyond IMDB's long reviews? (issue 28)

    CRITIC_HOME=<a workspace with imdb@1> .venv/bin/python bench/linear_defaults.py [--sizes 700,2000,20000]

Short-text tables built here from IMDB: one sentence (4 to 40 words) of each review, labelled
with its review's label, drawn with a seed; train + validation from the train and validation
reviews (80 / 20, as a user's import would split them), the test sentences (5,000) from the test
reviews. Each table is imported as a dataset in a fresh temporary workspace and trained with
`linear.v1` (min_df 2, C 0.3 or 1: tuned on IMDB) and `linear.v2` (min_df and C chosen on
validation, C on a log ladder until the best is inside what was tried), through the normal path
(build_config + train_experiment, one child process each: wall time and peak RSS), then scored on
its test subset. The full IMDB (the workspace's imdb@1: train 20,000 / validation 5,000 /
test 25,000) is trained with both too.

Targets: on every table the chosen C is inside the Cs tried (never at their edge); IMDB with
linear.v2 trains in ≤ 15 s with ≥ 91.5 % test accuracy. Prints a table and saves
bench/results/linear_defaults.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

PRESETS = ("linear.v1", "linear.v2")
TEST_SENTENCES = 5_000
SENTENCE = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)


def sentences(texts: list[str], labels: list[str], seed: int) -> list[tuple[str, str]]:
    """One sentence of 4-40 words per review (shuffled), with the review's label."""
    rng = random.Random(seed)
    rows = []
    for text, label in zip(texts, labels):
        found = [s.strip() for s in SENTENCE.split(text) if 4 <= len(s.split()) <= 40]
        if found:
            rows.append((rng.choice(found), label))
    rng.shuffle(rows)
    return rows


def build_tables(source: str, sizes: list[int], folder: Path) -> dict[str, Path]:
    """name → a CSV (text, label, subset) per size; validation is a fifth of each size."""
    import pandas as pd

    from critic.data import load_version

    version = load_version(source)

    def rows(subset: str, seed: int):
        frame = version.subset(subset, ["text", "label"])
        return sentences(frame["text"].tolist(), frame["label"].tolist(), seed)

    learn = rows("train", 0) + rows("validation", 1)
    test = rows("test", 2)[:TEST_SENTENCES]
    tables = {}
    for size in sizes:
        val = size // 5
        parts = [
            (learn[: size - val], "train"),
            (learn[size - val : size], "validation"),
            (test, "test"),
        ]
        frame = pd.DataFrame(
            [(t, y, subset) for part, subset in parts for t, y in part],
            columns=["text", "label", "subset"],
        )
        path = folder / f"imdb-sentences-{size}.csv"
        frame.to_csv(path, index=False)
        tables[f"imdb-sentences-{size}"] = path
    return tables


def train_one(dataset: str, preset: str, source_csv: str | None) -> dict:
    """In a child: (import `source_csv` as `dataset`,) train `preset`, score its test subset."""

    from critic.data import import_dataset, load_version
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    if source_csv:
        dataset = import_dataset(
            dataset, source_csv, subset_column="subset", progress=False
        ).version.ref
    start = time.perf_counter()
    experiment = train_experiment(
        build_config(dataset, preset=preset), name=f"bench-{preset.replace('.', '-')}-{os.getpid()}"
    )
    train_s = time.perf_counter() - start
    folder = experiment.checkpoint("best")
    manifest = json.loads((folder / "manifest.json").read_text())
    trials = manifest.get("trials") or []
    chosen = [t["C"] for t in trials if t["min_df"] == manifest.get("min_df")]
    return {
        "train_s": train_s,
        "train_rows": len(load_version(dataset).subset("train", ["text"])),
        "val_accuracy": experiment.record.epochs[0]["val_accuracy"],
        "test_accuracy": harness.test_accuracy(folder, dataset),
        "C": manifest["C"],
        "min_df": manifest.get("min_df") or 2,
        "Cs_tried": sorted(set(chosen)),
        "fits": len(trials),
        "at_edge": bool(chosen) and manifest["C"] in (min(chosen), max(chosen)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", default="imdb@1", help="the IMDB dataset version")
    parser.add_argument("--sizes", default="700,2000,20000", help="train + validation rows")
    parser.add_argument("--skip-imdb", action="store_true", help="only the short-text tables")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tables = build_tables(args.source, sizes, Path(tmp))
        for name, path in tables.items():
            env = {**os.environ, "CRITIC_HOME": str(Path(tmp) / f"home-{name}")}
            for preset in PRESETS:
                found = harness.in_child(
                    "linear_defaults:train_one", name, preset, str(path), env=env
                )
                rows.append({"table": name, "preset": preset, **found})
                print(json.dumps(rows[-1], default=str), file=sys.stderr, flush=True)
    if not args.skip_imdb:
        for preset in PRESETS:
            found = harness.in_child("linear_defaults:train_one", args.source, preset, None)
            rows.append({"table": f"IMDB reviews ({args.source})", "preset": preset, **found})
            print(json.dumps(rows[-1], default=str), file=sys.stderr, flush=True)
    for row in rows:
        row["Cs"] = ", ".join(f"{c:g}" for c in row["Cs_tried"]) or f"{row['C']:g}"
        row["edge"] = "at the edge" if row["at_edge"] else "inside"
    harness.table(
        rows,
        [
            "table",
            "preset",
            ("train rows", "train_rows", ","),
            ("min_df", "min_df"),
            ("C", "C", "g"),
            ("Cs tried", "Cs"),
            ("C chosen", "edge"),
            ("val acc", "val_accuracy", ".2%"),
            ("test acc", "test_accuracy", ".2%"),
            ("train s", "train_s", ".1f"),
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
        ],
        title="linear defaults beyond IMDB: short texts (one sentence of a review) and IMDB",
    )
    harness.save("linear_defaults", rows, benchmark="linear_defaults", sizes=sizes)


if __name__ == "__main__":
    main()
