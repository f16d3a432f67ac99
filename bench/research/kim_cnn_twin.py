"""Benchmark: is critic's Kim CNN step for step the same network and training as Keras's?

    .venv/bin/python bench/research/kim_cnn_twin.py [--dataset imdb] [--rows 2048] [--batch-size 256] [--epochs 1]
    (needs keras; runs with KERAS_BACKEND=torch)

Builds the kim-cnn preset in critic and the seed's Keras model (bench/compare_peers.py's, the
one in the peers table), copies critic's initial weights into Keras, turns both models' Dropout
off (the one thing whose random draws cannot be shared), and trains both on the same batches of
the first `--rows` train reviews: critic through its own `fit()` (length-sorted parts, trimmed
padding), Keras through `train_on_batch` on the full 650 columns. Reports the largest difference
of the outputs before training and of every layer's weights after it, next to how far the weights
moved, once with critic's `adam` (PyTorch's) and once with `KerasAdam` (Keras's ε placement,
bench/research/kim_cnn_adam.py). Prints a table and saves bench/results/research/kim_cnn_twin.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # bench/: the shared harness and compare_peers
import harness  # noqa: E402

KERNELS = (1, 2, 3, 5)


def twins(dataset: str, rows: int):
    """critic's model (Keras initialization, seed 0), the encoded rows, and a Keras twin with the same weights."""
    import keras
    from compare_peers import _keras_model
    from critic.data import load_version
    from critic.experiments.run import _data
    from critic.models.graph import GraphModel
    from critic.presets import get_preset
    from critic.text.encoders import encoder_for

    version = load_version(dataset)
    train = version.subset("train", ["text", "label"]).iloc[:rows]
    preset = get_preset("kim-cnn")
    encoder = encoder_for(preset.encoder).fit(train["text"])
    data = _data(encoder, train, version.classes)
    torch.manual_seed(0)
    model = GraphModel(preset.model, encoder.input_spec, len(version.classes))
    twin = _keras_model(keras, "kim-cnn", preset.encoder, len(version.classes))
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    for layer in twin.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    _copy(model, twin, keras)
    return model, twin, data, version.classes


def _pairs(model, twin, keras) -> list[tuple[str, torch.nn.Module, object]]:
    """(name, critic module, Keras layer) for every layer with weights, in the same order."""
    L = keras.layers
    convs = [layer for layer in twin.layers if isinstance(layer, L.Conv1D)]
    dense = [layer for layer in twin.layers if isinstance(layer, L.Dense)]
    embedding = next(layer for layer in twin.layers if isinstance(layer, L.Embedding))
    return (
        [("embedding", model.layers["embedding"].embedding, embedding)]
        + [(f"conv{k}", model.layers[f"conv{k}"].conv, c) for k, c in zip(KERNELS, convs)]
        + [
            ("dense", model.layers["dense"].linear, dense[0]),
            ("output", model.layers["output"].linear, dense[1]),
        ]
    )


def _as_keras(name: str, module: torch.nn.Module) -> list[np.ndarray]:
    w = module.weight.detach().numpy()
    if name == "embedding":
        return [w]
    # torch Conv1d (out, in, k) → Keras (k, in, out); Linear (out, in) → Dense (in, out)
    return [w.transpose(2, 1, 0) if w.ndim == 3 else w.T, module.bias.detach().numpy()]


def _copy(model, twin, keras) -> None:
    for name, module, layer in _pairs(model, twin, keras):
        layer.set_weights(_as_keras(name, module))


@torch.no_grad()
def copy_from_keras(model, twin, keras) -> None:
    """The reverse of `_copy`: the Keras twin's (trained) weights into critic's modules."""
    for name, module, layer in _pairs(model, twin, keras):
        w, *bias = (torch.from_numpy(np.ascontiguousarray(v)) for v in layer.get_weights())
        # Keras Conv1D (k, in, out) → torch Conv1d (out, in, k); Dense (in, out) → Linear (out, in)
        module.weight.copy_(
            w if name == "embedding" else w.permute(2, 1, 0) if w.dim() == 3 else w.T
        )
        if bias:
            module.bias.copy_(bias[0])


def probabilities(model, twin, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    with torch.inference_mode():
        ours = torch.softmax(model(torch.from_numpy(x)), -1).numpy()
    return ours, np.asarray(twin.predict(x, batch_size=256, verbose=0))


def run(dataset: str, rows: int, batch_size: int, epochs: int, adam: str) -> dict:
    from kim_cnn_adam import KerasAdam  # bench/research/, this script's folder

    import keras
    from critic.config import TrainSettings
    from critic.train import batch_order, fit, make_optimizer

    model, twin, data, classes = twins(dataset, rows)
    probe = data.encoded[:256]
    ours, theirs = probabilities(model, twin, probe)
    start = {
        name: [w.copy() for w in _as_keras(name, m)] for name, m, _ in _pairs(model, twin, keras)
    }
    s = TrainSettings(epochs=epochs, batch_size=batch_size, optimizer="adam", learning_rate=1e-3)
    optimizer = (
        KerasAdam([p for p in model.parameters() if p.requires_grad], lr=s.learning_rate)
        if adam == "keras"
        else make_optimizer(model, s)
    )  # critic's own `adam`, as a run builds it
    fit(
        model,
        data,
        None,
        s,
        classes=classes,
        optimizer=optimizer,
        checkpoint=lambda result, best: None,
    )
    twin.compile(
        optimizer=keras.optimizers.Adam(s.learning_rate), loss="sparse_categorical_crossentropy"
    )
    for epoch in range(1, epochs + 1):
        for batch in batch_order(
            len(data), batch_size, s.seed, epoch
        ):  # the batches critic's fit() ran
            twin.train_on_batch(data.encoded[batch], data.labels[batch])
    layers = {}
    for name, module, layer in _pairs(model, twin, keras):
        mine, keras_weights = _as_keras(name, module), layer.get_weights()
        layers[name] = {
            "max_difference": max(float(np.abs(a - b).max()) for a, b in zip(mine, keras_weights)),
            "max_moved": max(
                float(np.abs(b - a0).max()) for b, a0 in zip(keras_weights, start[name])
            ),
        }
    after_ours, after_theirs = probabilities(model, twin, probe)
    steps = -(-len(data) // batch_size) * epochs
    return {
        "adam": adam,
        "steps": steps,
        "output_difference_before": float(np.abs(ours - theirs).max()),
        "output_difference_after": float(np.abs(after_ours - after_theirs).max()),
        "layers": layers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument("--rows", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    results = [
        run(args.dataset, args.rows, args.batch_size, args.epochs, adam)
        for adam in ("torch", "keras")
    ]
    names = list(results[0]["layers"])
    print(
        f"\n{results[0]['steps']} steps of batch {args.batch_size} on {args.rows:,} train reviews, dropout off; "
        "largest |critic − Keras| (and how far Keras's weights moved)\n"
    )
    print("| critic's optimizer | outputs before | " + " | ".join(names) + " | outputs after |")
    print("|---|---|" + "---|" * len(names) + "---|")
    for r in results:
        cells = [
            f"{r['layers'][n]['max_difference']:.1e} ({r['layers'][n]['max_moved']:.1e})"
            for n in names
        ]
        label = "`adam` (PyTorch's ε)" if r["adam"] == "torch" else "KerasAdam (Keras's ε)"
        print(
            f"| {label} | {r['output_difference_before']:.1e} | "
            + " | ".join(cells)
            + f" | {r['output_difference_after']:.1e} |"
        )
    harness.save(
        "research/kim_cnn_twin",
        results,
        benchmark="kim_cnn_twin",
        dataset=args.dataset,
        train_rows=args.rows,
        batch_size=args.batch_size,
        epochs=args.epochs,
    )


if __name__ == "__main__":
    main()
