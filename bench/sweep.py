"""Benchmark: a sweep of the linear model's C and n-gram range on the full IMDB (imdb@1: train
20,000 / validation 5,000 / test 25,000), 6 trials 2 at a time, against the same 6 trials one by
one; and the best trial's test accuracy.

    .venv/bin/python bench/sweep.py [--home /tmp/critic-bench-sweep] [--trials 6] [--parallel 2]
                                    [--source ../shared/data/aclImdb_v1.tar.gz]

The workspace (--home) gets imdb@1 imported once from --source (timed by bench/import_imdb.py,
not here). Each sweep runs in a child process as `critic sweep create` runs it: create_sweep
queues one job per trial, run_sweep runs the job pool K at a time until they end; every trial is
a job process of its own (interpreter start-up, imports and the data's load included, as for a
user), which asks the study for its settings, fits, and tells the study. The one-by-one sweep is
given the parallel sweep's settings, enqueued in trial order, so both do the same work; the wall
time of each is from create to the last trial's end. Linear trials have one epoch: no pruning.
The best trial (lowest validation loss) is then scored once on the test subset. Prints a table
and saves bench/results/sweep.json (with the machine's load average: other work may share it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"
DATASET = "imdb@1"
# C on a log scale around the preset's grid (0.3, 1.0); n-grams up to 1, 2 or 3 words
SPACE = {"model": {"C": {"float": [0.03, 3.0], "log": True}, "ngram_max": {"int": [1, 3]}}}


def has_dataset(ref: str) -> dict:
    from critic.data import load_version
    from critic.errors import DatasetNotFound

    try:
        return {"ref": load_version(ref).ref}
    except DatasetNotFound:
        return {"ref": None}


def one_sweep(name: str, parallel: int, trials: int, first: list[dict]) -> dict:
    """A sweep created and run to its end, as `critic sweep create` does; its trials."""
    import optuna

    from critic.experiments.store import get_experiment
    from critic.experiments.sweep import SweepSettings, create_sweep, run_sweep
    from critic.experiments.sweep_space import parse_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = SweepSettings(trials=trials, parallel=parallel)
    start = time.perf_counter()
    create_sweep(DATASET, "linear", parse_space(SPACE), settings, name=name, first=first)
    sweep = run_sweep(name, parallel, interval=0.5)
    wall = time.perf_counter() - start
    rows = []
    for t in sweep.trials:
        record = get_experiment(t.experiment).record if t.state == "complete" else None
        rows.append(
            {
                "trial": t.number,
                "experiment": t.experiment,
                "state": t.state,
                "C": t.params.get("model.C"),
                "ngram_max": t.params.get("model.ngram_max"),
                "val_loss": t.value,
                "val_accuracy": record.epochs[0]["val_accuracy"] if record else None,
                "fit_s": record.seconds if record else None,
                "trial_s": t.seconds,
            }
        )
    jobs = [j.seconds() for j in sweep.jobs]
    return {
        "name": name,
        "parallel": parallel,
        "wall_s": wall,
        "job_s_sum": sum(s for s in jobs if s is not None),
        "status": sweep.status,
        "best": sweep.best.experiment if sweep.best else None,
        "trials": rows,
    }


def test_accuracy(experiment: str) -> dict:
    from critic.evaluate import evaluate

    (scored,) = evaluate(experiment, checkpoint="best", subset="test", progress=False)
    return {"experiment": experiment, "test_accuracy": float(scored.metrics["accuracy"])}


def _child(env: dict, func: str, *args) -> dict:
    try:
        return harness.in_child(f"sweep:{func}", *args, env=env, stderr="inherit")
    except harness.ChildFailed as exc:
        raise SystemExit(str(exc)) from None


def _ensure_dataset(env: dict, source: Path) -> None:
    if _child(env, "has_dataset", DATASET)["ref"]:
        return
    print(f"importing {source} into {env['CRITIC_HOME']} (once)", flush=True)
    done = harness.run_child(
        [sys.executable, "-m", "critic.cli", "data", "import", "imdb", "--source", str(source)],
        env=env,
        stderr="inherit",
    )
    if done["rc"] != 0 or not _child(env, "has_dataset", DATASET)["ref"]:
        raise SystemExit(f"could not import {source} as {DATASET}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=Path("/tmp/critic-bench-sweep"))
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    env = {**os.environ, "CRITIC_HOME": str(args.home.resolve())}
    env.pop("CRITIC_DATABASE_URL", None)  # the workspace's SQLite catalog
    _ensure_dataset(env, args.source)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    load_before = os.getloadavg()
    together = _child(
        env, "one_sweep", f"bench-p{args.parallel}-{stamp}", args.parallel, args.trials, []
    )
    settings = [
        {"model.C": t["C"], "model.ngram_max": t["ngram_max"]}
        for t in sorted(together["trials"], key=lambda t: t["trial"])
    ]
    alone = _child(env, "one_sweep", f"bench-p1-{stamp}", 1, args.trials, settings)
    load_after = os.getloadavg()
    scored = _child(env, "test_accuracy", together["best"])
    best = next(t for t in together["trials"] if t["experiment"] == together["best"])

    harness.table(
        together["trials"],
        [
            ("trial", "trial"),
            ("state", "state"),
            ("C", "C", ".4g"),
            ("n-grams", lambda t: f"1-{t['ngram_max']}"),
            ("val loss", "val_loss", ".4f"),
            ("val acc", "val_accuracy", ".2%"),
            ("fit s", "fit_s", ".1f"),
            ("trial s", "trial_s", ".1f"),
        ],
        title=f"{args.trials} trials of the linear model on {DATASET}, {args.parallel} at a time",
    )
    rows = [
        {"run": f"{args.parallel} at a time", **together},
        {"run": "one by one", **alone},
    ]
    harness.table(
        rows,
        [
            ("run", "run"),
            ("trials", lambda r: len(r["trials"])),
            ("wall s", "wall_s", ".1f"),
            ("sum of job s", "job_s_sum", ".1f"),
            ("best", "best"),
        ],
    )
    speedup = alone["wall_s"] / together["wall_s"]
    print(
        f"speed-up {speedup:.2f}× ({args.parallel} at a time against one by one); best trial "
        f"C {best['C']:.4g}, n-grams 1-{best['ngram_max']}: val loss {best['val_loss']:.4f}, "
        f"val acc {best['val_accuracy']:.2%}, test acc {scored['test_accuracy']:.2%}"
    )
    print(f"load average (1 min) before / after: {load_before[0]:.1f} / {load_after[0]:.1f}")
    harness.save(
        "sweep",
        rows,
        benchmark="sweep",
        dataset=DATASET,
        space=SPACE,
        trials=args.trials,
        parallel=args.parallel,
        speedup=speedup,
        best={**best, "test_accuracy": scored["test_accuracy"]},
        same_best=alone["best"] is not None and alone["best"].endswith(best["experiment"][-5:]),
        load_average={"before": load_before, "after": load_after},
        workspace=str(args.home),
    )


if __name__ == "__main__":
    main()
