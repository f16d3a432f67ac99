"""Benchmark: a preset in critic and its Keras twin over many training seeds, several runs at a time.

    .venv/bin/python bench/peer_seeds.py [--preset kim-cnn] --seeds 0-15 [--workers 4] [--budget-s 540]
    .venv/bin/python bench/peer_seeds.py [--preset kim-cnn] --table cuda   # the saved runs of that device
    (needs keras; Keras runs with KERAS_BACKEND=torch)

Each run is one row of compare_peers.py (`compare_peers.py --one "critic kim-cnn" --seed N` and
its Keras twin, each in its own process): same split, encoder, protocol (for kim-cnn: the best
epoch by validation loss) and test through critic's Predictor or Keras's predict. What this adds is
numbers: on a machine with more cores or a GPU it runs `--workers` of them side by side (the
cores shared out through OMP_NUM_THREADS) and alternates critic and Keras seed by seed, so a run
cut short by `--budget-s` (no new run starts after it) leaves both with about as many seeds.
Both train on whatever device torch picks ("auto": a CUDA GPU when there is one), with TF32 off
(NVIDIA_TF32_OVERRIDE=0), so a GPU computes in float32 as the CPU does.
Saves bench/results/peer_seeds-<preset>-<cpu|cuda>.json after every run; a seed saved there is not run again
(more seeds add to it; a failed run is tried again), and the script
prints, per contender, mean ± sd of test and validation accuracy, and critic − Keras with Welch's
95 % interval. Numbers from a GPU answer "is the gap real" for the same code on another device;
the issue's CPU figures stay compare_peers.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

from compare_peers import (  # bench/ is on sys.path when a bench script runs
    KERAS_MODELS,
    RESULTS,
    best_epoch,
    run_child,
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


def _target(preset: str, kind: str, limit: int | None = None) -> Path:
    """kind: "cpu" or "cuda"; a smoke run (--limit) saves apart."""
    return RESULTS / f"peer_seeds-{preset}-{kind}{'-smoke' if limit else ''}.json"


def _row(result: dict) -> dict:
    """compare_peers' row plus, where the run has validation, the best epoch's validation accuracy
    (the checkpoint tested)."""
    best = best_epoch(result.get("history") or {})
    if best is not None:
        result.update(best_epoch=best + 1, val_accuracy=result["history"]["val_accuracy"][best])
    return result


def run(preset: str, seeds: list[int], dataset: str, workers: int, budget_s: float, contenders: list[str],
        limit: int | None = None) -> list[dict]:
    device = _device()
    target = _target(preset, _kind(), limit)
    saved = json.loads(target.read_text())["rows"] if target.exists() else []
    done = {(r["contender"], r.get("seed")) for r in saved if "test_accuracy" in r}  # kept, not run again
    jobs = [(name, seed) for seed in seeds for name in contenders if (name, seed) not in done]
    retried = set(jobs)  # a failed run's row goes when it is run again
    rows = [r for r in saved if "test_accuracy" in r or (r["contender"], r.get("seed")) not in retried]
    os.environ.update(NVIDIA_TF32_OVERRIDE="0", KERAS_BACKEND="torch",
                      OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // workers)))
    start = time.perf_counter()

    def job(name: str, seed: int) -> dict | None:
        if time.perf_counter() - start > budget_s:
            return None  # past the budget: leave it for a later call
        began = time.perf_counter()
        result = {"seed": seed, **_row(run_child(name, dataset, limit, seed))}  # a failed run's row too
        result.update(wall_s=time.perf_counter() - began, workers=workers)  # runs at a time
        return result

    with ThreadPoolExecutor(workers) as pool:
        for future in as_completed([pool.submit(job, *j) for j in jobs]):
            result = future.result()
            if result is None:
                continue
            rows.append(result)  # this loop is the main thread's alone: the workers only run processes
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps({
                "benchmark": "peer_seeds", "preset": preset, "dataset": dataset, "device": device,
                "tf32": False, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                "rows": sorted(rows, key=lambda r: (r["contender"], r.get("seed", -1)))}, indent=2) + "\n")
            acc = f"test {result['test_accuracy']:.2%}" if "test_accuracy" in result else result.get("error")
            print(f"{result['contender']:<15} seed {result.get('seed', '?'):>3}: {acc}  "
                  f"({result['wall_s']:.0f} s, {time.perf_counter() - start:.0f} s in)", flush=True)
    return rows


def table(preset: str, kind: str, limit: int | None = None) -> None:
    data = json.loads(_target(preset, kind, limit).read_text())
    contenders = _contenders(preset)
    runs = {name: [r for r in data["rows"] if r["contender"] == name and "test_accuracy" in r] for name in contenders}
    bar = BARS[preset]
    workers = sorted({r.get("workers") for r in data["rows"]})
    print(f"{data['dataset']} on {data['device']}, {' or '.join(map(str, workers))} runs at a time, {data['date'][:10]}\n")
    print("| contender | seeds | test accuracy, mean ± sd | validation (best epoch), mean ± sd | min to max test | "
          f"seeds ≥ {bar:g} % test | training per run (median) |")
    print("|---|---|---|---|---|---|---|")
    for name, rows in runs.items():
        if len(rows) < 2:
            continue
        test = [r["test_accuracy"] * 100 for r in rows]
        val = [r["val_accuracy"] * 100 for r in rows if "val_accuracy" in r]
        val_text = f"{statistics.mean(val):.2f} % ± {statistics.stdev(val):.2f}" if len(val) > 1 else "(none)"
        print(f"| {name} | {len(rows)} | {statistics.mean(test):.2f} % ± {statistics.stdev(test):.2f} | {val_text} | "
              f"{min(test):.2f} to {max(test):.2f} % | {sum(t >= bar for t in test)} | "
              f"{statistics.median(r['train_s'] for r in rows):.0f} s |")
    ours, theirs = runs[contenders[0]], runs[contenders[1]]
    if len(ours) < 2 or len(theirs) < 2:
        return
    print("\n| critic − Keras | seeds (critic / Keras) | difference of means | 95 % interval (Welch) | p |")
    print("|---|---|---|---|---|")
    for key, label in (("test_accuracy", "test"), ("val_accuracy", "validation")):
        a, b = [r[key] * 100 for r in ours if key in r], [r[key] * 100 for r in theirs if key in r]
        if len(a) >= 2 and len(b) >= 2:
            print(f"| {label} | {welch_cells(a, b)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="kim-cnn", choices=sorted(KERAS_MODELS.values()))
    parser.add_argument("--seeds", default="0-7", help="e.g. 0-15 or 0,3,8-11")
    parser.add_argument("--dataset", default="imdb@1")
    parser.add_argument("--workers", type=int, default=1, help="runs at a time")
    parser.add_argument("--budget-s", type=float, default=float("inf"), help="start no run after this many seconds")
    parser.add_argument("--only", choices=("critic", "keras"), help="one of the two contenders")
    parser.add_argument("--limit", type=int, help="smoke run: this many rows per subset (saved apart)")
    parser.add_argument("--table", choices=("cpu", "cuda"), help="print the saved runs of that device and exit")
    args = parser.parse_args()
    if args.table:
        table(args.preset, args.table)
        return
    contenders = [c for c in _contenders(args.preset) if not args.only or c.startswith(args.only)]
    run(args.preset, _seeds(args.seeds), args.dataset, args.workers, args.budget_s, contenders, args.limit)
    table(args.preset, _kind(), args.limit)


if __name__ == "__main__":
    main()
