"""Benchmark: the long fuzz runs of issue 24: every reader and the prediction API, far past what CI
runs, with 0 unhandled errors as the target.

    .venv/bin/python bench/fuzz.py [--reader-cases 100000] [--requests 10000] [--seed N]

Runs the drills' own fuzz tests with more examples, each test in a child process (its wall time
and peak RSS from bench/harness.py):
- tests/drills/test_fuzz_readers.py: Hypothesis on the CSV, TSV, JSONL, Parquet, zip, gzipped and
  aclImdb .tar.gz readers (arbitrary bytes and mutated valid files); --reader-cases is the total
  over its tests (the default, 100,000, takes about 55 min on 2 cores);
- tests/drills/test_fuzz.py: schemathesis requests from the OpenAPI schema, each sent with the
  right token, none and a wrong one; --requests is the total (10,000: about 5 min).

CRITIC_FUZZ_EXAMPLES (examples per test) and CRITIC_FUZZ_SEED (a random seed, printed and saved:
rerun with --seed to get the same cases) are set for the children. The cases come from what each
test records (record_property("cases", n)) in a JUnit XML report; an unhandled error is a failed
test (Hypothesis reports each distinct failure once, with its input). Prints a table and saves
bench/results/fuzz.json (marked "reduced" when either total is under the issue's 100,000 / 10,000).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
READERS = "tests/drills/test_fuzz_readers.py"
API = "tests/drills/test_fuzz.py"
TARGETS = {"reader cases": 100_000, "API requests": 10_000}  # issue 24
REQUESTS_PER_EXAMPLE = 3  # the API test sends each generated request with three tokens


def property_tests(path: str) -> list[str]:
    """The node ids of the fuzz tests in `path` (the fixed regression cases left out)."""
    done = harness.run_child(
        [
            sys.executable,
            "-m",
            "pytest",
            path,
            "--collect-only",
            "-o",
            "addopts=",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        timeout=300,
    )
    ids = [line for line in done["stdout"].splitlines() if "::" in line]
    return [i for i in ids if "test_finding" not in i and "test_every_operation" not in i]


def run_test(node: str, examples: int, seed: int, timeout: float) -> dict:
    """One test in a child pytest with `examples` examples: its cases, failures, time and RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        env = {**os.environ, "CRITIC_FUZZ_EXAMPLES": str(examples), "CRITIC_FUZZ_SEED": str(seed)}
        done = harness.run_child(
            [sys.executable, "-m", "pytest", node, "-q", "-p", "no:cacheprovider",
             f"--junitxml={report}", "-o", "junit_family=xunit1"],
            env=env,
            cwd=ROOT,
            timeout=timeout,
        )  # fmt: skip
        cases = list(ET.parse(report).getroot().iter("testcase")) if report.exists() else []
    failures = [f for c in cases for f in (*c.iter("failure"), *c.iter("error"))]
    props = [{p.get("name"): p.get("value") for p in c.iter("property")} for c in cases]
    return {
        "target": _name(node),
        "examples": examples,
        "cases": sum(int(p.get("cases", 0)) for p in props),
        "unhandled": sum(_distinct(f) for f in failures) + (0 if cases else 1),
        "errors": [_first_line(f) for f in failures] or ([] if cases else [_tail(done)]),
        "peak_rss_mb": round(done["peak_rss_mb"], 1),
        "seconds": round(done["wall_s"], 1),
        "rc": done["rc"],
    }


def _name(node: str) -> str:
    """test_arbitrary_bytes[csv] → "arbitrary bytes: csv" (rich would take "[csv]" for markup)."""
    test, _, param = node.split("::", 1)[1].partition("[")
    name = test.removeprefix("test_").replace("_", " ")
    return f"{name}: {param.rstrip(']')}" if param else name


def _distinct(failure: ET.Element) -> int:
    """Hypothesis reports several distinct failures as one ExceptionGroup: count them."""
    text = (failure.get("message") or "") + (failure.text or "")
    group = re.search(r"ExceptionGroup: Hypothesis found (\d+) distinct failures", text)
    return int(group.group(1)) if group else 1


def _first_line(failure: ET.Element) -> str:
    return (failure.get("message") or (failure.text or "").strip()).splitlines()[0][:300]


def _tail(done: dict) -> str:
    lines = (done["stdout"] + done["stderr"]).strip().splitlines()
    return f"no report (exit {done['rc']}): " + (lines[-1] if lines else "")


def run_all(path: str, total: int, per_example: int, seed: int, timeout: float) -> list[dict]:
    """Every fuzz test of `path`, until their cases add up to `total`: each test gets an equal
    share of what is left; a test whose search space runs out early (a route without parameters)
    leaves its share to the others, and the busiest test runs again (another seed) while the
    total falls short."""
    tests = property_tests(path)
    rows: list[dict] = []
    for i, node in enumerate(tests):
        left = max(0, total - sum(r["cases"] for r in rows))
        rows.append(_run(node, math.ceil(left / ((len(tests) - i) * per_example)), seed, timeout))
    for extra in range(1, 4):
        left = total - sum(r["cases"] for r in rows)
        if left <= 0:
            break
        busiest = max(rows, key=lambda r: r["cases"] / r["examples"])
        rows.append(_run(busiest["node"], math.ceil(left / per_example), seed + extra, timeout))
    return rows


def _run(node: str, examples: int, seed: int, timeout: float) -> dict:
    examples = max(1, examples)
    print(f"{node}: {examples:,} examples, seed {seed} ...", file=sys.stderr, flush=True)
    return {"node": node, **run_test(node, examples, seed, timeout), "seed": seed}


def commit() -> str:
    """The commit under test ('+dirty' when src/ or tests/ hold changes nobody committed)."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout  # noqa: E731
    dirty = git("status", "--porcelain", "src", "tests").strip()
    return git("rev-parse", "--short", "HEAD").strip() + ("+dirty" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reader-cases", type=int, default=TARGETS["reader cases"])
    parser.add_argument("--requests", type=int, default=TARGETS["API requests"])
    parser.add_argument("--seed", type=int, default=random.randrange(2**31))
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per test")
    args = parser.parse_args()
    started = commit()
    print(f"seed {args.seed}, commit {started}", file=sys.stderr)
    readers = run_all(READERS, args.reader_cases, 1, args.seed, args.timeout)
    api = run_all(API, args.requests, REQUESTS_PER_EXAMPLE, args.seed, args.timeout)
    for row in readers:
        row["kind"] = "reader"
    for row in api:
        row["kind"] = "API"
    rows = readers + api
    totals = {
        "reader cases": sum(r["cases"] for r in readers),
        "API requests": sum(r["cases"] for r in api),
        "unhandled": sum(r["unhandled"] for r in rows),
    }
    reduced = any(totals[k] < v for k, v in TARGETS.items())
    total_row = {
        "target": "total" + (" (reduced run)" if reduced else ""),
        "cases": totals["reader cases"] + totals["API requests"],
        "unhandled": totals["unhandled"],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rows),
        "seconds": round(sum(r["seconds"] for r in rows), 1),
    }
    harness.table(
        rows + [total_row],
        [
            "target",
            ("cases", "cases", ","),
            ("unhandled errors", "unhandled"),
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
            ("seconds", "seconds", ",.1f"),
        ],
        title=f"fuzzing (seed {args.seed}): {totals['reader cases']:,} reader cases, "
        f"{totals['API requests']:,} API requests" + (" — REDUCED" if reduced else ""),
    )
    for row in rows:
        for error in row["errors"]:
            print(f"UNHANDLED in {row['target']}: {error}")
    harness.save(
        "fuzz",
        rows,
        benchmark="fuzz",
        reduced=reduced,
        targets=TARGETS,
        totals=totals,
        seed=args.seed,
        commit={"start": started, "end": commit()},
        requested={"reader_cases": args.reader_cases, "requests": args.requests},
    )
    sys.exit(1 if totals["unhandled"] else 0)


if __name__ == "__main__":
    main()
