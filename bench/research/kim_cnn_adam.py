"""Benchmark: does Keras's form of Adam explain the Kim CNN's gap to Keras?

    .venv/bin/python bench/research/kim_cnn_adam.py [--seeds 0,1,2] [--dataset imdb]   # (needs keras for --check)
    .venv/bin/python bench/research/kim_cnn_adam.py --check                          # the optimizer against Keras's

Keras adds ε to √v before the bias correction; PyTorch (and critic's `adam`) adds it after:
    Keras:   θ -= lr·m̂ / (√v̂ + ε/√(1-β₂ᵗ))        PyTorch: θ -= lr·m̂ / (√v̂ + ε)
so Keras's effective ε is 1/√(1-β₂ᵗ) times larger: 32× at step 1, 3× at step 100 (the preset's
last). It matters where v̂ is tiny, as for an embedding's rarely seen words. `KerasAdam` is
PyTorch's Adam with ε rescaled before every
step; `--check` shows it equals `keras.optimizers.Adam` on gradients spanning 1e-9..1.
The kim-cnn preset is trained with it (everything else as the preset) and tested on the test
subset. Prints a table and saves it as the "keras_adam" part of
bench/results/research/kim_cnn_variants.json (the Kim CNN's variants, one file).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import torch

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # bench/: the shared harness and compare_peers
import harness  # noqa: E402

VARIANTS = (
    "research/kim_cnn_variants"  # one file for the variants; this script writes its "keras_adam"
)


class KerasAdam(torch.optim.Adam):
    """Adam with Keras's ε placement: PyTorch's ε set to ε/√(1-β₂ᵗ) before step t."""

    def __init__(self, params, lr: float, epsilon: float = 1e-7, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, eps=epsilon, weight_decay=weight_decay)
        self.epsilon = epsilon

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            t = (
                next(
                    (
                        int(self.state[p]["step"])
                        for p in group["params"]
                        if "step" in self.state.get(p, {})
                    ),
                    0,
                )
                + 1
            )
            group["eps"] = self.epsilon / math.sqrt(1 - group["betas"][1] ** t)
        return super().step(closure)


def check() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import numpy as np

    import keras

    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5,)).astype("float32")
    grads = [
        rng.normal(size=(5,)).astype("float32") * np.float32(10.0 ** rng.integers(-9, 0))
        for _ in range(50)
    ]
    ours, plain = torch.nn.Parameter(torch.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    opt, plain_opt = KerasAdam([ours], lr=1e-3), torch.optim.Adam([plain], lr=1e-3, eps=1e-7)
    variable = keras.Variable(w0)
    keras_opt = keras.optimizers.Adam(1e-3)
    keras_opt.build([variable])
    for g in grads:
        ours.grad, plain.grad = torch.tensor(g), torch.tensor(g)
        opt.step()
        plain_opt.step()
        keras_opt.apply_gradients([(torch.tensor(g), variable)])
    k = keras.ops.convert_to_numpy(variable)
    print(
        "after 50 steps, largest difference from keras.optimizers.Adam: KerasAdam "
        f"{np.abs(ours.detach().numpy() - k).max():.1e}, "
        f"torch.optim.Adam(eps=1e-7) {np.abs(plain.detach().numpy() - k).max():.1e} (weights moved "
        f"{np.abs(k - w0).max():.1e})"
    )


def run(dataset: str, seed: int) -> dict:
    """The kim-cnn row of compare_peers.py (same training, checkpoint and test measurement), trained with KerasAdam."""
    from unittest import mock

    from compare_peers import run_critic
    from critic.train import make_optimizer

    def keras_adam(model, s):
        if s.optimizer != "adam":
            return make_optimizer(model, s)
        return KerasAdam(
            [p for p in model.parameters() if p.requires_grad],
            lr=s.learning_rate,
            weight_decay=s.weight_decay,
        )

    with mock.patch(
        "critic.experiments.run.make_optimizer", keras_adam
    ):  # the experiment path builds its optimizer by this name
        return {"seed": seed, **run_critic("kim-cnn", dataset, None, seed)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--check", action="store_true", help="compare the optimizer with Keras's and exit"
    )
    args = parser.parse_args()
    if args.check:
        check()
        return
    rows = []
    for seed in map(int, args.seeds.split(",")):
        rows.append(run(args.dataset, seed))
        print(
            f"seed {seed}: test accuracy {rows[-1]['test_accuracy']:.2%}, training {rows[-1]['train_s']:.0f} s",
            flush=True,
        )
    mean = sum(r["test_accuracy"] for r in rows) / len(rows)
    per_seed = " / ".join(f"{r['test_accuracy']:.2%}" for r in rows)
    print(f"\n| kim-cnn with Keras's Adam | seeds {args.seeds} | {per_seed} | mean {mean:.2%} |")
    variants = harness.load(VARIANTS)
    variants["keras_adam"] = {
        "benchmark": "kim_cnn_keras_adam",
        "dataset": args.dataset,
        "created": harness.now(),
        "machine": harness.machine(),
        "command": sys.argv,
        "rows": rows,
        "mean_test_accuracy": mean,
    }
    harness.write(VARIANTS, variants)


if __name__ == "__main__":
    main()
