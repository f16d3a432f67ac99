"""Benchmark: a preset in critic and its Keras twin over many training seeds, several runs at a time.

    .venv/bin/python bench/research/peer_seeds.py [--preset kim-cnn] --seeds 0-15 [--workers 4] [--budget-s 540]
    .venv/bin/python bench/research/peer_seeds.py [--preset kim-cnn] --table cuda   # the saved runs of that device
    (needs keras; Keras runs with KERAS_BACKEND=torch)

Each run is one row of bench/compare_peers.py (its "critic kim-cnn" contender with seed N and
its Keras twin, each in its own process): same split, encoder, protocol (for kim-cnn: the best
epoch by validation loss) and test through critic's Predictor or Keras's predict. What this adds is
numbers: on a machine with more cores or a GPU it runs `--workers` of them side by side (the
cores shared out through OMP_NUM_THREADS) and alternates critic and Keras seed by seed, so a run
cut short by `--budget-s` (no new run starts after it) leaves both with about as many seeds.
Both train on whatever device torch picks ("auto": a CUDA GPU when there is one), with TF32 off
(NVIDIA_TF32_OVERRIDE=0), so a GPU computes in float32 as the CPU does.
Saves every run in the preset's seed study, bench/results/research/<preset>_seeds.json, under this
machine's device ("cpu" or "cuda"), contender and seed; a seed saved there is not run again
(more seeds add to it; a failed run is tried again), and the script
prints, per contender, mean ± sd of test and validation accuracy, and critic − Keras with Welch's
95 % interval. Numbers from a GPU answer "is the gap real" for the same code on another device;
the issue's CPU figures stay compare_peers.py's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # bench/: the shared harness and compare_peers
import harness  # noqa: E402
from compare_peers import (  # noqa: E402
    KERAS_MODELS,
    best_epoch,
    load_seeds,
    run_contender,
    save_seed_rows,
    welch_cells,
)

# test accuracy (%) each preset is held to: the seeds' published figures; kim-cnn's is issue 4's bar
BARS = {"multi-hot-mlp": 86.59, "embedding-mlp": 86.94, "cnn-1d": 87.79, "kim-cnn": 89.0}


def _seeds(text: str) -> list[int]:
    """'0-3,8' → [0, 1, 2, 3, 8]"""
    seeds = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high or low) + 1)
    return seeds


def _device() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def _kind() -> str:
    """This machine's results file: "cpu" or "cuda"."""
    return "cpu" if _device() == "cpu" else "cuda"


def _contenders(preset: str) -> tuple[str, str]:
    return f"critic {preset}", f"keras {preset}"


def _row(result: dict) -> dict:
    """compare_peers' row plus, where the run has validation, the best epoch's validation accuracy
    (the checkpoint tested)."""
    best = best_epoch(result.get("history") or {})
    if best is not None:
        result.update(best_epoch=best + 1, val_accuracy=result["history"]["val_accuracy"][best])
    return result


def run(
    preset: str,
    seeds: list[int],
    dataset: str,
    workers: int,
    budget_s: float,
    contenders: list[str],
    limit: int | None = None,
) -> list[dict]:
    device, kind = _device(), _kind()
    saved = load_seeds(preset, limit)["runs"].get(kind, {})
    done = {
        (name, int(seed))
        for name, by_seed in saved.items()
        for seed, r in by_seed.items()
        if "test_accuracy" in r
    }  # kept, not run again; a failed run's row is replaced when it runs again
    jobs = [(name, seed) for seed in seeds for name in contenders if (name, seed) not in done]
    rows: list[dict] = []
    os.environ.update(
        NVIDIA_TF32_OVERRIDE="0",
        KERAS_BACKEND="torch",
        OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // workers)),
    )
    start = time.perf_counter()

    def job(name: str, seed: int) -> dict | None:
        if time.perf_counter() - start > budget_s:
            return None  # past the budget: leave it for a later call
        began = time.perf_counter()
        result = {
            "seed": seed,
            **_row(run_contender(name, dataset, limit, seed)),
        }  # a failed run's row too
        result.update(
            wall_s=time.perf_counter() - began,
            workers=workers,  # runs at a time
            source="peer_seeds",
            device=device,
            tf32=False,
            date=harness.now(),
            machine=harness.machine(),
        )
        return result

    with ThreadPoolExecutor(workers) as pool:
        for future in as_completed([pool.submit(job, *j) for j in jobs]):
            result = future.result()
            if result is None:
                continue
            rows.append(
                result
            )  # this loop is the main thread's alone: the workers only run processes
            save_seed_rows(preset, kind, [result], dataset, limit)
            acc = (
                f"test {result['test_accuracy']:.2%}"
                if "test_accuracy" in result
                else result.get("error")
            )
            print(
                f"{result['contender']:<15} seed {result.get('seed', '?'):>3}: {acc}  "
                f"({result['wall_s']:.0f} s, {time.perf_counter() - start:.0f} s in)",
                flush=True,
            )
    return rows


def table(preset: str, kind: str, limit: int | None = None) -> None:
    data = load_seeds(preset, limit)
    by_contender = data["runs"].get(kind)
    if not by_contender:
        raise SystemExit(f"no saved {kind} runs of {preset}; run this script with --seeds first")
    saved = [r for by_seed in by_contender.values() for r in by_seed.values()]
    contenders = _contenders(preset)
    runs = {
        name: [r for r in by_contender.get(name, {}).values() if "test_accuracy" in r]
        for name in contenders
    }
    bar = BARS[preset]
    workers = sorted(
        {r["workers"] for r in saved if "workers" in r}
    )  # rows from compare_peers.py --seed have none
    devices = ", ".join(sorted({r.get("device", kind) for r in saved}))
    at_a_time = f"{' or '.join(map(str, workers))} runs at a time, " if workers else ""
    print(
        f"{data['dataset']} on {devices}, {at_a_time}{max(r.get('date', '') for r in saved)[:10]}\n"
    )
    print(
        "| contender | seeds | test accuracy, mean ± sd | validation (best epoch), mean ± sd | min to max test | "
        f"seeds ≥ {bar:g} % test | training per run (median) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, rows in runs.items():
        if len(rows) < 2:
            continue
        test = [r["test_accuracy"] * 100 for r in rows]
        val = [r["val_accuracy"] * 100 for r in rows if "val_accuracy" in r]
        val_text = (
            f"{statistics.mean(val):.2f} % ± {statistics.stdev(val):.2f}"
            if len(val) > 1
            else "(none)"
        )
        print(
            f"| {name} | {len(rows)} | {statistics.mean(test):.2f} % ± {statistics.stdev(test):.2f} | {val_text} | "
            f"{min(test):.2f} to {max(test):.2f} % | {sum(t >= bar for t in test)} | "
            f"{statistics.median(r['train_s'] for r in rows):.0f} s |"
        )
    ours, theirs = runs[contenders[0]], runs[contenders[1]]
    if len(ours) < 2 or len(theirs) < 2:
        return
    print(
        "\n| critic − Keras | seeds (critic / Keras) | difference of means | 95 % interval (Welch) | p |"
    )
    print("|---|---|---|---|---|")
    for key, label in (("test_accuracy", "test"), ("val_accuracy", "validation")):
        a, b = [r[key] * 100 for r in ours if key in r], [r[key] * 100 for r in theirs if key in r]
        if len(a) >= 2 and len(b) >= 2:
            print(f"| {label} | {welch_cells(a, b)} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="kim-cnn", choices=sorted(KERAS_MODELS.values()))
    parser.add_argument("--seeds", default="0-7", help="e.g. 0-15 or 0,3,8-11")
    parser.add_argument("--dataset", default="imdb@1")
    parser.add_argument("--workers", type=int, default=1, help="runs at a time")
    parser.add_argument(
        "--budget-s", type=float, default=float("inf"), help="start no run after this many seconds"
    )
    parser.add_argument("--only", choices=("critic", "keras"), help="one of the two contenders")
    parser.add_argument(
        "--limit", type=int, help="smoke run: this many rows per subset (saved apart)"
    )
    parser.add_argument(
        "--table", choices=("cpu", "cuda"), help="print the saved runs of that device and exit"
    )
    args = parser.parse_args()
    if args.table:
        table(args.preset, args.table)
        return
    contenders = [c for c in _contenders(args.preset) if not args.only or c.startswith(args.only)]
    run(
        args.preset,
        _seeds(args.seeds),
        args.dataset,
        args.workers,
        args.budget_s,
        contenders,
        args.limit,
    )
    table(args.preset, _kind(), args.limit)


if __name__ == "__main__":
    main()
