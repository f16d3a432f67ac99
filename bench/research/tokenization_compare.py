"""How critic's word counts compare with the Keras tutorials' (docs/research/tokenization.md).

    .venv/bin/python bench/research/tokenization_compare.py [--dataset imdb]

Counts words per labelled review and distinct words (train subset, all labelled rows) three ways:
critic.text.words; the Keras `Tokenizer` defaults (lowercase, its filter characters → spaces,
split on spaces; `<br />` becomes the word `br`); plain whitespace split. Saves
bench/results/research/tokenization_compare.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from critic.data import load_version
from critic.data.stats import length_for_share
from critic.text import words

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared harness
import harness  # noqa: E402

KERAS_FILTERS = (
    '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # keras.preprocessing.text.Tokenizer's default
)
_KERAS_TABLE = str.maketrans({c: " " for c in KERAS_FILTERS})
WAYS = {
    "critic.text.words": words,
    "keras Tokenizer defaults": lambda t: t.lower().translate(_KERAS_TABLE).split(),
    "whitespace split": str.split,
}


def measure(texts, train, tokenize) -> dict:
    lengths, seen_train, seen_all = [], set(), set()
    for text, in_train in zip(texts, train):
        tokens = tokenize(text)
        lengths.append(len(tokens))
        seen_all.update(tokens)
        if in_train:
            seen_train.update(tokens)
    lengths = np.array(lengths)
    return {
        "mean": float(lengths.mean()),
        "std": float(lengths.std()),
        "median": float(np.median(lengths)),
        "length_for_95": length_for_share(lengths),
        "coverage_650": float((lengths <= 650).mean()),
        "vocabulary_train": len(seen_train),
        "vocabulary_all": len(seen_all),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="imdb")
    args = parser.parse_args()
    version = load_version(args.dataset)
    frame = version.frame(["text", "label", "subset"])
    frame = frame[frame["label"].notna()]
    train = (frame["subset"] == "train").to_numpy()
    rows = {name: measure(frame["text"], train, fn) for name, fn in WAYS.items()}
    print(f"{version.ref}: {len(frame):,} labelled texts, {int(train.sum()):,} in train")
    print(
        f"{'tokenization':<26} {'mean':>7} {'std':>7} {'median':>7} {'95 % at':>8} {'≤ 650':>7} "
        f"{'vocab train':>12} {'vocab all':>10}"
    )
    for name, r in rows.items():
        print(
            f"{name:<26} {r['mean']:>7.1f} {r['std']:>7.1f} {r['median']:>7.0f} {r['length_for_95']:>8} "
            f"{r['coverage_650']:>7.1%} {r['vocabulary_train']:>12,} {r['vocabulary_all']:>10,}"
        )
    out = harness.save(
        "research/tokenization_compare",
        [{"tokenization": name, **r} for name, r in rows.items()],
        benchmark="tokenization_compare",
        dataset=version.ref,
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
