"""The reliability and security drills (issue 10) as one table: drill, cases tried, passed, lost.

    .venv/bin/python bench/drills.py

Runs every test marked `@pytest.mark.drill(NAME)` (tests/drills/ and the drills that live beside the
code they test) with a JUnit XML report, and tallies it by drill. A test counts as many cases as
it records (`record_property("cases", n)`: corpus files, fuzzed requests, kills, names), else one;
"passed" counts the cases of passing tests; "lost" sums what tests record as lost (rows, versions,
requests), which any failure would show. The load drill comes from bench/results/serve.json
(bench/serve.py): 10,000 requests at concurrency 64, errors and memory after warm-up; the hostile
files drill from bench/results/hostile_inputs.json (bench/hostile_inputs.py, its "after" run): zip
and gzip bombs, a 50,000-deep JSONL row, a 10 MB header and 100,000 columns, each imported in a
child process; the long fuzz runs from bench/results/fuzz.json (bench/fuzz.py: reader cases and API
requests far past what the suite runs). Prints a markdown table and saves bench/results/drills.json.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run_drills() -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "drills.xml"
        done = harness.run_child(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-m",
                "drill",
                f"--junitxml={report}",
                "-o",
                "junit_family=xunit1",
                "-p",
                "no:cacheprovider",
            ],
            cwd=ROOT,
            stderr="inherit",
        )
        print(done["stdout"], end="")  # pytest's own summary
        return [_case(t) for t in ET.parse(report).getroot().iter("testcase")], done["wall_s"]


def _case(testcase: ET.Element) -> dict:
    props = {p.get("name"): p.get("value") for p in testcase.iter("property")}
    failed = any(testcase.find(tag) is not None for tag in ("failure", "error"))
    skipped = testcase.find("skipped") is not None
    return {
        "test": f"{testcase.get('classname')}::{testcase.get('name')}",
        "drill": props.get("drill", "?"),
        "cases": int(props.get("cases", 1)),
        "lost": int(props.get("lost", 0)),
        "statuses": ast.literal_eval(props["statuses"]) if "statuses" in props else None,
        "outcome": "failed" if failed else "skipped" if skipped else "passed",
    }


def tally(tests: list[dict]) -> list[dict]:
    rows: dict[str, dict] = {}
    for t in tests:
        row = rows.setdefault(
            t["drill"],
            {
                "drill": t["drill"],
                "tests": 0,
                "cases": 0,
                "passed": 0,
                "lost": 0,
                "failed_tests": [],
            },
        )
        row["tests"] += 1
        row["cases"] += t["cases"]
        row["passed"] += t["cases"] if t["outcome"] == "passed" else 0
        row["lost"] += t["lost"]
        if t["outcome"] != "passed":
            row["failed_tests"].append(t["test"])
    return list(rows.values())


def load_row() -> dict | None:
    data = harness.load("serve")
    if not data:
        return None
    run = next((r for r in data["rows"] if r["model"] == "linear" and r["concurrency"] == 64), None)
    if run is None or "rss_after_warmup_mb" not in run:
        return None
    flat = run["rss_after_mb"] <= run["rss_after_warmup_mb"] * 1.10
    return {
        "drill": "load (bench/serve.py)",
        "tests": 1,
        "cases": run["requests"],
        "passed": run["requests"] - run["errors"] if flat else 0,
        "lost": run["errors"],
        "failed_tests": [],
        "note": f"{run['errors']} errors; RSS {run['rss_after_warmup_mb']:.0f} MB after warm-up → "
        f"{run['rss_after_mb']:.0f} MB after ({data.get('created', data.get('date', ''))[:10]})",
    }


def hostile_row() -> dict | None:
    run = harness.load("hostile_inputs").get("runs", {}).get("after")
    if not run:
        return None
    rows = run["rows"]
    plain = ("zip-400mb-field", "tar-gz-1gb", "csv-gz-1gb")
    bombs = [r for r in rows if r["case"].split(",")[0] in plain]
    refused = sum(r["outcome"] == "refused" for r in bombs if r["case"] in plain)
    imported = [r for r in rows if r["outcome"] == "imported"]
    return {
        "drill": "hostile files (bench/hostile_inputs.py)",
        "tests": 1,
        "cases": len(rows),
        "passed": sum(r["met"] for r in rows),
        "lost": sum(20 - (r["accepted"] or 0) for r in imported),  # 20 good rows in each file
        "failed_tests": [f"hostile_inputs: {r['case']}" for r in rows if not r["met"]],
        "note": f"{refused} of {len(plain)} bombs refused, peak RSS ≤ "
        f"{max(r['peak_rss_mb'] for r in bombs):.0f} MB ({run['created'][:10]})",
    }


def fuzz_row() -> dict | None:
    data = harness.load("fuzz")
    if not data:
        return None
    totals = data["totals"]
    cases = totals["reader cases"] + totals["API requests"]
    return {
        "drill": "long fuzz runs (bench/fuzz.py" + (", reduced)" if data["reduced"] else ")"),
        "tests": len(data["rows"]),
        "cases": cases,
        "passed": cases if not totals["unhandled"] else 0,
        "lost": totals["unhandled"],
        "failed_tests": [f"fuzz: {r['target']}" for r in data["rows"] if r["unhandled"]],
        "note": f"{totals['reader cases']:,} reader cases, {totals['API requests']:,} API requests, "
        f"{totals['unhandled']} unhandled errors ({data['created'][:10]})",
    }


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    tests, seconds = run_drills()
    rows = tally(tests)
    for extra in (load_row(), hostile_row(), fuzz_row()):
        if extra is not None:
            rows.append(extra)
    print("\n| drill | tests | cases tried | passed | lost |\n|---|---|---|---|---|")
    for r in rows:
        note = f" ({r['note']})" if r.get("note") else ""
        print(
            f"| {r['drill']}{note} | {r['tests']} | {r['cases']:,} | {r['passed']:,} | {r['lost']} |"
        )
    for r in rows:
        for name in r["failed_tests"]:
            print(f"FAILED in {r['drill']}: {name}")
    harness.save("drills", rows, benchmark="drills", seconds=seconds, tests=tests)
    sys.exit(1 if any(r["failed_tests"] for r in rows) else 0)


if __name__ == "__main__":
    main()
