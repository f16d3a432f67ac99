"""Benchmark (issue 10, auth drill): does the time to refuse a wrong token depend on how many of its
characters match the right one?

    .venv/bin/python bench/auth_timing.py [--rounds 200000]

Times `critic.serve.auth.authorize` (the server's whole check once the Authorization header is read:
parse it, hash the token, compare the SHA-256 digests with hmac.compare_digest, look the digest up
to tell 401 from 403) for wrong tokens
that share 0, half, or all but the last character with the real one, and for the real one. The
candidates are interleaved in a shuffled order and each timing is the median of `rounds` calls, so
drift and the scheduler hit all of them alike. A comparison that leaked would take measurably
longer the more characters match; here the spread is reported as a share of the median.
Prints a table and saves bench/results/auth_timing.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200_000)
    args = parser.parse_args()

    from critic.catalog import DeploymentRecord
    from critic.deploy import _new_token, hash_token
    from critic.errors import ApiError
    from critic.serve.auth import authorize

    token = _new_token()
    record = DeploymentRecord(
        name="d",
        experiment="e",
        checkpoint="best",
        input_name="text",
        enabled=True,
        token_hash=hash_token(token),
        created="",
        updated="",
    )
    owners = {
        record.token_hash: "d"
    }  # token digest → deployment, as the server's registry keeps it
    half = len(token) // 2
    flip = lambda c: "A" if c != "A" else "B"  # noqa: E731 - one different character
    candidates = {
        "right token": token,
        "wrong, 0 characters match": "".join(flip(c) for c in token),
        f"wrong, first {half} match": token[:half] + "".join(flip(c) for c in token[half:]),
        "wrong, all but the last match": token[:-1] + flip(token[-1]),
    }
    headers = {k: f"Bearer {v}" for k, v in candidates.items()}
    times = {k: [] for k in candidates}
    order = list(candidates) * args.rounds
    random.Random(0).shuffle(order)
    for key in order:
        header = headers[key]
        start = time.perf_counter_ns()
        try:
            authorize(header, record, owners)
        except ApiError:
            pass
        times[key].append(time.perf_counter_ns() - start)
    rows = [
        {
            "candidate": k,
            "median_ns": statistics.median(v),
            "p90_ns": statistics.quantiles(v, n=10)[-1],
        }
        for k, v in times.items()
    ]
    wrong = [r["median_ns"] for r in rows if r["candidate"] != "right token"]
    spread = (max(wrong) - min(wrong)) / statistics.median(wrong)
    print(f"{'candidate':<32} {'median':>9} {'p90':>9}")
    for r in rows:
        print(
            f"{r['candidate']:<32} {r['median_ns'] / 1000:>7.2f} µs {r['p90_ns'] / 1000:>6.2f} µs"
        )
    print(
        f"spread of the wrong tokens' medians: {spread:.1%} of their median ({args.rounds:,} calls each)"
    )
    harness.save(
        "auth_timing", rows, benchmark="auth_timing", rounds=args.rounds, wrong_token_spread=spread
    )


if __name__ == "__main__":
    main()
