"""What the statistics keep beside a dataset version (critic.data.stats writes them), read here
without computing anything, so that a page shows them at once:

    <version>/stats/stats.json                         the numbers (DatasetStats.as_dict)
    <version>/stats/<plot>.png                         the pictures (PLOTS)
    <version>/stats/word_lengths.parquet               subset, length: words per labelled text
    <version>/stats/wordpiece_lengths-<key>.parquet    the same in WordPiece tokens of one tokenizer

A typed sequence length is judged from the kept lengths (`kept_cut`): one small Parquet read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from critic.data.split import SUBSETS
from critic.data.store import DatasetVersion

__all__ = [
    "STATS_DIR",
    "WORD_LENGTHS",
    "PLOTS",
    "stats_folder",
    "read_stats",
    "plot_file",
    "wordpiece_file",
    "save_lengths",
    "shares_cut",
    "kept_cut",
]

STATS_DIR, STATS_FILE = "stats", "stats.json"
# beside stats.json: subset, length (one row per labelled text)
WORD_LENGTHS = "word_lengths.parquet"
PLOTS = ("length_histogram", "label_balance", "vocabulary", "length_boxplot")


def stats_folder(version: DatasetVersion) -> Path:
    return version.path / STATS_DIR


def read_stats(version: DatasetVersion) -> dict | None:
    """The version's stats.json as written by `dataset_stats`, or None before it was computed."""
    path = stats_folder(version) / STATS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None  # not computed yet, or being written


def plot_file(version: DatasetVersion, name: str) -> Path | None:
    """The PNG of the plot `name` (one of PLOTS), None when it is not there."""
    if name not in PLOTS:
        return None
    path = stats_folder(version) / f"{name}.png"
    return path if path.is_file() else None


def wordpiece_file(version: DatasetVersion, source: str) -> Path:
    """Where the WordPiece lengths of `source`'s tokenizer are kept (a source may be a path: its
    name is hashed, not spelled)."""
    key = hashlib.sha256(source.encode()).hexdigest()[:12]
    return stats_folder(version) / f"wordpiece_lengths-{key}.parquet"


def save_lengths(path: Path, subsets: np.ndarray, lengths: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {"subset": pa.array(subsets, pa.string()), "length": pa.array(lengths, pa.int32())}
    )
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)  # a reader never sees half a file


def shares_cut(path: Path, length: int) -> dict[str, float]:
    """Per subset present (and "all"): the share of the kept lengths above `length`."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    subsets, lengths = (
        table.column("subset").to_numpy(zero_copy_only=False),
        table.column("length").to_numpy(),
    )
    groups = {s: subsets == s for s in SUBSETS if (subsets == s).any()}
    groups["all"] = np.ones(len(lengths), dtype=bool)
    return {s: float((lengths[m] > length).mean()) if m.any() else 0.0 for s, m in groups.items()}


def kept_cut(version: DatasetVersion, length: int, source: str | None = None) -> dict:
    """{"length", "words": shares cut | None, "wordpiece": shares cut | None}: None where those
    lengths were not counted yet (`critic data stats [--tokenizer SOURCE]` counts them)."""
    words = stats_folder(version) / WORD_LENGTHS
    pieces = wordpiece_file(version, source) if source else None
    return {
        "length": length,
        "words": shares_cut(words, length) if words.is_file() else None,
        "wordpiece": shares_cut(pieces, length) if pieces and pieces.is_file() else None,
    }
