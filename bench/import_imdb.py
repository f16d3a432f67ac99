"""Benchmark: import the full aclImdb tarball, and what follows it (re-import, statistics, the
Keras drop-in), each as a separate `critic` process in a fresh workspace.

    .venv/bin/python bench/import_imdb.py [--source ../shared/data/aclImdb_v1.tar.gz] [--runs 3]

Prints a table (median and max over runs of wall seconds and peak RSS) and saves
bench/results/import_imdb.json. Targets from the issue: import ≤ 30 s wall, peak RSS ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CRITIC = str(Path(sys.executable).with_name("critic"))
KERAS = "from critic.keras import imdb; (x, y), (xt, yt) = imdb.load_data(num_words=10000); print(len(x), len(xt))"


def measure(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process, from the kernel's accounting."""
    done = harness.run_child(cmd, env=env)
    if done["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done['stderr'][-2000:]}")
    return done["wall_s"], done["peak_rss_mb"]


def run(source: str, runs: int) -> list[dict]:
    steps = {
        "import (cold workspace)": [CRITIC, "data", "import", "imdb", "--source", source, "-q"],
        "re-import (identical)": [CRITIC, "data", "import", "imdb", "--source", source, "-q"],
        "stats + plots": [CRITIC, "data", "stats", "imdb"],
        "keras load_data (first)": [sys.executable, "-c", KERAS],
        "keras load_data (cached)": [sys.executable, "-c", KERAS],
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "CRITIC_HOME": home}
            for name, cmd in steps.items():
                samples[name].append(measure(cmd, env))
    return [
        {
            "step": name,
            "runs": runs,
            "wall_s_median": statistics.median(w for w, _ in s),
            "wall_s_max": max(w for w, _ in s),
            "peak_rss_mb_median": statistics.median(r for _, r in s),
            "peak_rss_mb_max": max(r for _, r in s),
            "command": " ".join(steps[name])
            .replace(CRITIC, "critic")
            .replace(sys.executable, "python"),
        }
        for name, s in samples.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source",
        default=os.environ.get(
            "CRITIC_IMDB_SOURCE", str(ROOT.parent / "shared/data/aclImdb_v1.tar.gz")
        ),
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = run(args.source, args.runs)
    print(f"{'step':<26} {'wall s (median / max)':>22} {'peak RSS MB (median / max)':>28}")
    for r in rows:
        print(
            f"{r['step']:<26} {r['wall_s_median']:>10.1f} / {r['wall_s_max']:<9.1f} "
            f"{r['peak_rss_mb_median']:>13.0f} / {r['peak_rss_mb_max']:<10.0f}"
        )
    target = rows[0]
    verdict = target["wall_s_max"] <= 30 and target["peak_rss_mb_max"] <= 1536
    print(f"target: import ≤ 30 s and ≤ 1.5 GB peak RSS → {'met' if verdict else 'NOT met'}")
    out = harness.save(
        "import_imdb", rows, benchmark="import_imdb", source=args.source, target_met=verdict
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
