"""Benchmark: how fast the `critic` command starts, and how much memory it takes to do so.

    .venv/bin/python bench/cli_startup.py [--runs 7] [--before 5559d82]

Times `critic --help`, `critic --version`, `critic data --help` and one shell-completion call
(what bash runs on every Tab) in child processes (bench/harness.py: wall time and peak RSS from
os.wait4), several runs each, and prints the median against the targets of issue 23 (≤ 0.5 s and
≤ 120 MB). `--before REV` also times the single-module CLI of that commit (src/critic/cli.py,
which imported torch, pandas and scikit-learn for every command) run against today's library,
for the before/after figures. Saves bench/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_MB = 0.5, 120  # issue 23: `critic --help` and `--version`
COMMANDS = (["--help"], ["--version"], ["data", "--help"])
COMPLETION = {"_CRITIC_COMPLETE": "complete_bash", "COMP_WORDS": "critic da", "COMP_CWORD": "1"}


def critic_exe() -> str:
    """The installed entry point beside this interpreter (what a user types), else `python -m critic.cli`."""
    exe = Path(sys.executable).with_name("critic")
    return str(exe) if exe.exists() else ""


def measure(label: str, argv: list[str], runs: int, env: dict | None = None) -> dict:
    spread = harness.repeat(
        argv, runs, env={**os.environ, "COLUMNS": "100", **(env or {})}, timeout=120
    )
    failed = [r for r in spread["runs"] if r["rc"] != 0]
    if failed:
        raise harness.ChildFailed(failed[0])
    return {
        "command": label,
        "runs": runs,
        "wall_s": spread["wall_s"],
        "peak_rss_mb": spread["peak_rss_mb"],
        "meets_target": spread["wall_s"]["median"] <= TARGET_S
        and spread["peak_rss_mb"]["median"] <= TARGET_MB,
    }


def now_rows(runs: int) -> list[dict]:
    exe = critic_exe()
    base = [exe] if exe else [sys.executable, "-m", "critic.cli"]
    rows = [measure("critic " + " ".join(args), base + list(args), runs) for args in COMMANDS]
    # the completion protocol needs the program's own name (it reads _CRITIC_COMPLETE): the entry point
    if exe:
        rows.append(measure("completion: critic da<Tab>", [exe], runs, env=COMPLETION))
    return rows


def before_rows(rev: str, runs: int) -> list[dict]:
    """The CLI module of `rev` (one file), run as a script against today's library."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/critic/cli.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "critic_cli_before.py"
        script.write_text(source)
        return [
            {
                **measure(
                    f"critic {' '.join(args)} (before: {rev})",
                    [sys.executable, str(script), *args],
                    runs,
                ),
                "before": rev,
            }
            for args in COMMANDS
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=7, help="runs per command (the median is reported)"
    )
    parser.add_argument(
        "--before", help="also time the single-module CLI of this commit, e.g. 5559d82"
    )
    args = parser.parse_args()
    rows = now_rows(args.runs) + (
        before_rows(args.before, max(3, args.runs // 2)) if args.before else []
    )
    harness.table(
        rows,
        [
            "command",
            ("median s", lambda r: r["wall_s"]["median"], ".3f"),
            ("min–max s", lambda r: f"{r['wall_s']['min']:.3f}–{r['wall_s']['max']:.3f}"),
            ("peak RSS MB", lambda r: r["peak_rss_mb"]["median"], ".0f"),
            ("≤ 0.5 s, ≤ 120 MB", lambda r: "yes" if r["meets_target"] else "no"),
        ],
        title=f"critic start-up, median of {args.runs} runs",
    )
    path = harness.save("cli_startup", rows, target={"wall_s": TARGET_S, "peak_rss_mb": TARGET_MB})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
