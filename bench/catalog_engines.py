"""Benchmark: the catalog on PostgreSQL against SQLite, on the full IMDB: the import, a real
training run's bookkeeping, and the bookkeeping alone, with the time spent inside the catalog.

    .venv/bin/python bench/catalog_engines.py [--source ../shared/data/aclImdb_v1.tar.gz]
        [--runs 2] [--postgres postgresql://…/postgres]

Each step runs in a fresh interpreter (harness.in_child) against a fresh workspace and a fresh
catalog: the workspace's SQLite file, or a new database on a PostgreSQL server (a throwaway
cluster on 127.0.0.1, tests/services.py, unless --postgres names a server whose superuser may
create databases). The child times every `Catalog` method it calls (wrapped around the class),
so the table says where a difference goes:
- import: `critic data import imdb` (the 50,000 labelled reviews + 50,000 unlabelled), whole;
- train: the linear preset on imdb@1 (one catalog row, its status, its evaluation);
- bookkeeping: 100 experiments written as a training run writes them (add, 10 epochs, status,
  one evaluation) and the list read back, without any training: the catalog's own cost.
Prints a table and saves bench/results/catalog_engines.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"


# --- in the child ---------------------------------------------------------------------------------


def _timed_catalog() -> dict[str, list[float]]:
    """Wrap every public Catalog method (and its transactions) with a timer; the calls' seconds
    by method name. The methods are wrapped once per child, before anything opens a catalog."""
    import functools

    from critic.catalog import Catalog

    calls: dict[str, list[float]] = {}
    for name in [n for n in vars(Catalog) if not n.startswith("_") or n == "__init__"]:
        method = getattr(Catalog, name)
        if not callable(method) or isinstance(vars(Catalog)[name], (staticmethod, property)):
            continue

        def wrap(method=method, name=name):
            @functools.wraps(method)
            def timed(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return method(*args, **kwargs)
                finally:
                    calls.setdefault(name, []).append(time.perf_counter() - started)

            return timed

        if name != "transaction":  # a context manager: timed below by its body's statements
            setattr(Catalog, name, wrap())
    return calls


def _summary(calls: dict[str, list[float]], wall: float) -> dict:
    return {
        "seconds": round(wall, 3),
        "catalog_s": round(sum(sum(v) for v in calls.values()), 4),
        "catalog_calls": sum(len(v) for v in calls.values()),
    }


def import_step(source: str) -> dict:
    from critic.data import import_dataset

    calls = _timed_catalog()
    started = time.perf_counter()
    import_dataset("imdb", source, progress=False)
    return _summary(calls, time.perf_counter() - started)


def train_step() -> dict:
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    calls = _timed_catalog()
    started = time.perf_counter()
    train_experiment(build_config("imdb@1", preset="linear"), name="lin")
    return _summary(calls, time.perf_counter() - started)


def bookkeeping_step(experiments: int = 100, epochs: int = 10) -> dict:
    from critic.catalog import ExperimentRecord, open_catalog
    from critic.workspace import Workspace

    calls = _timed_catalog()
    workspace = Workspace.from_env().ensure()
    started = time.perf_counter()
    catalog = open_catalog(workspace)
    for i in range(experiments):
        name = f"book-{i}"
        catalog.add_experiment(
            ExperimentRecord(
                name,
                "imdb@1",
                "kim-cnn.v1",
                "running",
                "t",
                "t",
                0,
                None,
                0.0,
                None,
                f"experiments/{name}",
                {"seed": i},
            )  # fmt: skip
        )
        for epoch in range(1, epochs + 1):
            metrics = {"train_loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.8, "seconds": 1.0}
            catalog.record_epoch(name, epoch, metrics, epoch, float(epoch), "t")
        catalog.set_experiment_status(name, "done", "t")
        catalog.record_evaluation(name, "best", "test", epochs, "t", {"accuracy": 0.8}, "p", "i@1")
    listed = len(open_catalog(workspace).experiments())
    wall = time.perf_counter() - started
    per_op = [s for name, v in calls.items() if name != "experiments" for s in v]
    return {
        **_summary(calls, wall),
        "experiments_listed": listed,
        "write_ms_median": round(1000 * statistics.median(per_op), 3),
        "list_ms": round(1000 * sum(calls.get("experiments", [0.0])), 1),
    }


# --- the parent -----------------------------------------------------------------------------------


def run(source: str, runs: int, postgres: str | None) -> list[dict]:
    from tests.services import create_database, drop_database, throwaway_postgres

    rows = []
    with ExitStack() as stack:
        admin = postgres or stack.enter_context(throwaway_postgres())
        for run_index in range(runs):
            for engine in ("sqlite", "postgresql"):
                home = stack.enter_context(tempfile.TemporaryDirectory(prefix="critic-bench-cat-"))
                env = {**os.environ, "CRITIC_HOME": home, "PYTHONPATH": str(ROOT)}
                env.pop("CRITIC_DATABASE_URL", None)
                url = None
                if engine == "postgresql":
                    url = create_database(admin, prefix="critic_bench")
                    env["CRITIC_DATABASE_URL"] = url
                for step, args in (
                    ("import", ("catalog_engines:import_step", source)),
                    ("train linear", ("catalog_engines:train_step",)),
                    ("bookkeeping ×100", ("catalog_engines:bookkeeping_step",)),
                ):
                    result = harness.in_child(*args, env=env, timeout=1800)
                    rows.append({"engine": engine, "step": step, "run": run_index + 1, **result})
                    print(f"{engine:10} {step:18} {result['seconds']:8.2f} s", file=sys.stderr)
                if url:
                    drop_database(admin, url)
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    out = []
    for step in dict.fromkeys(r["step"] for r in rows):
        for engine in ("sqlite", "postgresql"):
            these = [r for r in rows if r["step"] == step and r["engine"] == engine]
            out.append(
                {
                    "step": step,
                    "engine": engine,
                    "runs": len(these),
                    "seconds_median": statistics.median(r["seconds"] for r in these),
                    "catalog_s_median": statistics.median(r["catalog_s"] for r in these),
                    "catalog_calls": these[0]["catalog_calls"],
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(DEFAULT_SOURCE))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--postgres", help="a PostgreSQL superuser URL (default: a throwaway)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    rows = run(args.source, args.runs, args.postgres)
    summary = summarize(rows)
    harness.table(
        summary,
        [
            "step",
            "engine",
            "runs",
            ("wall s", "seconds_median", ".2f"),
            ("in the catalog s", "catalog_s_median", ".3f"),
            ("catalog calls", "catalog_calls", "d"),
        ],
        title="the catalog on SQLite and on PostgreSQL (medians)",
    )
    print(harness.save("catalog_engines", rows, summary=summary))


if __name__ == "__main__":
    main()
