"""Benchmark: does the Kim CNN reach 89 % on test if it trains longer, or on all the train reviews?

    .venv/bin/python bench/research/kim_cnn_protocol.py [--seeds 0-4] [--dataset imdb] [--protocols split,all,long]

The kim-cnn preset, its settings unchanged, under three protocols, through the normal experiment
path (`critic train`, then `critic evaluate EXP --subset test` on the best checkpoint):
- split: the platform's (seed 000): train on 80 % of aclImdb's train, keep the epoch with the
  lowest validation loss; 5 epochs. This is the preset as it is.
- all:   the Keras tutorials' (seeds 002 to 004): train on all 25,000 train reviews (a version
  made with `critic data split NAME --validation-fraction 0`), keep the last of the 5 epochs.
- long:  as split, but up to 15 epochs with early stopping after 2 epochs without a lower
  validation loss (`--epochs 15 --early-stopping 2`): is 5 epochs too few?
Each protocol and seed is one experiment, named by --names (e.g. `all-s3`); one that already
exists is read, not trained again, so a run can be stopped and continued. Saves the rows in
bench/results/research/kim_cnn_protocol.json (rows of earlier calls are kept) and prints all saved rows:
test accuracy per seed and protocol, each protocol's mean, and its paired difference from `split`
(the same seeds, so the same initial weights).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from peer_seeds import _seeds  # bench/research/, this script's folder
from scipy import stats

from critic.catalog import open_catalog
from critic.data import SplitSettings, resplit
from critic.errors import ExperimentNotFound
from critic.evaluate import evaluate
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.experiments.store import get_experiment
from critic.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared harness
import harness  # noqa: E402

OUT = "research/kim_cnn_protocol"
PROTOCOLS = {  # name: (validation share of the train reviews, overrides of the preset's train settings)
    "split": (0.2, {}),
    "all": (0.0, {}),
    "long": (0.2, {"epochs": 15, "early_stopping": 2}),
}
NAMES = "split=p-s{seed},all=all-s{seed},long=long-s{seed}"


def one(protocol: str, seed: int, dataset: str, name: str) -> dict:
    """Train (unless done before) and test one experiment; its test accuracy and best epoch."""
    share, train = PROTOCOLS[protocol]
    ref = resplit(
        dataset, SplitSettings(validation_fraction=share)
    ).version.ref  # an identical version is reused
    try:
        experiment = get_experiment(name)
    except ExperimentNotFound:
        experiment = train_experiment(
            build_config(ref, preset="kim-cnn", train={**train, "seed": seed}), name=name
        )
    settings = experiment.record.config["train"]
    if (
        experiment.record.dataset != ref
        or settings["seed"] != seed
        or any(settings[k] != v for k, v in train.items())
    ):
        raise SystemExit(
            f"experiment {name!r} ({experiment.record.dataset}, {settings}) is not protocol {protocol!r} "
            f"with seed {seed} on {ref}: pass other names with --names"
        )
    if experiment.status != "done":
        raise SystemExit(
            f"experiment {name!r} is {experiment.status}: continue it (`critic train --resume {name}`) "
            "or pass other names with --names"
        )
    tested = best_on_test(name)
    if tested is None:
        evaluate(name, subset="test", progress=False)
        tested = best_on_test(name)
    history = experiment.record.epochs  # the catalog's rows, one per finished epoch
    return {
        "protocol": protocol,
        "seed": seed,
        "experiment": name,
        "dataset": experiment.record.dataset,
        "test_accuracy": tested["accuracy"],
        "best_epoch": tested["epoch"],
        "epochs_run": len(history),
        "val_loss": [h["val_loss"] for h in history],
        "train_s": round(sum(h["seconds"] for h in history), 1),
        "cpu": harness.machine()["cpu"],
    }


def best_on_test(name: str) -> dict | None:
    """The catalog's latest evaluation of the experiment's best checkpoint on test (accuracy, epoch, ...)."""
    evaluations = open_catalog(Workspace.from_env()).evaluations(name)
    return next(
        (e for e in evaluations if (e["checkpoint"], e["subset"]) == ("best", "test")), None
    )


def table(rows: list[dict], protocols: list[str]) -> list[str]:
    by = {(r["protocol"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    lines = ["| seed | " + " | ".join(protocols) + " |", "|---|" + "---|" * len(protocols)]
    for s in seeds:
        cells = [
            f"{by[p, s]['test_accuracy']:.2%} (epoch {by[p, s]['best_epoch']})"
            if (p, s) in by
            else ""
            for p in protocols
        ]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| protocol | seeds | test accuracy, mean ± sd | seeds ≥ 89 % | paired difference from "
        "split | 95 % interval | p |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in protocols:
        acc = {s: by[p, s]["test_accuracy"] for s in seeds if (p, s) in by}
        if not acc:
            continue
        sd = f" ± {statistics.stdev(acc.values()) * 100:.2f}" if len(acc) > 1 else ""
        cells = ["", "", ""]
        pairs = [(acc[s], by["split", s]["test_accuracy"]) for s in acc if ("split", s) in by]
        diffs = [(a - b) * 100 for a, b in pairs]
        if (
            p != "split" and len(set(diffs)) == 1
        ):  # no spread, no interval: e.g. `long` keeping split's checkpoint
            cells = [f"{diffs[0]:+.2f} points in each of {len(diffs)} seeds", "", ""]
        elif p != "split" and len(diffs) > 1:
            mean, se = statistics.mean(diffs), statistics.stdev(diffs) / len(diffs) ** 0.5
            half = stats.t.ppf(0.975, len(diffs) - 1) * se
            p_value = stats.ttest_rel([a for a, _ in pairs], [b for _, b in pairs]).pvalue
            cells = [
                f"{mean:+.2f} points ({len(diffs)} seeds)",
                f"{mean - half:+.2f} to {mean + half:+.2f}",
                f"{p_value:.2f}",
            ]
        lines.append(
            f"| {p} | {len(acc)} | {statistics.mean(acc.values()):.2%}{sd} | {sum(a >= 0.89 for a in acc.values())} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,3,8-11")
    parser.add_argument(
        "--dataset",
        default="imdb",
        help="the imported aclImdb (NAME; its versions are made as needed)",
    )
    parser.add_argument("--protocols", default="split,all,long")
    parser.add_argument("--names", default=NAMES, help="experiment name per protocol, with {seed}")
    args = parser.parse_args()
    protocols = args.protocols.split(",")
    names = dict(item.split("=") for item in args.names.split(","))
    saved = {(r["protocol"], r["seed"]): r for r in harness.load(OUT).get("rows", [])}
    for seed in _seeds(args.seeds):
        for p in protocols:
            row = one(p, seed, args.dataset, names[p].format(seed=seed))
            saved[p, seed] = row
            print(
                f"{p} seed {seed}: {row['test_accuracy']:.2%} (best epoch {row['best_epoch']})",
                flush=True,
            )
    rows = sorted(saved.values(), key=lambda r: (r["seed"], list(PROTOCOLS).index(r["protocol"])))
    print("\n".join(table(rows, [p for p in PROTOCOLS if any(r["protocol"] == p for r in rows)])))
    harness.save(OUT, rows, benchmark="kim_cnn_protocol")


if __name__ == "__main__":
    main()
