"""Benchmark view: a preset's test accuracy over every saved seed, critic against Keras, on the CPU and a GPU.

    .venv/bin/python bench/research/seeds_plot.py [--preset kim-cnn]

Reads the preset's seed study, bench/results/research/<preset>_seeds.json, where
`bench/compare_peers.py --seed N` and bench/research/peer_seeds.py save their runs by device
("cpu", "cuda"), contender and seed (nothing is trained here). A seed run on the CPU is
deterministic, so it is saved once. Prints, per device, each
contender's seeds, mean ± sd and seeds at or above the preset's bar, then critic − Keras per device
and CPU − GPU per contender (Welch's 95 % interval and p: does the device move the mean?), and,
where both devices have seeds, critic − Keras over all of them.
Saves bench/results/research/<preset>_seeds.png: every seed as a dot, the mean with its 95 %
interval as a bar, the bar line dashed, and the summary printed into the study's "summary".
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # bench/: the shared harness and compare_peers
from peer_seeds import BARS  # noqa: E402

import harness  # noqa: E402
from compare_peers import load_seeds, seeds_name, welch_cells  # noqa: E402

DEVICES = ("cpu", "cuda")
NAMES = {"cpu": "CPU", "cuda": "GPU"}


def load(preset: str) -> dict[tuple[str, str], dict[int, float]]:
    """{(device, contender): {seed: test accuracy in %}} for critic's and Keras's rows of `preset`."""
    runs = load_seeds(preset)["runs"]
    return {
        (device, name): {
            int(seed): r["test_accuracy"] * 100
            for seed, r in by_seed.items()
            if "test_accuracy" in r
        }
        for device, by_contender in runs.items()
        if device in DEVICES
        for name, by_seed in by_contender.items()
        if name in (f"critic {preset}", f"keras {preset}")
    }


def _ranges(seeds: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → '0–2, 5, 7–8'"""
    spans: list[list[int]] = []
    for s in sorted(seeds):
        if spans and s == spans[-1][1] + 1:
            spans[-1][1] = s
        else:
            spans.append([s, s])
    return ", ".join(f"{a}–{b}" if b > a else f"{a}" for a, b in spans)


def summary(runs: dict[tuple[str, str], dict[int, float]], bar: float) -> list[dict]:
    out = []
    for (device, name), by_seed in sorted(runs.items()):
        values = list(by_seed.values())
        if len(values) >= 2:
            out.append(
                {
                    "device": device,
                    "contender": name,
                    "seeds": _ranges(list(by_seed)),
                    "n": len(values),
                    "mean": statistics.mean(values),
                    "sd": statistics.stdev(values),
                    "min": min(values),
                    "max": max(values),
                    "at_bar": sum(v >= bar for v in values),
                }
            )
    return out


def print_tables(
    preset: str, runs: dict[tuple[str, str], dict[int, float]], rows: list[dict], bar: float
) -> None:
    print(
        f"| device | contender | seeds | n | test accuracy, mean ± sd | min to max | seeds ≥ {bar:g} % |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {NAMES[r['device']]} | {r['contender']} | {r['seeds']} | {r['n']} | "
            f"{r['mean']:.2f} % ± {r['sd']:.2f} | "
            f"{r['min']:.2f} to {r['max']:.2f} % | {r['at_bar']} |"
        )
    ours, theirs = f"critic {preset}", f"keras {preset}"
    pairs = [(f"critic − Keras, {NAMES[d]}", (d, ours), (d, theirs)) for d in DEVICES]
    pairs += [
        (f"CPU − GPU, {name.split()[0]}", ("cpu", name), ("cuda", name)) for name in (ours, theirs)
    ]
    print("\n| difference | seeds | difference of means | 95 % interval (Welch) | p |")
    print("|---|---|---|---|---|")
    for label, a, b in pairs:
        if len(runs.get(a, {})) >= 2 and len(runs.get(b, {})) >= 2:
            print(f"| {label} | {welch_cells(list(runs[a].values()), list(runs[b].values()))} |")
    # every seed of both devices in one sample each: fair only where the CPU − GPU rows show no device effect
    both = [
        [v for d in DEVICES for v in runs.get((d, name), {}).values()] for name in (ours, theirs)
    ]
    if all(len(runs.get((d, n), {})) >= 2 for d in DEVICES for n in (ours, theirs)):
        print(f"| critic − Keras, CPU and GPU together | {welch_cells(*both)} |")


def plot(preset: str, runs: dict[tuple[str, str], dict[int, float]], bar: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy import stats

    groups = [
        k
        for k in ((d, f"{c} {preset}") for d in DEVICES for c in ("critic", "keras"))
        if len(runs.get(k, {})) >= 2
    ]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rng = np.random.default_rng(0)  # jitter only, so the dots do not hide each other
    for i, key in enumerate(groups):
        values = np.array(list(runs[key].values()))
        color = "tab:blue" if key[1].startswith("critic") else "tab:orange"
        ax.scatter(i + rng.uniform(-0.18, 0.18, len(values)), values, s=14, alpha=0.6, color=color)
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
        ax.errorbar(i + 0.32, values.mean(), yerr=half, fmt="o", color="black", capsize=4)
    ax.axhline(bar, ls="--", color="grey", lw=1)
    ax.text(-0.4, bar, f"bar {bar:g} %", va="bottom", color="grey")
    ax.set_xticks(
        range(len(groups)),
        [f"{c.split()[0]}\n{NAMES[d]} ({len(runs[(d, c)])} seeds)" for d, c in groups],
    )
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{preset}: test accuracy per seed, mean and 95 % interval")
    fig.tight_layout()
    path = harness.RESULTS / "research" / f"{preset.replace('-', '_')}_seeds.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="kim-cnn", choices=sorted(BARS))
    args = parser.parse_args()
    runs, bar = load(args.preset), BARS[args.preset]
    rows = summary(runs, bar)
    if not rows:
        raise SystemExit(
            f"no saved runs of {args.preset} with two seeds or more; run bench/research/peer_seeds.py first"
        )
    print_tables(args.preset, runs, rows, bar)
    study = load_seeds(
        args.preset
    )  # read again just before writing: a seed run may have saved meanwhile
    study["summary"] = {"bar": bar, "rows": rows, "created": harness.now()}
    harness.write(seeds_name(args.preset), study)
    print(f"\nplot: {plot(args.preset, runs, bar)}")


if __name__ == "__main__":
    main()
