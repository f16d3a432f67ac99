"""Benchmark: every preset with its published settings on the full IMDB, on this machine.

    .venv/bin/python bench/presets.py [--presets kim-cnn,multi-hot-mlp] [--source ../shared/data/aclImdb_v1.tar.gz]

Each preset trains in its own process (`critic train` path: train_experiment with the preset's
defaults), then its best checkpoint predicts the 25,000 test reviews through the Predictor.
Each follows its source's protocol: the platform's models (kim-cnn, kim-cnn-2014) train on 80 %
of aclImdb's train and keep the epoch with the best validation loss; the Keras tutorials' models
train on all 25,000 train reviews for their fixed epochs and keep the last (a dataset version
with no validation subset, made with `critic data split imdb --validation-fraction 0`). Prints a table (test accuracy against the published figure,
training wall time, seconds per epoch, test prediction time, peak RSS) and saves
bench/results/presets.json. The workspace is kept (--home) so the runs can be evaluated later.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "presets.json"


def one(preset: str, dataset: str) -> dict:
    """Runs inside the child process: train, then predict the test subset."""

    from critic.data import load_version
    from critic.experiment import build_config, train_experiment
    from critic.predictor import Predictor

    start = time.perf_counter()
    experiment = train_experiment(build_config(dataset, preset=preset), name=f"bench-{preset}-{int(time.time())}")
    train_s = time.perf_counter() - start
    test = load_version(dataset).subset("test", ["text", "label"])
    predictor = Predictor.from_checkpoint(experiment.checkpoint("best"))
    start = time.perf_counter()
    probs = predictor.predict_proba(test["text"].tolist())
    predict_s = time.perf_counter() - start
    truth = test["label"].map({c: i for i, c in enumerate(predictor.classes)}).to_numpy()
    rows = experiment.record.epochs
    best = next(r for r in rows if r["epoch"] == experiment.record.best_epoch)
    return {"preset": preset, "experiment": experiment.name, "test_accuracy": float((probs.argmax(1) == truth).mean()),
            "best_epoch": experiment.record.best_epoch, "epochs": len(rows), "val_accuracy": best["val_accuracy"],
            "val_loss": best["val_loss"], "train_s": train_s, "seconds_per_epoch": [r["seconds"] for r in rows],
            "predict_test_s": predict_s, "config": experiment.record.config}


def run_child(preset: str, dataset: str, env: dict) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--one", preset, "--dataset", dataset], env=env,
                            stdout=subprocess.PIPE, stderr=None, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return {"preset": preset, "error": f"exit {os.waitstatus_to_exitcode(status)}"}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="kim-cnn,multi-hot-mlp,embedding-mlp,cnn-1d,kim-cnn-2014,stacked-lstm")
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument("--source", default=os.environ.get("CRITIC_IMDB_SOURCE", str(ROOT.parent / "shared/data/aclImdb_v1.tar.gz")))
    parser.add_argument("--home", default=os.environ.get("CRITIC_HOME", str(Path.home() / ".critic")))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--show", action="store_true", help="print the saved table and exit")
    args = parser.parse_args()
    if args.show:
        _print({r["preset"]: r for r in json.loads(RESULTS.read_text())["rows"]})
        return
    if args.one:
        print(json.dumps(one(args.one, args.dataset)))
        return
    env = {**os.environ, "CRITIC_HOME": args.home}
    subprocess.run([sys.executable, "-m", "critic.cli", "data", "import", args.dataset, "--source", args.source, "-q"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    refs = {"validation": _ref(env, args.dataset, 0.2), "all-train": _ref(env, args.dataset, 0.0)}
    previous = {r["preset"]: r for r in json.loads(RESULTS.read_text())["rows"]} if RESULTS.exists() else {}
    for preset in args.presets.split(","):
        result = run_child(preset, refs[PROTOCOL[preset]], env)
        result["protocol"] = PROTOCOL[preset]
        previous[preset] = {**result, "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _save(previous)
        _print(previous)


PROTOCOL = {"kim-cnn": "validation", "kim-cnn-2014": "validation", "multi-hot-mlp": "all-train",
            "embedding-mlp": "all-train", "cnn-1d": "all-train", "stacked-lstm": "all-train"}


def _ref(env: dict, dataset: str, validation_fraction: float) -> str:
    """The version of `dataset` with this validation share (made if missing; identical ones are reused)."""
    code = ("import sys; from critic.data import resplit, SplitSettings; "
            f"print(resplit({dataset!r}, SplitSettings(validation_fraction={validation_fraction})).version.ref)")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


PUBLISHED = {"multi-hot-mlp": 0.8659, "embedding-mlp": 0.8694, "cnn-1d": 0.8779, "kim-cnn": 0.89,
             "kim-cnn-2014": None, "stacked-lstm": 0.8509}


def _print(rows: dict) -> None:
    print(f"{'preset':<15} {'protocol':<11} {'test acc':>9} {'bar':>7} {'met':>4} {'val acc':>8} {'best':>5} {'train':>9} "
          f"{'s/epoch':>8} {'predict 25k':>12} {'peak RSS':>9}")
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:<15} failed: {r['error']}")
            continue
        bar = PUBLISHED.get(name)
        met = "-" if bar is None else ("yes" if r["test_accuracy"] >= bar else "NO")
        per_epoch = sum(r["seconds_per_epoch"]) / len(r["seconds_per_epoch"])
        val = "-" if r["val_accuracy"] is None else f"{r['val_accuracy']:.2%}"
        print(f"{name:<15} {r.get('protocol', PROTOCOL.get(name, '?')):<11} {r['test_accuracy']:>9.2%} {'-' if bar is None else f'{bar:.2%}':>7} "
              f"{met:>4} {val:>8} {r['best_epoch']:>3}/{r['epochs']:<1} {r['train_s'] / 60:>7.1f} m "
              f"{per_epoch:>7.0f}s {r['predict_test_s']:>10.1f} s {r['peak_rss_mb']:>7.0f} MB")


def _save(rows: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "presets", "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                                   "rows": list(rows.values())}, indent=2) + "\n")


if __name__ == "__main__":
    main()
