"""Benchmark: do Keras's own initial weights explain the Kim CNN's gap to Keras?

    .venv/bin/python bench/research/kim_cnn_keras_init.py [--seeds 0,1,2,3] [--dataset imdb]   (needs keras)

critic's kim-cnn preset, trained exactly as the kim-cnn row of compare_peers.py (same loop,
dropout and batch order of seed N, best checkpoint, test measured through critic's Predictor),
except that it starts from the initial weights the Keras run of the same seed starts from: the
seed's Keras model is built as compare_peers.py builds it after `keras.utils.set_random_seed(N)`,
and its weights are copied into critic's graph (kim_cnn_twin.copy_from_keras) before training.
critic's own RNG stream is restored afterwards, so only the initial weights change.
Prints the validation (best epoch, by validation loss) and test accuracy per seed and saves them as
the "keras_init" part of bench/results/research/kim_cnn_variants.json (rows of earlier runs on the
same dataset are kept).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # bench/: the shared harness and compare_peers
import harness  # noqa: E402

VARIANTS = (
    "research/kim_cnn_variants"  # one file for the variants; this script writes its "keras_init"
)


def run(dataset: str, seed: int) -> dict:
    from unittest import mock

    from kim_cnn_twin import copy_from_keras  # bench/research/, this script's folder

    import keras
    from compare_peers import _keras_model, best_epoch, run_critic
    from critic.presets import get_preset

    encoder = get_preset("kim-cnn").encoder

    def keras_initial_weights(
        model,
    ):  # called by the experiment path right after the model is built
        state = torch.get_rng_state()
        keras.utils.set_random_seed(seed)  # as compare_peers.run_keras, before it builds its model
        copy_from_keras(model, _keras_model(keras, "kim-cnn", encoder, model.n_classes), keras)
        torch.set_rng_state(state)  # critic's dropout stream continues as in the preset's own run
        return []  # no pretrained sources to report

    with mock.patch("critic.experiments.run.load_pretrained_weights", keras_initial_weights):
        result = run_critic("kim-cnn", dataset, None, seed)
    history = result.pop("history")
    best = best_epoch(history)  # the checkpoint run_critic tested
    return {
        "seed": seed,
        "best_epoch": best + 1,
        "val_accuracy": history["val_accuracy"][best],
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument("--seeds", default="0,1,2,3")
    args = parser.parse_args()
    saved = harness.load(VARIANTS).get("keras_init", {})
    # earlier seeds are kept only when they were run on the same dataset (a smoke run on a small copy starts afresh)
    rows = (
        {r["seed"]: r for r in saved.get("rows", [])}
        if saved.get("dataset") == args.dataset
        else {}
    )
    for seed in map(int, args.seeds.split(",")):
        rows[seed] = run(args.dataset, seed)
        print(
            f"seed {seed}: validation {rows[seed]['val_accuracy']:.2%}, test {rows[seed]['test_accuracy']:.2%} "
            f"(epoch {rows[seed]['best_epoch']}), training {rows[seed]['train_s']:.0f} s",
            flush=True,
        )
    ordered = [rows[s] for s in sorted(rows)]
    mean = sum(r["test_accuracy"] for r in ordered) / len(ordered)
    per_seed = {
        k: " / ".join(f"{r[k]:.2%}" for r in ordered) for k in ("val_accuracy", "test_accuracy")
    }
    print(
        f"\n| kim-cnn from Keras's initial weights | seeds {', '.join(str(r['seed']) for r in ordered)} "
        f"| {per_seed['val_accuracy']} | {per_seed['test_accuracy']} (mean {mean:.2%}) |"
    )
    variants = harness.load(VARIANTS)  # read again: the other part may have been saved meanwhile
    variants["keras_init"] = {
        "benchmark": "kim_cnn_keras_init",
        "dataset": args.dataset,
        "created": harness.now(),
        "machine": harness.machine(),
        "command": sys.argv,
        "rows": ordered,
        "mean_test_accuracy": mean,
    }
    harness.write(VARIANTS, variants)


if __name__ == "__main__":
    main()
