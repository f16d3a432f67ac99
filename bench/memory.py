"""Benchmark: peak memory of training and serving (issue 28), each in its own process.

    CRITIC_HOME=<a workspace with imdb@1> .venv/bin/python bench/memory.py
        [--only linear,kim-cnn,minilm,serve] [--epochs N] [--train-rows N] [--label after]

- linear:  `linear` preset trained on imdb@1 (train 20,000, validation 5,000);
- kim-cnn: `kim-cnn` preset (batch 1,024 × 650), --epochs (default: the preset's 5);
- minilm:  `minilm` preset (length 256), --epochs (default 1), on the first --train-rows train
           reviews (default: all 20,000);
- parts:PRESET:ROWS:TOKENS: one epoch of PRESET over the first ROWS train reviews on 1 thread
           in parts of at most TOKENS padded tokens (a few batches: the lever's effect alone);
- demo:    `critic quickstart --source <the IMDB tarball>` (what `make demo` runs) in a fresh
           workspace, then 200 predictions and 20 explanations: the serving process's peak RSS
           (quickstart execs `critic serve`) and the whole command's.

Each training run is one child process (bench/harness.py: the kernel's peak RSS of that process),
then its best checkpoint scores the test subset, so memory and accuracy sit side by side. Rows
are saved under --label (default "after"; a run of an older commit, PYTHONPATH=<its src>, is
saved as --label "before (<commit>)"): bench/results/memory.json keeps one set per label.
Targets: MiniLM ≤ 3 GB, Kim CNN ≤ 2 GB, linear ≤ 1.2 GB, the demo's serving process ≤ 1.2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGETS_MB = {"linear": 1200, "kim-cnn": 2000, "minilm": 3000, "demo": 1200}


def train(preset: str, epochs: int | None, train_rows: int | None) -> dict:
    """In a child: train `preset` on imdb@1 (or its first `train_rows` train rows), then score the
    test subset with the best checkpoint."""
    from dataclasses import replace

    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    dataset = "imdb@1"
    if train_rows:
        dataset = _first_rows(dataset, train_rows)
    config = build_config(dataset, preset=preset)
    if epochs:
        config = replace(config, train=replace(config.train, epochs=epochs, min_steps=0))
    start = time.perf_counter()
    experiment = train_experiment(config, name=f"memory-{preset}-{os.getpid()}")
    train_s = time.perf_counter() - start
    return {
        "train_s": train_s,
        "epochs": experiment.record.epochs_done,
        "val_accuracy": experiment.record.epochs[-1]["val_accuracy"],
        "test_accuracy": harness.test_accuracy(experiment.checkpoint("best"), dataset),
    }


def parts(preset: str, rows: int, tokens: int) -> dict:
    """In a child, on 1 thread: one epoch of `preset` over the first `rows` IMDB train reviews
    (a few batches) in parts of at most `tokens` padded tokens; no validation, nothing saved."""
    from dataclasses import replace

    import torch

    from critic.data import load_version
    from critic.experiments.configure import build_config
    from critic.experiments.run import _data
    from critic.models.graph import GraphModel
    from critic.models.pretrained import load_pretrained_weights
    from critic.text.encoders import encoder_for
    from critic.train import fit, make_optimizer

    torch.set_num_threads(1)
    version = load_version("imdb@1")
    train = version.subset("train", ["text", "label"]).iloc[:rows]
    config = build_config("imdb@1", preset=preset)
    encoder = encoder_for(config.encoder).fit(train["text"])
    data = _data(encoder, train, version.classes)
    torch.manual_seed(0)
    model = GraphModel(config.model, encoder.input_spec, len(version.classes))
    list(load_pretrained_weights(model))
    s = replace(config.train, epochs=1, min_steps=0, part_tokens=tokens)
    start = time.perf_counter()
    fit(model, data, None, s, classes=version.classes, optimizer=make_optimizer(model, s),
        checkpoint=lambda result, best: None)  # fmt: skip
    return {"train_s": time.perf_counter() - start, "part_tokens": tokens, "rows": rows}


def _first_rows(dataset: str, n: int) -> str:
    """A version of `dataset` with its first `n` train rows (validation and test kept)."""
    import tempfile

    import pandas as pd

    from critic.data import import_dataset, load_version

    frame = load_version(dataset).frame(["text", "label", "subset"])
    train = frame[frame["subset"] == "train"].head(n)
    kept = frame[frame["subset"] != "train"]
    path = Path(tempfile.mkdtemp()) / f"imdb-first-{n}.csv"
    pd.concat([train, kept]).to_csv(path, index=False)
    return import_dataset(
        f"imdb-first-{n}", path, subset_column="subset", progress=False
    ).version.ref


def demo(tarball: str, requests: int = 200, explained: int = 20) -> dict:
    """`critic quickstart --source TARBALL` (what `make demo` runs) in a fresh workspace on a free
    port of 127.0.0.1: import, train, evaluate, deploy, serve; then `requests` predictions and
    `explained` explanations through its printed URL and token. The serving process's own peak
    (VmHWM, read before it stops: quickstart execs `critic serve`, and the kernel starts a new
    peak with the new program) and the whole command's (os.wait4, across the exec)."""
    import re
    import tempfile

    home = tempfile.mkdtemp(prefix="critic-demo-")
    port = harness.free_port()
    env = {**os.environ, "CRITIC_HOME": home, "COLUMNS": "250"}
    argv = [sys.executable, "-m", "critic", "quickstart", "--source", tarball, "--port", str(port)]
    start = time.perf_counter()
    job = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    lines = []
    for line in job.stdout:  # until the server says it is serving
        lines.append(line)
        if "serving" in line and "Ctrl-C" in line:
            break
    out = "".join(lines)
    token = re.search(r"token\s+(critic_[A-Za-z0-9_-]+)", out).group(1)
    url = re.search(r"URL\s+(http://\S+/predict)", out).group(1)
    field = re.search(r"input name\s+(\S+)", out).group(1)
    texts = [
        f"review {i}: a film I {'loved' if i % 2 else 'hated'}, truly" for i in range(requests)
    ]
    try:
        harness.wait_until_serving(port)
        ready_s = time.perf_counter() - start
        for i, text in enumerate(texts):
            body = {field: text, **({"explain": True} if i < explained else {})}
            request = urllib.request.Request(
                url,
                data=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 200
        serving = _status_kb(job.pid, "VmHWM") / 1024
    finally:
        job.send_signal(signal.SIGINT)
        _, _, usage = os.wait4(job.pid, 0)
        job.returncode = 0
    return {
        "requests": requests,
        "explained": explained,
        "ready_s": ready_s,
        "peak_rss_mb": serving,
        "whole_command_peak_mb": usage.ru_maxrss / 1024,
    }


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="linear,demo,kim-cnn,minilm")
    parser.add_argument("--epochs", type=int, help="epochs for kim-cnn and minilm")
    parser.add_argument("--train-rows", type=int, help="minilm: the first N train reviews")
    parser.add_argument(
        "--tarball", default=str(ROOT.parent / "shared/data/aclImdb_v1.tar.gz"), help="demo: IMDB"
    )
    parser.add_argument("--label", default="after")
    args = parser.parse_args()
    rows = []
    for case in args.only.split(","):
        if case == "demo":
            found = demo(args.tarball)
        elif case.startswith("parts:"):  # parts:PRESET:ROWS:TOKENS
            _, preset, n, tokens = case.split(":")
            found = harness.in_child("memory:parts", preset, int(n), int(tokens))
        else:
            rows_arg = args.train_rows if case == "minilm" else None
            epochs = args.epochs if case != "linear" else None
            found = harness.in_child("memory:train", case, epochs, rows_arg, stderr="inherit")
        target = TARGETS_MB.get(case)
        rows.append({"case": case, "label": args.label, "target_mb": target, **found})
        print(json.dumps(rows[-1], default=str), file=sys.stderr, flush=True)
    harness.table(
        rows,
        [
            "case",
            "label",
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
            ("target MB", "target_mb", ","),
            ("epochs", "epochs"),
            ("test acc", "test_accuracy", ".2%"),
            ("train s", "train_s", ",.0f"),
            ("whole demo MB", "whole_command_peak_mb", ",.0f"),
        ],
        title=f"peak memory ({args.label})",
    )
    # one row per (case, label): an earlier run's rows stay unless this run measured them again
    saved = harness.load("memory").get("rows", [])
    fresh = {(r["case"], r["label"]) for r in rows}
    kept = [r for r in saved if (r["case"], r["label"]) not in fresh]
    harness.save("memory", kept + rows, benchmark="memory")


if __name__ == "__main__":
    main()
