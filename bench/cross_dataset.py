"""Cross-dataset check: any `text,label` table through the normal CLI path, per fold.

    .venv/bin/python bench/cross_dataset.py DATA.csv [--test TEST.csv | --folds 10] [--presets linear,kim-cnn-2014]
                                            [--text COLUMN] [--label COLUMN] [--name NAME] [--results DIR]

With --test, one run: DATA is train (+ 20 % validation), TEST is test, through `critic data import`,
`critic train --preset P` and `critic evaluate --subset test`. Otherwise stratified k-fold
cross-validation (k = 10 as the papers do) by what a user types: `critic data import NAME`, then
`critic cv --dataset NAME --preset P --folds K` per preset (critic.experiments.cv: each fold is a
dataset version whose test subset is the fold, 10 % of the rest held out for validation, and an
experiment scored on the fold). The workspace is a fresh temporary one unless CRITIC_HOME is set.
Prints accuracy per fold and the mean ± standard deviation, and saves
bench/results/cross_dataset-NAME.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def critic(env: dict, *args: str) -> str:
    done = harness.run_child([sys.executable, "-m", "critic.cli", *args], env=env)
    if done["rc"] != 0:
        raise SystemExit(f"`critic {' '.join(args)}` failed: {done['stderr'].strip()[-500:]}")
    return done["stdout"]


def cross_validate(
    env: dict, data: str, name: str, folds: int, presets: list[str], text: str, label: str
) -> list[dict]:
    """`critic cv` per preset on DATA imported as NAME; the bench's rows from each cv.json."""
    critic(env, "data", "import", name, "--source", data, "--text", text, "--label", label, "-q")
    rows = [{"fold": fold} for fold in range(1, folds + 1)]
    for preset in presets:
        run = f"{name}-{preset}"
        print(f"{preset}: {folds}-fold cross-validation ({run})", file=sys.stderr, flush=True)
        critic(
            env,
            "cv",
            "-d",
            name,
            "-p",
            preset,
            "-k",
            str(folds),
            "--seed",
            "0",
            "--name",
            run,
            "-q",
        )
        saved = json.loads((Path(env["CRITIC_HOME"]) / "cv" / run / "cv.json").read_text())
        for row, fold in zip(rows, saved["folds"], strict=True):
            row[preset] = {
                "accuracy": fold["accuracy"],
                "macro_f1": fold["macro_f1"],
                "n": fold["rows"]["test"],
                "seconds": fold["seconds"],
                "experiment": fold["experiment"],
            }
    return rows


def run_once(
    env: dict,
    table: pd.DataFrame,
    name: str,
    fold: int,
    presets: list[str],
    text: str,
    label: str,
    folder: Path,
) -> dict:
    """--test: one run of each preset, DATA as train and TEST as test."""
    path = folder / f"{name}-fold{fold}.csv"
    table.to_csv(path, index=False)
    dataset = f"{name}-fold{fold}"
    critic(
        env,
        "data",
        "import",
        dataset,
        "--source",
        str(path),
        "--text",
        text,
        "--label",
        label,
        "--subset-column",
        "subset",
        "--validation-fraction",
        "0.1",
        "-q",
    )
    row = {"fold": fold}
    for preset in presets:
        experiment = f"{dataset}-{preset}"
        start = time.perf_counter()
        critic(env, "train", "--dataset", dataset, "--preset", preset, "--name", experiment)
        critic(env, "evaluate", experiment, "--subset", "test")
        metrics = json.loads(
            (
                Path(env["CRITIC_HOME"])
                / "experiments"
                / experiment
                / "evaluation"
                / "best"
                / "test"
                / "metrics.json"
            ).read_text()
        )
        row[preset] = {
            "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_avg"]["f1"],
            "n": metrics["n"],
            "seconds": time.perf_counter() - start,
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data")
    parser.add_argument("--test")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--presets", default="linear,kim-cnn-2014")
    parser.add_argument("--text", default="text")
    parser.add_argument("--label", default="label")
    parser.add_argument("--name")
    parser.add_argument(
        "--results",
        type=Path,
        default=harness.RESULTS,
        help="folder for the JSON (default bench/results)",
    )
    args = parser.parse_args()
    name = args.name or Path(args.data).stem.replace("_", "-").lower()
    presets = args.presets.split(",")
    home = os.environ.get("CRITIC_HOME") or tempfile.mkdtemp(prefix="critic-cross-")
    env = {**os.environ, "CRITIC_HOME": home}
    folder = Path(tempfile.mkdtemp(prefix="critic-folds-"))
    print(f"{'fold':>4} " + " ".join(f"{p:>14}" for p in presets), flush=True)
    if args.test:
        frame = pd.read_csv(args.data, dtype=str, keep_default_na=False)
        test = pd.read_csv(args.test, dtype=str, keep_default_na=False)
        table = pd.concat(
            [frame.assign(subset="train"), test.assign(subset="test")], ignore_index=True
        )
        rows = [run_once(env, table, name, 1, presets, args.text, args.label, folder)]
    else:
        rows = cross_validate(
            env, str(Path(args.data).resolve()), name, args.folds, presets, args.text, args.label
        )
    for row in rows:
        print(f"{row['fold']:>4} " + " ".join(f"{row[p]['accuracy']:>14.2%}" for p in presets))
    summary = {
        p: {
            "mean": statistics.fmean(r[p]["accuracy"] for r in rows),
            "std": statistics.pstdev(r[p]["accuracy"] for r in rows),
        }
        for p in presets
    }
    print(
        f"{'mean':>4} "
        + " ".join(f"{summary[p]['mean']:>8.2%} ± {summary[p]['std']:.1%}" for p in presets)
    )
    harness.save(
        str(args.results.resolve() / f"cross_dataset-{name}"),
        rows,
        benchmark="cross_dataset",
        data=args.data,
        test=args.test,
        folds=None if args.test else args.folds,
        presets=presets,
        summary=summary,
        workspace=home,
    )


if __name__ == "__main__":
    main()
