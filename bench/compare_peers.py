"""Benchmark: critic against what its users would otherwise pick, on the same IMDB split.

    .venv/bin/python bench/compare_peers.py [--dataset imdb@1] [--only NAME,NAME] [--limit N] [--seed N]
    .venv/bin/python bench/compare_peers.py --seeds-table   # every seed saved by --seed: accuracy, mean and spread
    (peers: pip install fasttext-wheel "keras>=3"; Keras runs with KERAS_BACKEND=torch)

Every contender trains on the same train subset of the same dataset version (20,000 reviews of
imdb@1), may use its validation subset (5,000), and is tested on the 25,000 test reviews. Each
runs in its own process (bench/harness.py's in_child: peak RSS per contender). The seeds' Keras
models get the very token
sequences critic's presets get (critic's fitted word encoder with the preset's settings), so the
comparison is of models and training loops, not tokenizers. A peer that cannot be imported is
reported as such. `--limit N` trains and tests on N rows each: a smoke run, saved separately.
`--seed N` (default 0) seeds critic's training and Keras's (`keras.utils.set_random_seed`); the rows
of a seed other than 0 go to the seed study of their preset, bench/results/research/<preset>_seeds.json
(keyed by device, contender and seed; see docs/research/), so one-seed differences can be told from noise.
Prints a table and saves bench/results/compare_peers.json, with each critic and Keras run's
per-epoch history; critic's run names its experiment, and the Keras Kim CNN's best weights stay in
bench/results/weights/ (not in git), for bench/research/kim_cnn_errors.py.
Goals (issue 9): critic linear the most accurate of the fast models and faster than the
scikit-learn pipeline; the critic Kim CNN at least as accurate as the Keras one in ≤ ½ its time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

RESULTS = harness.RESULTS
WEIGHTS = harness.BENCH / "results" / "weights"  # Keras's trained Kim CNNs (not in git: 19 MB each)
KERAS_MODELS = {
    "keras multi-hot-mlp": "multi-hot-mlp",
    "keras embedding-mlp": "embedding-mlp",
    "keras cnn-1d": "cnn-1d",
    "keras kim-cnn": "kim-cnn",
}
FAST = {"critic linear", "sklearn tfidf+LR", "fastText bigrams"}


def _data(dataset: str, limit: int | None):
    from critic.data import load_version

    version = load_version(dataset)
    parts = [version.subset(s, ["text", "label"]) for s in ("train", "validation", "test")]
    if limit:
        parts = [
            p.sample(n=min(limit, len(p)), random_state=0).reset_index(drop=True) for p in parts
        ]
    classes = version.classes
    labels = [p["label"].map({c: i for i, c in enumerate(classes)}).to_numpy() for p in parts]
    return version, parts, labels, classes


def run_critic(preset: str, dataset: str, limit: int | None, seed: int = 0) -> dict:
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from critic.predictor import Predictor
    from critic.train import resolve_device

    ref = dataset
    if limit:  # a smoke run trains on a small stored copy, through the same path
        ref = _small_copy(dataset, limit)
    _, (_, _, test), (_, _, y_test), _ = _data(ref, None)
    start = time.perf_counter()
    # the linear model has no train seed (liblinear's lives in its [model] table, and build_config refuses one)
    config = build_config(
        ref, preset=preset, train={"seed": seed} if seed and preset != "linear" else None
    )
    experiment = train_experiment(
        config, name=f"peers-{preset}-seed{seed}-{int(time.time())}-{os.getpid()}"
    )
    train_s = time.perf_counter() - start
    # tested on the device it trained on (the CPU here; a GPU when bench/research/peer_seeds.py runs on one)
    predictor = Predictor.from_checkpoint(
        experiment.checkpoint("best"), device=str(resolve_device(config.train.device))
    )
    start = time.perf_counter()
    probs = predictor.predict_proba(test["text"].tolist())
    return {
        "train_s": train_s,
        "predict_s": time.perf_counter() - start,
        "test_accuracy": float((probs.argmax(1) == y_test).mean()),
        "experiment": experiment.name,
        "history": _history(
            json.loads(line)
            for line in (experiment.path / "metrics.jsonl").read_text().splitlines()
        ),
    }


def _history(epochs) -> dict[str, list[float | None]]:
    """Per-epoch train and validation loss and accuracy, in one shape for critic and Keras."""
    epochs = list(epochs)
    return {
        key: [e.get(key) for e in epochs]
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
    }


def best_epoch(history: dict) -> int | None:
    """0-based index of the epoch with the lowest validation loss (the checkpoint critic and the Keras
    Kim CNN keep), or None for a run without validation."""
    losses = history.get("val_loss") or [None]
    return None if None in losses else min(range(len(losses)), key=losses.__getitem__)


def welch_cells(ours: list[float], theirs: list[float]) -> str:
    """Table cells for critic − peer, values in %: seeds, difference of means, Welch's 95 % interval
    (which does not assume the two spreads are equal) and p."""
    from scipy import stats

    test = stats.ttest_ind(ours, theirs, equal_var=False)
    low, high = test.confidence_interval(0.95)
    p = f"{test.pvalue:.2f}" if test.pvalue >= 0.01 else f"{test.pvalue:.1g}"
    return (
        f"{len(ours)} / {len(theirs)} | {sum(ours) / len(ours) - sum(theirs) / len(theirs):+.2f} points | "
        f"{low:+.2f} to {high:+.2f} | {p}"
    )


def _small_copy(dataset: str, limit: int) -> str:
    import tempfile

    from critic.data import SplitSettings, import_dataset

    _, parts, _, _ = _data(dataset, limit)
    path = Path(tempfile.mkdtemp()) / "small.csv"
    import pandas as pd

    frame = pd.concat([p.assign(subset=s) for p, s in zip(parts, ("train", "validation", "test"))])
    frame.to_csv(path, index=False)
    return import_dataset(
        "peers-smoke",
        path,
        subset_column="subset",
        split=SplitSettings(validation_fraction=0.0),
        progress=False,
    ).version.ref


def run_sklearn(dataset: str, limit: int | None) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    _, (train, _, test), (y_train, _, y_test), _ = _data(dataset, limit)
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    model = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(train["text"]), y_train)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(vectorizer.transform(test["text"]))
    return {
        "train_s": train_s,
        "predict_s": time.perf_counter() - start,
        "test_accuracy": float((predicted == y_test).mean()),
    }


def run_fasttext(dataset: str, limit: int | None) -> dict:
    import random
    import tempfile

    import fasttext

    from critic.text.words import words

    _, (train, _, test), (y_train, _, y_test), _ = _data(dataset, limit)
    start = time.perf_counter()
    path = Path(tempfile.mkdtemp()) / "train.txt"
    # fastText reads "__label__N text" lines; the text cleaned as critic cleans it (tags dropped, lowercase)
    lines = [f"__label__{y} {' '.join(words(t))}\n" for t, y in zip(train["text"], y_train)]
    random.Random(0).shuffle(
        lines
    )  # fastText reads its file in order: sorted by label, it learns only the last one
    path.write_text("".join(lines))
    model = fasttext.train_supervised(str(path), wordNgrams=2, verbose=0)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    labels, _ = model.predict([" ".join(words(t)) for t in test["text"]])
    predicted = [int(label[0].removeprefix("__label__")) for label in labels]
    return {
        "train_s": train_s,
        "predict_s": time.perf_counter() - start,
        "test_accuracy": float((predicted == y_test).mean()),
        "settings": "train_supervised(wordNgrams=2), defaults otherwise",
    }


def run_keras(preset: str, dataset: str, limit: int | None, seed: int = 0) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import numpy as np

    import keras
    from critic.presets import get_preset
    from critic.text.encoders import encoder_for

    _, (train, val, test), (y_train, y_val, y_test), classes = _data(dataset, limit)
    p = get_preset(preset)
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    encoder = encoder_for(p.encoder).fit(
        train["text"]
    )  # the same fitted encoder critic's preset uses
    dense = (lambda x: x.toarray()) if p.encoder.kind == "multi-hot" else (lambda x: x)
    x_train = dense(encoder.encode(train["text"]))
    model = _keras_model(keras, preset, p.encoder, len(classes))
    model.compile(
        optimizer=keras.optimizers.Adam(p.train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    validation = None
    if (
        preset == "kim-cnn"
    ):  # the platform's protocol: validation subset, keep the best epoch by val loss
        x_val = encoder.encode(val["text"])
        validation = (x_val, y_val)
    # the best epoch's weights stay (bench/research/kim_cnn_errors.py reads them); a smoke run's go
    # to a temporary folder
    folder = Path(os.environ.get("TMPDIR", "/tmp")) if limit else WEIGHTS
    folder.mkdir(parents=True, exist_ok=True)
    best = keras.callbacks.ModelCheckpoint(
        str(folder / f"keras-{preset}-seed{seed}.weights.h5"),
        monitor="val_loss",
        save_best_only=True,
        save_weights_only=True,
    )
    fitted = model.fit(
        x_train,
        y_train,
        batch_size=p.train.batch_size,
        epochs=p.train.epochs,
        validation_data=validation,
        callbacks=[best] if validation else [],
        verbose=0,
    ).history
    if validation:
        model.load_weights(best.filepath)
    train_s = time.perf_counter() - start
    start = time.perf_counter()  # text → ids → probabilities, as critic's Predictor is timed
    predicted = model.predict(
        dense(encoder.encode(test["text"])), batch_size=512, verbose=0
    ).argmax(1)
    names = {
        "loss": "train_loss",
        "accuracy": "train_accuracy",
        "val_loss": "val_loss",
        "val_accuracy": "val_accuracy",
    }
    return {
        "train_s": train_s,
        "predict_s": time.perf_counter() - start,
        "test_accuracy": float((predicted == np.asarray(y_test)).mean()),
        **(
            {"weights": str(Path(best.filepath).relative_to(harness.BENCH.parent))}
            if validation and not limit
            else {}
        ),
        "history": _history(
            {names[k]: float(v[i]) for k, v in fitted.items() if k in names}
            for i in range(p.train.epochs)
        ),
    }


def _keras_model(keras, preset: str, enc, n_classes: int):
    """The seeds' Keras models, with an n-class softmax output as critic's presets have."""
    L = keras.layers
    if preset == "multi-hot-mlp":  # seed 003
        inputs = keras.Input((enc.max_words,))
        x = L.Dense(50, activation="relu")(inputs)
        x = L.Dropout(0.3)(x)
        x = L.Dense(50, activation="relu")(x)
        x = L.Dropout(0.2)(x)
        x = L.Dense(50, activation="relu")(x)
    elif preset in ("embedding-mlp", "cnn-1d"):  # seed 002
        inputs = keras.Input((enc.sequence_length,), dtype="int64")
        x = L.Embedding(enc.max_words, 32)(inputs)
        if preset == "cnn-1d":
            x = L.Conv1D(32, 3, padding="same", activation="relu")(x)
            x = L.MaxPooling1D(2)(x)
        x = L.Flatten()(x)
        x = L.Dense(250, activation="relu")(x)
    else:  # seed 000, the platform's multi-channel CNN
        inputs = keras.Input((enc.sequence_length,), dtype="int64")
        e = L.Dropout(0.2)(L.Embedding(enc.max_words, 64)(inputs))
        x = L.Concatenate()(
            [L.GlobalMaxPooling1D()(L.Conv1D(256, k, activation="tanh")(e)) for k in (1, 2, 3, 5)]
        )
        x = L.Dropout(0.2)(L.Dense(128, activation="relu")(x))
    return keras.Model(inputs, L.Dense(n_classes, activation="softmax")(x))


def contenders(only: set[str] | None) -> list[str]:
    # fast ones first, each critic preset next to its Keras twin, the longest last
    names = ["critic linear", "sklearn tfidf+LR", "fastText bigrams"]
    for preset in ("multi-hot-mlp", "embedding-mlp", "cnn-1d", "kim-cnn"):
        names += [f"critic {preset}", f"keras {preset}"]
    names.append("critic stacked-lstm")
    return [n for n in names if not only or n in only]


def one(name: str, dataset: str, limit: int | None, seed: int = 0) -> dict:
    if name.startswith("critic "):
        return run_critic(name.removeprefix("critic "), dataset, limit, seed)
    if name in KERAS_MODELS:
        return run_keras(KERAS_MODELS[name], dataset, limit, seed)
    if seed:
        raise SystemExit(f"--seed applies to critic's and Keras's contenders, not {name!r}")
    return (
        run_sklearn(dataset, limit) if name == "sklearn tfidf+LR" else run_fasttext(dataset, limit)
    )


def run_contender(name: str, dataset: str, limit: int | None, seed: int = 0) -> dict:
    """One contender in a fresh interpreter: its row with its peak RSS, or an error row."""
    try:
        result = harness.in_child(
            "compare_peers:one",
            name,
            dataset,
            limit,
            seed,
            env={**os.environ, "KERAS_BACKEND": "torch"},
        )
    except harness.ChildFailed as failed:
        errors = failed.result["stderr"]
        last = (errors.strip().splitlines() or ["?"])[-1]
        kind = (
            "not installed"
            if "ModuleNotFoundError" in errors or "ImportError" in errors
            else "failed"
        )
        return {"contender": name, "error": f"{kind}: {last[:200]}"}
    result.pop("wall_s")  # the caller times the whole contender
    return {"contender": name, "seed": seed, **result}


def device_kind() -> str:
    """ "cuda" where torch sees a GPU (critic and Keras then train on it), else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# The seed studies: one file per preset, runs keyed by device ("cpu", "cuda"), contender and seed.
SEEDS_QUESTION = (
    "{preset}: critic against the same network trained by Keras, over many training seeds, on a CPU "
    "and on a GPU (docs/research/)"
)


def seeds_name(preset: str, limit: int | None = None) -> str:
    """The study's results name for harness.load / harness.write; a smoke run (--limit) saves apart."""
    return f"research/{preset.replace('-', '_')}_seeds{'-smoke' if limit else ''}"


def load_seeds(preset: str, limit: int | None = None) -> dict:
    return harness.load(seeds_name(preset, limit)) or {
        "question": SEEDS_QUESTION.format(preset=preset),
        "preset": preset,
        "runs": {},
    }


def save_seed_rows(
    preset: str, kind: str, rows: list[dict], dataset: str, limit: int | None = None
) -> None:
    """Add rows (each with its contender and seed) to the study, replacing a saved row of the same
    device, contender and seed. The file is read again first: another run may have written it."""
    data = load_seeds(preset, limit)
    data.setdefault("dataset", dataset)
    for row in rows:
        data["runs"].setdefault(kind, {}).setdefault(row["contender"], {})[str(row["seed"])] = row
    data["runs"] = {
        k: {
            c: dict(sorted(by.items(), key=lambda item: int(item[0])))
            for c, by in sorted(v.items())
        }
        for k, v in sorted(data["runs"].items())
    }
    harness.write(seeds_name(preset, limit), data)


def _preset_of(contender: str) -> str | None:
    """ "critic kim-cnn" or "keras kim-cnn" → "kim-cnn"; None for the peers without a seed."""
    kind, _, preset = contender.partition(" ")
    return preset if kind in ("critic", "keras") else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="imdb@1")
    parser.add_argument("--only", help="comma-separated contender names")
    parser.add_argument("--limit", type=int, help="smoke run: this many rows per subset")
    parser.add_argument(
        "--seed", type=int, default=0, help="training seed of critic's and Keras's contenders"
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the saved results as a Markdown table and exit",
    )
    parser.add_argument(
        "--seeds-table",
        action="store_true",
        help="print every saved seed's accuracy per contender and exit",
    )
    args = parser.parse_args()
    if args.markdown:
        _markdown(harness.load("compare_peers"))
        return
    if args.seeds_table:
        _seeds_table()
        return
    if args.seed and not args.limit:
        _run_seed(args)
        return
    name = "compare_peers_smoke" if args.limit else "compare_peers"
    ours: list[dict] = []
    for contender in contenders(set(args.only.split(",")) if args.only else None):
        start = time.perf_counter()
        ours.append(run_contender(contender, args.dataset, args.limit, args.seed))
        ours[-1]["wall_s"] = time.perf_counter() - start
        # a partial rerun replaces its contenders' rows and keeps the others, as the file is now
        # (read again here: another run may have written it meanwhile)
        rows = (
            [
                r
                for r in harness.load(name).get("rows", [])
                if r["contender"] not in args.only.split(",")
            ]
            if args.only
            else []
        )
        rows += ours
        _print(rows)
        # after every contender: a long run cut short keeps its rows
        harness.save(
            name,
            rows,
            benchmark="compare_peers",
            dataset=args.dataset,
            limit=args.limit,
            seed=args.seed,
        )


def _run_seed(args) -> None:
    """--seed N (N ≠ 0): each critic or Keras row goes to its preset's seed study, on this machine's device."""
    kind = device_kind()
    ours: list[dict] = []
    for contender in contenders(set(args.only.split(",")) if args.only else None):
        start = time.perf_counter()
        row = run_contender(contender, args.dataset, None, args.seed)
        row.update(
            wall_s=time.perf_counter() - start,
            source="compare_peers",
            date=harness.now(),
            machine=harness.machine(),
        )
        ours.append(row)
        _print(ours)
        if _preset_of(contender) and "seed" in row:  # the peers have no seed: printed, not saved
            save_seed_rows(_preset_of(contender), kind, [row], args.dataset)


def _markdown(data: dict) -> None:
    order = contenders(None)
    rows = {
        r["contender"]: r for r in sorted(data["rows"], key=lambda r: order.index(r["contender"]))
    }
    cores = data["machine"].get(
        "cores", data["machine"].get("cpus")
    )  # results saved before the harness say "cpus"
    print(f"{data['dataset']}, {cores} cores, {data.get('created', data.get('date', ''))[:10]}\n")
    print(
        "| contender | test accuracy | training | predict 25k | peak RSS | critic's training time ÷ the peer's |"
    )
    print("|---|---|---|---|---|---|")
    twins = {
        "sklearn tfidf+LR": "critic linear",
        "fastText bigrams": "critic linear",
        **{f"keras {p}": f"critic {p}" for p in KERAS_MODELS.values()},
    }
    for name, r in rows.items():
        if "error" in r:
            print(f"| {name} | {r['error']} | | | | |")
            continue
        twin = rows.get(twins.get(name, ""), {})
        ratio = f"{twin['train_s'] / r['train_s']:.2f} ({twins[name]})" if "train_s" in twin else ""
        print(
            f"| {name} | {r['test_accuracy']:.2%} | {r['train_s']:.1f} s | {r['predict_s']:.1f} s | "
            f"{r['peak_rss_mb']:,.0f} MB | {ratio} |"
        )


def saved_seeds() -> dict[str, dict[int, float]]:
    """{contender: {seed: test accuracy}} over the CPU runs this script saved in the seed studies
    (seed 0 is its own table's run, copied there when each study began)."""
    runs: dict[str, dict[int, float]] = {}
    for path in sorted((RESULTS / "research").glob("*_seeds.json")):
        for contender, by_seed in json.loads(path.read_text())["runs"].get("cpu", {}).items():
            for seed, r in by_seed.items():
                if "test_accuracy" in r and r.get("source") == "compare_peers":
                    runs.setdefault(contender, {})[int(seed)] = r["test_accuracy"]
    return runs


def _seeds_table() -> None:
    """Test accuracy per seed, for the contenders run with more than one."""
    import statistics

    runs = saved_seeds()
    print("| contender | seeds | test accuracy per seed | mean | standard deviation |")
    print("|---|---|---|---|---|")
    for name, by_seed in runs.items():
        if len(by_seed) > 1:
            values = [by_seed[s] for s in sorted(by_seed)]
            print(
                f"| {name} | {', '.join(map(str, sorted(by_seed)))} | {' / '.join(f'{v:.2%}' for v in values)} | "
                f"{statistics.mean(values):.2%} | {statistics.stdev(values) * 100:.2f} points |"
            )
    _twins_test(runs)


def _twins_test(runs: dict[str, dict[int, float]]) -> None:
    """critic's model against its Keras twin over their seeds: the difference of mean test accuracy."""
    lines = []
    for preset in KERAS_MODELS.values():
        ours, theirs = runs.get(f"critic {preset}", {}), runs.get(f"keras {preset}", {})
        if len(ours) < 2 or len(theirs) < 2:
            continue
        lines.append(
            f"| {preset} | {welch_cells([v * 100 for v in ours.values()], [v * 100 for v in theirs.values()])} |"
        )
    if lines:
        print(
            "\n| critic − Keras | seeds (critic / Keras) | difference of means | 95 % interval (Welch) | p |"
        )
        print("|---|---|---|---|---|")
        print("\n".join(lines))


def _print(rows: list[dict]) -> None:
    print(
        f"\n{'contender':<22} {'test acc':>9} {'train s':>9} {'predict s':>10} {'peak RSS':>9}  note"
    )
    times = {r["contender"]: r.get("train_s") for r in rows}
    for r in rows:
        if "error" in r:
            print(f"{r['contender']:<22} {r['error']}")
            continue
        note = ""
        if r["contender"] == "critic linear" and times.get("sklearn tfidf+LR"):
            note = f"{r['train_s'] / times['sklearn tfidf+LR']:.2f}× the scikit-learn time"
        if r["contender"] == "critic kim-cnn" and times.get("keras kim-cnn"):
            note = f"{r['train_s'] / times['keras kim-cnn']:.2f}× the Keras time"
        rss = "-" if r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:.0f} MB"
        print(
            f"{r['contender']:<22} {r['test_accuracy']:>9.2%} {r['train_s']:>9.1f} "
            f"{r['predict_s']:>10.1f} {rss:>9}  {note}"
        )


if __name__ == "__main__":
    main()
