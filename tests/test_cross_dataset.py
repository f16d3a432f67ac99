"""The README's cross-dataset check, test-sized: a three-class CSV made from an aclImdb tarball by
docs/examples/rating_bands.py, then bench/cross_dataset.py's k-fold run through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import tar_folder, write_aclimdb

ROOT = Path(__file__).resolve().parents[1]
WORDS = {
    1: "awful dreadful",
    2: "terrible boring",
    3: "bad weak",
    4: "uneven mixed",
    7: "decent mixed",
    8: "good fun",
    9: "great superb",
    10: "wonderful masterpiece",
}


def test_rating_bands_through_k_fold_cross_validation(tmp_path, workspace):
    reviews = [
        (
            subset,
            "neg" if rating < 5 else "pos",
            i * 100 + rating,
            rating,
            f"review {i} of a film: {WORDS[rating]} {WORDS[rating].split()[0]} overall, {i % 5} times.",
        )
        for i in range(4)
        for rating in WORDS
        for subset in ("train", "test")
    ]
    tarball = tar_folder(write_aclimdb(tmp_path / "src", reviews), tmp_path / "aclImdb_v1.tar.gz")
    csv = tmp_path / "bands.csv"

    def run(*args) -> str:
        env = {**os.environ, "CRITIC_HOME": str(workspace.root)}
        return subprocess.run(
            [sys.executable, *map(str, args)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
        ).stdout

    assert "wrote 45 rows (15 per band: bad, great, middling)" in run(
        ROOT / "docs/examples/rating_bands.py", tarball, csv, "--per-class", "15"
    )
    table = pd.read_csv(csv)
    assert list(table.columns) == ["review", "band"] and table["band"].value_counts().to_dict() == {
        "bad": 15,
        "great": 15,
        "middling": 15,
    }
    out = run(
        ROOT / "bench/cross_dataset.py",
        csv,
        "--text",
        "review",
        "--label",
        "band",
        "--folds",
        "3",
        "--presets",
        "linear",
        "--name",
        "bands",
        "--results",
        tmp_path / "results",
    )
    lines = out.strip().splitlines()
    assert lines[0].split() == ["fold", "linear"] and [line.split()[0] for line in lines[1:4]] == [
        "1",
        "2",
        "3",
    ]
    saved = json.loads((tmp_path / "results" / "cross_dataset-bands.json").read_text())
    assert [r["linear"]["n"] for r in saved["rows"]] == [
        15,
        15,
        15,
    ]  # each fold tests on its third, stratified
    assert saved["summary"]["linear"]["mean"] >= 0.8  # the bands' words tell them apart
    assert lines[-1].startswith("mean") and f"{saved['summary']['linear']['mean']:.2%}" in lines[-1]
