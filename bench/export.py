"""Benchmark: ONNX Runtime against PyTorch on trained checkpoints (issue 28), IMDB test reviews.

    CRITIC_HOME=... .venv/bin/python bench/export.py EXPERIMENT [EXPERIMENT ...]
        [--reviews 1000] [--int8] [--bf16] [--only torch-bf16,onnx-int8] [--threads 2]

For each experiment: `critic export` of its best checkpoint (fp32; with --int8 also the int8
export, transformer models only), then the first --reviews IMDB test reviews through the
PyTorch `Predictor` (fp32; with --bf16 also in bfloat16, the torch-bf16 runtime), `OnnxPredictor`
fp32 and int8, each in its own child process (its load time,
prediction time and peak RSS): the largest |Δ probability| against PyTorch, the labels that
differ, and the test accuracy of each on those reviews. Also one review at a time (median
latency over the first 100). PyTorch's probabilities on the whole test subset are kept for
bench/ensemble.py (harness.probs_cache); `--only` runs just the runtimes named, against those
kept probabilities when they exist (no PyTorch run again: its row is the one saved before).
Prints a table and saves bench/results/export.json.
Targets: fp32 within 1e-4 of PyTorch on every review; int8 and bf16 within 0.3 points of
accuracy; MiniLM on the 25,000 test reviews in ≤ 5 min.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

SINGLE = 100  # reviews sent one at a time, for the latency
RUNTIMES = ("torch", "torch-bf16", "onnx", "onnx-int8")  # critic.deploy.RUNTIMES


def run(experiment: str, runtime: str, reviews: int, threads: int, out: str) -> dict:
    """In a child: load `experiment` on `runtime` (critic.deploy.RUNTIMES), predict the reviews,
    save the probabilities to `out` (.npy) for the parent to compare."""
    import numpy as np
    import torch

    from critic.data import load_version
    from critic.experiments.store import get_experiment

    torch.set_num_threads(threads)
    run_ = get_experiment(experiment)
    test = load_version(run_.record.dataset).subset("test", ["text", "label"])
    whole = reviews >= len(test)
    test = test.iloc[:reviews]
    start = time.perf_counter()
    from critic.deploy import TORCH_RUNTIMES

    if runtime in TORCH_RUNTIMES:
        from critic.deploy import runtime_precision
        from critic.predictor import Predictor

        precision = runtime_precision(runtime)
        predictor = Predictor.from_checkpoint(run_.checkpoint("best"), precision=precision)
    else:
        from critic.export import OnnxPredictor, ensure_export, export_folder

        quantize = "int8" if runtime == "onnx-int8" else None
        folder = ensure_export(
            run_.checkpoint("best"), export_folder(run_.path, "best", quantize), quantize=quantize
        )
        predictor = OnnxPredictor(folder, threads=threads)
    load_s = time.perf_counter() - start
    texts = test["text"].tolist()
    start = time.perf_counter()
    probs = predictor.predict_proba(texts)
    predict_s = time.perf_counter() - start
    latencies = []
    for text in texts[:SINGLE]:
        t0 = time.perf_counter()
        predictor.predict_proba([text])
        latencies.append((time.perf_counter() - t0) * 1000)
    np.save(out, probs)
    truth = test["label"].map({c: i for i, c in enumerate(predictor.classes)}).to_numpy()
    return {
        "load_s": load_s,
        "predict_s": predict_s,
        "one_review_ms_p50": statistics.median(latencies),
        "accuracy": float((probs.argmax(1) == truth).mean()),
        "whole_test": whole,
    }


def main() -> None:
    import tempfile

    import numpy as np

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("experiments", nargs="+")
    parser.add_argument("--reviews", type=int, default=1000)
    parser.add_argument("--int8", action="store_true", help="also the int8 export (transformers)")
    parser.add_argument("--bf16", action="store_true", help="also PyTorch in bfloat16")
    parser.add_argument(
        "--only",
        help="these runtimes, comma-separated; against PyTorch's kept whole-test probabilities "
        "when there are some (else PyTorch runs too, as the reference)",
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for experiment in args.experiments:
            runtimes = (
                ["torch"]
                + (["torch-bf16"] if args.bf16 else [])
                + ["onnx"]
                + (["onnx-int8"] if args.int8 else [])
            )
            probs = {}
            if args.only:
                runtimes = [r for r in RUNTIMES if r in args.only.split(",")]
                cache = harness.probs_cache(experiment)
                if cache.exists():
                    probs["torch"] = np.load(cache)[: args.reviews]
                else:
                    runtimes = ["torch", *[r for r in runtimes if r != "torch"]]
            for runtime in runtimes:
                out = str(Path(tmp) / f"{experiment}-{runtime}.npy")
                found = harness.in_child(
                    "export:run", experiment, runtime, args.reviews, args.threads, out
                )
                probs[runtime] = np.load(out)
                if runtime == "torch" and found["whole_test"]:  # for bench/ensemble.py
                    np.save(harness.probs_cache(experiment), probs[runtime])
                reference = probs["torch"]
                rows.append(
                    {
                        "experiment": experiment,
                        "runtime": runtime,
                        "reviews": args.reviews,
                        "max_abs_difference": float(np.abs(probs[runtime] - reference).max()),
                        "labels_differ": int(
                            (probs[runtime].argmax(1) != reference.argmax(1)).sum()
                        ),
                        **found,
                    }
                )
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    harness.table(
        rows,
        [
            "experiment",
            "runtime",
            ("reviews", "reviews", ","),
            ("max |Δp| vs torch", "max_abs_difference", ".1e"),
            ("labels differ", "labels_differ"),
            ("accuracy", "accuracy", ".2%"),
            ("predict s", "predict_s", ".1f"),
            ("one review ms p50", "one_review_ms_p50", ".2f"),
            ("load s", "load_s", ".1f"),
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
        ],
        title=f"ONNX Runtime against PyTorch, {args.reviews:,} IMDB test reviews, "
        f"{args.threads} threads",
    )
    # rows of experiments not measured this time are kept (each row says its own reviews)
    fresh = {(r["experiment"], r["runtime"]) for r in rows}
    kept = [
        r
        for r in harness.load("export").get("rows", [])
        if (r["experiment"], r["runtime"]) not in fresh
    ]
    harness.save(
        "export", kept + rows, benchmark="export", reviews=args.reviews, threads=args.threads
    )


if __name__ == "__main__":
    main()
