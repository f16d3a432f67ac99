"""Benchmark: what critic's training loop costs over a bare PyTorch loop on the same model and
batches (the issue's bar: ≤ 10 %).

    .venv/bin/python bench/loop_overhead.py [--rows 6000] [--repeats 3]

Both loops train the kim-cnn preset for two epochs on the first --rows train reviews of the
workspace's `imdb` (batch 256, each batch run in the same length-sorted, trimmed parts) and compute the same
validation loss and accuracy after each epoch. critic's loop additionally logs every batch and
calls the checkpoint hook (a no-op here; saving is timed on its own). Prints medians and saves
bench/results/loop_overhead.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from critic.artifacts import save_checkpoint
from critic.data import load_version
from critic.experiments.configure import build_config
from critic.models.graph import GraphModel, trim
from critic.text.encoders import encoder_for
from critic.text.spec import PAD
from critic.train import Data, batch_order, fit, make_optimizer, micro_batches

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def bare(model, train: Data, val: Data, epochs: int, batch_size: int, seed: int, optimizer) -> None:
    margin = model.trim_margin
    for epoch in range(1, epochs + 1):
        model.train()
        for rows in batch_order(len(train), batch_size, seed, epoch):
            optimizer.zero_grad(set_to_none=True)
            for part in micro_batches(
                rows, train.lengths
            ):  # the same trimmed parts as critic's loop
                x = trim(torch.from_numpy(train.encoded[part]), margin, "post")
                y = torch.from_numpy(train.labels[part])
                (nn.functional.cross_entropy(model(x), y, reduction="sum") / len(rows)).backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode():
            order = np.argsort(val.lengths, kind="stable")
            total = correct = 0.0
            for i in range(0, len(val), 512):
                rows = order[i : i + 512]
                logits = model(trim(torch.from_numpy(val.encoded[rows]), margin, "post"))
                y = torch.from_numpy(val.labels[rows])
                total += nn.functional.cross_entropy(logits, y, reduction="sum").item()
                correct += (logits.argmax(1) == y).sum().item()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    version = load_version("imdb")
    train_rows = version.subset("train", ["text", "label"]).iloc[: args.rows]
    val_rows = version.subset("validation", ["text", "label"]).iloc[: args.rows // 4]
    config = build_config("imdb", preset="kim-cnn", train={"epochs": 2, "batch_size": 256})
    encoder = encoder_for(config.encoder).fit(train_rows["text"])
    classes = version.classes

    def data(rows):
        encoded = encoder.encode(rows["text"].tolist())
        return Data(
            encoded,
            rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64),
            encoder,
            (encoded != PAD).sum(1),
        )

    train, val = data(train_rows), data(val_rows)
    s = config.train
    times = {"bare PyTorch loop": [], "critic fit()": []}
    for _ in range(args.repeats):
        for name in times:
            torch.manual_seed(0)
            model = GraphModel(config.model, encoder.input_spec, len(classes))
            optimizer = make_optimizer(model, s)
            start = time.perf_counter()
            if name == "critic fit()":
                fit(
                    model,
                    train,
                    val,
                    s,
                    classes=classes,
                    optimizer=optimizer,
                    checkpoint=lambda r, b: None,
                )
            else:
                bare(model, train, val, s.epochs, s.batch_size, s.seed, optimizer)
            times[name].append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        save_checkpoint(Path(tmp) / "c", model, encoder, classes, {"bench": True})
        save_s = time.perf_counter() - start
    medians = {k: statistics.median(v) for k, v in times.items()}
    ratio = medians["critic fit()"] / medians["bare PyTorch loop"]
    print(
        f"kim-cnn, {len(train):,} train / {len(val):,} validation reviews, 2 epochs, batch 256, {args.repeats} repeats"
    )
    for name, values in times.items():
        print(
            f"  {name:<20} median {medians[name]:6.1f} s   (min {min(values):.1f}, max {max(values):.1f})"
        )
    print(f"  overhead: {ratio - 1:+.1%} (bar: ≤ +10 %)   saving one checkpoint: {save_s:.2f} s")
    harness.save(
        "loop_overhead",
        [
            {
                "train_rows": len(train),
                "times_s": times,
                "median_s": medians,
                "overhead": ratio - 1,
                "checkpoint_save_s": save_s,
            }
        ],
        benchmark="loop_overhead",
    )


if __name__ == "__main__":
    main()
