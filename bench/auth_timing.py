"""Benchmark (issue 10, auth drill): does the time to refuse a wrong token depend on how many of its
characters match the right one?

    .venv/bin/python bench/auth_timing.py [--rounds 200000]

Times `Registry.authorize` (the server's whole check: read the header, hash the token, compare the
SHA-256 digests with hmac.compare_digest, look the digest up to tell 401 from 403) for wrong tokens
that share 0, half, or all but the last character with the real one, and for the real one. The
candidates are interleaved in a shuffled order and each timing is the median of `rounds` calls, so
drift and the scheduler hit all of them alike. A comparison that leaked would take measurably
longer the more characters match; here the spread is reported as a share of the median.
Prints a table and saves bench/results/auth_timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "auth_timing.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200_000)
    args = parser.parse_args()

    from starlette.requests import Request

    from critic.catalog import DeploymentRecord
    from critic.deploy import _new_token, hash_token
    from critic.server import ApiError, Registry, ServeSettings
    from critic.workspace import Workspace

    token = _new_token()
    record = DeploymentRecord(name="d", experiment="e", checkpoint="best", input_name="text", enabled=True,
                              token_hash=hash_token(token), created="", updated="")
    with tempfile.TemporaryDirectory() as home:
        registry = Registry(Workspace.at(home), ServeSettings())
    registry.owners = {record.token_hash: "d"}
    half = len(token) // 2
    flip = lambda c: "A" if c != "A" else "B"  # noqa: E731 - one different character
    candidates = {
        "right token": token,
        "wrong, 0 characters match": "".join(flip(c) for c in token),
        f"wrong, first {half} match": token[:half] + "".join(flip(c) for c in token[half:]),
        f"wrong, all but the last match": token[:-1] + flip(token[-1]),
    }
    requests = {k: Request({"type": "http", "headers": [(b"authorization", f"Bearer {v}".encode())]})
                for k, v in candidates.items()}
    times = {k: [] for k in candidates}
    order = list(candidates) * args.rounds
    random.Random(0).shuffle(order)
    for key in order:
        request = requests[key]
        start = time.perf_counter_ns()
        try:
            registry.authorize(request, record)
        except ApiError:
            pass
        times[key].append(time.perf_counter_ns() - start)
    rows = [{"candidate": k, "median_ns": statistics.median(v), "p90_ns": statistics.quantiles(v, n=10)[-1]}
            for k, v in times.items()]
    wrong = [r["median_ns"] for r in rows if r["candidate"] != "right token"]
    spread = (max(wrong) - min(wrong)) / statistics.median(wrong)
    print(f"{'candidate':<32} {'median':>9} {'p90':>9}")
    for r in rows:
        print(f"{r['candidate']:<32} {r['median_ns'] / 1000:>7.2f} µs {r['p90_ns'] / 1000:>6.2f} µs")
    print(f"spread of the wrong tokens' medians: {spread:.1%} of their median ({args.rounds:,} calls each)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "auth_timing", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                   "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                                   "rounds": args.rounds, "rows": rows, "wrong_token_spread": spread}, indent=2) + "\n")


if __name__ == "__main__":
    main()
