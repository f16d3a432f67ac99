"""Benchmark: the `ensemble` preset (linear + MiniLM, weights fitted on validation) on IMDB
(issue 28: ≥ 92.5 % test accuracy, ≤ 60 min of training on 2 cores, mean over 3 seeds).

    CRITIC_HOME=<a workspace with imdb@1> .venv/bin/python bench/ensemble.py
        [--seeds 0,1,2] [--adopt SEED=EXPERIMENT ...] [--dataset imdb@1]
        [--members linear,minilm] [--save ensemble]

For each seed, in a child process (its peak RSS): `critic train --preset ensemble --seed SEED`,
which trains the linear model and MiniLM (minilm.v2, that seed) as experiments of their own and
fits the combiner on the validation subset. `--adopt 0=memory-minilm-20335` uses a MiniLM run
already trained with the same preset and seed (bench/memory.py's) instead of training it again;
its own training time is then added to the ensemble's. `--members linear,kim-cnn` trains other
member presets (an adopted run stands in for the member of its preset); `--save NAME` writes
bench/results/NAME.json instead, so another combination does not mix with the preset's rows.

Then the 25,000 test reviews through each member's best checkpoint (probabilities cached in the
workspace, harness.probs_cache: bench/export.py's PyTorch run leaves them too) and the ensemble: its weights applied to
the members' probabilities, which is what `Predictor` computes for it (asserted on a sample
here, and exactly in tests/experiments/test_ensemble.py). The test subset is read after
training, never before: the weights are chosen on validation.
Prints a table and saves bench/results/ensemble.json after each seed, keeping the rows of seeds
not measured this time (each row says its own command), so seeds can be run in separate sittings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

SAMPLE = 64  # test reviews the ensemble's own Predictor predicts, checked against the combination


def train(dataset: str, seed: int, members: list[str], adopt: list[str], name: str) -> dict:
    """In a child: the ensemble preset with `seed` and these member presets; each of `adopt`
    (finished runs) used as it is, in place of the member of its preset."""
    from dataclasses import replace

    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from critic.experiments.store import get_experiment
    from critic.models.ensemble import EnsembleSettings

    config = build_config(dataset, preset="ensemble", train={"seed": seed})
    taken = {_kind(get_experiment(a).record.config.get("preset")) for a in adopt}
    kept = tuple(m for m in members if _kind(m) not in taken)
    config = replace(config, model=EnsembleSettings(members=kept, adopt=tuple(adopt)))
    start = time.perf_counter()
    experiment = train_experiment(config, name=name)
    manifest = json.loads((experiment.checkpoint("best") / "manifest.json").read_text())
    return {
        "train_s": time.perf_counter() - start,
        "val_accuracy": manifest["metrics"]["val_accuracy"],
        "members": manifest["members"],
    }


def _kind(preset: str | None) -> str:
    """minilm.v2 → minilm; None (a custom model) → custom."""
    return (preset or "custom").split(".v")[0]


def member_probs(checkpoint: str, dataset: str, out: str) -> dict:
    """In a child: (N, K) test probabilities of one member's checkpoint, saved to `out`."""
    import numpy as np

    from critic.data import load_version
    from critic.predictor import Predictor, predict_in_chunks

    predictor = Predictor.from_checkpoint(Path(checkpoint))
    test = load_version(dataset).subset("test", ["text"])
    start = time.perf_counter()
    probs = predict_in_chunks(predictor, test["text"].tolist(), f"test: {Path(checkpoint)}")
    np.save(out, probs)
    return {"predict_s": time.perf_counter() - start}


def check_sample(checkpoint: str, dataset: str, combined: list) -> dict:
    """In a child: the ensemble's own Predictor on the first SAMPLE test reviews; the largest
    difference from the combination computed from the cached member probabilities."""
    import numpy as np

    from critic.data import load_version
    from critic.predictor import Predictor

    predictor = Predictor.from_checkpoint(Path(checkpoint))
    texts = load_version(dataset).subset("test", ["text"])["text"].tolist()[:SAMPLE]
    return {"max_diff": float(np.abs(predictor.predict_proba(texts) - np.array(combined)).max())}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--adopt", action="append", default=[], help="SEED=EXPERIMENT")
    parser.add_argument("--dataset", default="imdb@1")
    parser.add_argument("--members", default=None, help="member presets (default: the preset's)")
    parser.add_argument("--save", default="ensemble", help="bench/results/SAVE.json")
    args = parser.parse_args()

    import numpy as np
    from safetensors.numpy import load_file

    from critic.data import load_version
    from critic.experiments.store import get_experiment
    from critic.models.ensemble import combine
    from critic.presets import get_preset

    adopted: dict[str, list[str]] = {}
    for a in args.adopt:
        seed, experiment = a.split("=", 1)
        adopted.setdefault(seed, []).append(experiment)
    members = (
        args.members.split(",") if args.members else list(get_preset("ensemble").model.members)
    )
    version = load_version(args.dataset)
    test = version.subset("test", ["label"])
    truth = test["label"].map({c: i for i, c in enumerate(version.classes)}).to_numpy()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = [r for r in harness.load(args.save).get("rows", []) if r["seed"] not in seeds]
    for seed in seeds:
        name = f"bench-ensemble-s{seed}-{int(time.time())}"
        adopt = adopted.get(str(seed), [])
        trained = harness.in_child(
            "ensemble:train", args.dataset, seed, members, adopt, name, stderr="inherit"
        )
        extra = sum(get_experiment(a).record.seconds for a in adopt)  # its epochs' seconds
        checkpoint = get_experiment(name).checkpoint("best")
        probs, accuracy = [], {}
        for member in trained["members"]:
            out = harness.probs_cache(member["experiment"])
            if not out.exists():
                folder = get_experiment(member["experiment"]).checkpoint("best")
                harness.in_child(
                    "ensemble:member_probs", str(folder), args.dataset, str(out), stderr="inherit"
                )
            probs.append(np.load(out))
            accuracy[_kind(member["preset"])] = float((probs[-1].argmax(1) == truth).mean())
        tensors = load_file(str(checkpoint / "model.safetensors"))
        combined = combine(np.stack(probs), tensors["weights"], tensors["biases"])
        sample = harness.in_child(
            "ensemble:check_sample", str(checkpoint), args.dataset, combined[:SAMPLE].tolist()
        )
        rows.append(
            {
                "seed": seed,
                "experiment": name,
                "adopted": adopt,
                "members": [_kind(m["preset"]) for m in trained["members"]],
                "train_min": (trained["train_s"] + extra) / 60,
                "peak_rss_mb": trained["peak_rss_mb"],
                "val_accuracy": trained["val_accuracy"],
                **{f"{kind}_test": a for kind, a in accuracy.items()},
                "test_accuracy": float((combined.argmax(1) == truth).mean()),
                "weights": {m["experiment"]: m["weight"] for m in trained["members"]},
                "predictor_max_diff": sample["max_diff"],
                "command": " ".join(sys.argv),
                "created": harness.now(),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        _save(args.save, rows)
    _show(rows)


def _save(name: str, rows: list[dict]) -> None:
    rows.sort(key=lambda r: r["seed"])
    mean = statistics.mean(r["test_accuracy"] for r in rows)
    harness.save(name, rows, benchmark="ensemble", mean_test_accuracy=mean, target=0.925)


def _show(rows: list[dict]) -> None:
    kinds = dict.fromkeys(k[: -len("_test")] for r in rows for k in r if k.endswith("_test"))
    harness.table(
        rows,
        [
            ("seed", "seed"),
            ("train min", "train_min", ".1f"),
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
            *((kind, f"{kind}_test", ".2%") for kind in kinds),
            ("ensemble val", "val_accuracy", ".2%"),
            ("ensemble test", "test_accuracy", ".2%"),
        ],
        title="ensemble preset on IMDB (test accuracy)",
    )
    accuracies = [r["test_accuracy"] for r in rows]
    mean = statistics.mean(accuracies)
    print(f"mean test accuracy over {len(rows)} seed(s): {mean:.2%} (target ≥ 92.50 %)")


if __name__ == "__main__":
    main()
