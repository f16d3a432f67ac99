"""Benchmark: do Keras's own initial weights explain the Kim CNN's gap to Keras?

    .venv/bin/python bench/kim_cnn_keras_init.py [--seeds 0,1,2,3] [--dataset imdb]   (needs keras)

critic's kim-cnn preset, trained exactly as the kim-cnn row of compare_peers.py (same loop,
dropout and batch order of seed N, best checkpoint, test measured through critic's Predictor),
except that it starts from the initial weights the Keras run of the same seed starts from: the
seed's Keras model is built as compare_peers.py builds it after `keras.utils.set_random_seed(N)`,
and its weights are copied into critic's graph (kim_cnn_twin.copy_from_keras) before training.
critic's own RNG stream is restored afterwards, so only the initial weights change.
Prints the validation (best epoch, by validation loss) and test accuracy per seed and saves
bench/results/kim_cnn_keras_init.json (rows of earlier runs on the same dataset are kept).
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "kim_cnn_keras_init.json"


def run(dataset: str, seed: int) -> dict:
    from unittest import mock

    import keras
    from compare_peers import (  # bench/ is on sys.path when a bench script runs
        _keras_model,
        best_epoch,
        run_critic,
    )
    from kim_cnn_twin import copy_from_keras

    from critic.models.presets import get_preset

    encoder = get_preset("kim-cnn").encoder

    def keras_initial_weights(model):  # called by the experiment path right after the model is built
        state = torch.get_rng_state()
        keras.utils.set_random_seed(seed)  # as compare_peers.run_keras, before it builds its model
        copy_from_keras(model, _keras_model(keras, "kim-cnn", encoder, model.n_classes), keras)
        torch.set_rng_state(state)  # critic's dropout stream continues as in the preset's own run
        return []  # no pretrained sources to report

    with mock.patch("critic.experiment.load_pretrained_weights", keras_initial_weights):
        result = run_critic("kim-cnn", dataset, None, seed)
    history = result.pop("history")
    best = best_epoch(history)  # the checkpoint run_critic tested
    return {"seed": seed, "best_epoch": best + 1, "val_accuracy": history["val_accuracy"][best], **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument("--seeds", default="0,1,2,3")
    args = parser.parse_args()
    saved = json.loads(OUT.read_text()) if OUT.exists() else {}
    # earlier seeds are kept only when they were run on the same dataset (a smoke run on a small copy starts afresh)
    rows = {r["seed"]: r for r in saved.get("rows", [])} if saved.get("dataset") == args.dataset else {}
    for seed in map(int, args.seeds.split(",")):
        rows[seed] = run(args.dataset, seed)
        print(f"seed {seed}: validation {rows[seed]['val_accuracy']:.2%}, test {rows[seed]['test_accuracy']:.2%} "
              f"(epoch {rows[seed]['best_epoch']}), training {rows[seed]['train_s']:.0f} s", flush=True)
    ordered = [rows[s] for s in sorted(rows)]
    mean = sum(r["test_accuracy"] for r in ordered) / len(ordered)
    per_seed = {k: " / ".join(f"{r[k]:.2%}" for r in ordered) for k in ("val_accuracy", "test_accuracy")}
    print(f"\n| kim-cnn from Keras's initial weights | seeds {', '.join(str(r['seed']) for r in ordered)} "
          f"| {per_seed['val_accuracy']} | {per_seed['test_accuracy']} (mean {mean:.2%}) |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(
        {"benchmark": "kim_cnn_keras_init", "dataset": args.dataset, "date": datetime.now(UTC).isoformat(timespec="seconds"),
         "machine": {"cpus": os.cpu_count()}, "rows": ordered, "mean_test_accuracy": mean}, indent=2) + "\n")


if __name__ == "__main__":
    main()
