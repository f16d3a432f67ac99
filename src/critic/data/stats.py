"""Statistics a person can look at: label balance, words per review, vocabulary, and how many
reviews fit a sequence length without truncation. Words are counted with `critic.text.words`,
the tokenization the word encoder uses, so the coverage table answers "what sequence length?"."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from critic.data.measures import WORD_LENGTHS  # noqa: E402
from critic.data.measures import save_lengths as _save_lengths  # noqa: E402
from critic.data.measures import shares_cut as _cut  # noqa: E402
from critic.data.measures import wordpiece_file as _wordpiece_file  # noqa: E402
from critic.data.split import SUBSETS  # noqa: E402
from critic.data.store import DatasetVersion, load_version  # noqa: E402
from critic.errors import SettingsError  # noqa: E402
from critic.progress import bar  # noqa: E402
from critic.text import words  # noqa: E402
from critic.workspace import Workspace  # noqa: E402

__all__ = [
    "cut_at",
    "COVERAGE_LENGTHS",
    "LengthSummary",
    "DatasetStats",
    "summarize",
    "coverage",
    "length_for_share",
    "dataset_stats",
]

COVERAGE_LENGTHS = (128, 256, 512, 650, 1000)  # 650: the platform seed's choice; 512: BERT's limit
TARGET_SHARE = 0.95


@dataclass(frozen=True)
class LengthSummary:
    count: int
    min: int
    mean: float
    std: float
    median: float
    p90: float
    p95: float
    p99: float
    max: int


def summarize(lengths: np.ndarray) -> LengthSummary:
    lengths = np.asarray(lengths)
    p = np.percentile(lengths, [50, 90, 95, 99])
    return LengthSummary(
        int(lengths.size),
        int(lengths.min()),
        float(lengths.mean()),
        float(lengths.std()),
        float(p[0]),
        float(p[1]),
        float(p[2]),
        float(p[3]),
        int(lengths.max()),
    )


def coverage(lengths: np.ndarray, at: tuple[int, ...] = COVERAGE_LENGTHS) -> dict[int, float]:
    """Share of texts with at most L words (they fit without truncation), for each L."""
    lengths = np.asarray(lengths)
    return {int(n): float((lengths <= n).mean()) for n in at}


def length_for_share(lengths: np.ndarray, share: float = TARGET_SHARE) -> int:
    """The smallest L such that at least `share` of the texts have at most L words."""
    ordered = np.sort(np.asarray(lengths))
    return int(ordered[int(np.ceil(share * ordered.size)) - 1])


@dataclass(frozen=True)
class DatasetStats:
    ref: str
    counts: dict[str, dict[str, int]]  # subset → label → rows
    lengths: dict[str, LengthSummary]  # subset (and "all") → words per text
    coverage: dict[str, dict[int, float]]  # subset (and "all") → length → share covered
    length_for_95: dict[str, int]
    vocabulary: dict[str, int]  # "train" and "all": distinct words
    plots: dict[str, str]  # name → PNG path
    path: Path  # stats.json

    def as_dict(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def dataset_stats(
    ref: str,
    *,
    lengths: tuple[int, ...] = COVERAGE_LENGTHS,
    workspace: Workspace | None = None,
    plots: bool = True,
    progress: bool = True,
) -> DatasetStats:
    """Compute the statistics of a dataset version's labelled rows, write stats.json and PNG plots
    into `<version>/stats/`, and return them."""
    version = load_version(ref, workspace)
    frame = version.frame(["text", "label", "subset"])
    frame = frame[frame["label"].notna()]
    groups = {s: (frame["subset"] == s).to_numpy() for s in SUBSETS if (frame["subset"] == s).any()}
    groups["all"] = np.ones(len(frame), dtype=bool)
    at = tuple(sorted(set(lengths)))
    if not at or at[0] < 1:
        raise SettingsError(f"coverage lengths must be positive whole numbers, got {lengths}")
    with bar(f"count words in {version.ref}", len(frame), enabled=progress) as advance:
        lengths, vocabulary, frequencies = _count_words(
            frame["text"], groups.get("train", groups["all"]), advance
        )
    counts = {
        s: {str(k): int(v) for k, v in frame[mask]["label"].value_counts().sort_index().items()}
        for s, mask in groups.items()
        if s != "all"
    }
    out = version.path / "stats"
    out.mkdir(exist_ok=True)
    _save_lengths(out / WORD_LENGTHS, frame["subset"].to_numpy(), lengths)
    stats = DatasetStats(
        version.ref,
        counts,
        {s: summarize(lengths[m]) for s, m in groups.items()},
        {s: coverage(lengths[m], at) for s, m in groups.items()},
        {s: length_for_share(lengths[m]) for s, m in groups.items()},
        vocabulary,
        _plot_all(version, lengths, at, groups, counts, frequencies, out) if plots else {},
        out / "stats.json",
    )
    stats.path.write_text(json.dumps(stats.as_dict(), indent=2) + "\n")
    return stats


def _count_words(texts, train: np.ndarray, advance) -> tuple[np.ndarray, dict[str, int], Counter]:
    """Words per text, distinct words in train and overall, and how often each train word occurs;
    one text's words in memory at a time."""
    lengths = np.empty(len(texts), dtype=np.int64)
    seen_train: Counter[str] = Counter()
    seen_all: set[str] = set()
    for i, (text, in_train) in enumerate(zip(texts, train)):
        tokens = words(text)
        lengths[i] = len(tokens)
        seen_all.update(tokens)
        if in_train:
            seen_train.update(tokens)
        if i % 1000 == 999:
            advance(1000)
    advance(len(texts) % 1000)
    return lengths, {"train": len(seen_train), "all": len(seen_all)}, seen_train


# -- plots -------------------------------------------------------------------------------------


def _plot_all(
    version: DatasetVersion,
    lengths: np.ndarray,
    at: tuple[int, ...],
    groups: dict,
    counts: dict,
    frequencies: Counter,
    out: Path,
) -> dict[str, str]:
    return {
        "vocabulary": str(_vocabulary(version.ref, frequencies, out / "vocabulary.png")),
        "length_histogram": str(_histogram(version.ref, lengths, at, out / "length_histogram.png")),
        "length_boxplot": str(_boxplot(version.ref, lengths, groups, out / "length_boxplot.png")),
        "label_balance": str(_balance(version.ref, counts, out / "label_balance.png")),
    }


def _histogram(ref: str, lengths: np.ndarray, at: tuple[int, ...], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.hist(
        lengths, bins=min(100, max(10, int(np.sqrt(lengths.size)))), color="#4C72B0", alpha=0.85
    )
    shares = coverage(lengths, at)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.2)  # headroom for the labels
    for n in (n for n in at if n <= lengths.max() * 1.1):  # a line far right would squash the bars
        ax.axvline(n, color="#888888", linestyle=":", linewidth=1)
        ax.text(
            n,
            ax.get_ylim()[1] * 0.97,
            f"{n}\n{shares[n]:.0%}",
            ha="center",
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
    n95 = length_for_share(lengths)
    ax.axvline(n95, color="#C44E52", linewidth=1.5, label=f"95 % of texts have ≤ {n95} words")
    ax.set(
        title=f"{ref}: words per text (labelled rows, n={lengths.size:,})",
        xlabel="words",
        ylabel="texts",
    )
    ax.legend(loc="center right")
    return _save(fig, path)


def _boxplot(ref: str, lengths: np.ndarray, groups: dict, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = list(groups)
    ax.boxplot([lengths[groups[n]] for n in names], showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set(title=f"{ref}: words per text by subset", ylabel="words")
    return _save(fig, path)


def _balance(ref: str, counts: dict, path: Path) -> Path:
    labels = sorted({label for c in counts.values() for label in c})
    subsets = list(counts)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels) * len(subsets)), 4.5))
    width = 0.8 / max(1, len(labels))
    for i, label in enumerate(labels):
        xs = np.arange(len(subsets)) + i * width
        bars = ax.bar(xs, [counts[s].get(label, 0) for s in subsets], width, label=label)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(np.arange(len(subsets)) + width * (len(labels) - 1) / 2, subsets)
    ax.set(title=f"{ref}: rows per subset and label", ylabel="rows")
    ax.legend(title="label", fontsize=8)
    return _save(fig, path)


VOCABULARY_MARKS = (5_000, 10_000, 20_000, 30_000)  # the word encoders' usual vocabulary sizes


def _vocabulary(ref: str, frequencies: Counter, path: Path) -> Path:
    """The share of train's running words that the K most frequent words cover, for each K: what
    a word encoder's vocabulary size keeps (the rest become the unknown word)."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    counts = np.array(sorted(frequencies.values(), reverse=True), dtype=np.int64)
    if counts.size:
        covered = np.cumsum(counts) / counts.sum()
        sizes = np.arange(1, counts.size + 1)
        ax.plot(sizes, covered, color="#4C72B0")
        ax.set_xscale("log")
        for k in (m for m in VOCABULARY_MARKS if m < counts.size):
            ax.axvline(k, color="#888888", linestyle=":", linewidth=1)
            ax.text(k, 0.02, f"{k:,}: {covered[k - 1]:.1%}", rotation=90, fontsize=8, va="bottom")
    ax.set_ylim(0, 1.02)
    ax.set(
        title=f"{ref}: vocabulary of train ({counts.size:,} distinct words)",
        xlabel="vocabulary size (most frequent words kept)",
        ylabel="share of running words covered",
    )
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


WORDPIECE_LENGTHS = (128, 256, 512)


def wordpiece_cut(
    ref: str,
    source: str,
    *,
    at: tuple[int, ...] = WORDPIECE_LENGTHS,
    workspace: Workspace | None = None,
    progress: bool = True,
) -> dict[str, dict]:
    """Per subset (and "all"): the share of texts a BERT model would cut at each sequence length,
    counting WordPiece tokens of `source`'s tokenizer plus [CLS] and [SEP] (the seed's 8 / 30 /
    74 % at 512 / 256 / 128), and the median length in tokens."""
    from critic.text.wordpiece import WordPieceEncoder, WordPieceSettings

    version = load_version(ref, workspace)
    frame = version.frame(["text", "label", "subset"])
    frame = frame[frame["label"].notna()]
    encoder = WordPieceEncoder(WordPieceSettings(source=source)).fit()
    texts = frame["text"].tolist()
    lengths = np.zeros(len(texts), dtype=np.int64)
    with bar(f"WordPiece tokens in {version.ref}", len(texts), enabled=progress) as advance:
        for start in range(0, len(texts), 4096):
            lengths[start : start + 4096] = [
                len(p) + 2 for p in encoder.pieces(texts[start : start + 4096])
            ]
            advance(len(texts[start : start + 4096]))
    (version.path / "stats").mkdir(exist_ok=True)
    _save_lengths(_wordpiece_file(version, source), frame["subset"].to_numpy(), lengths)
    groups = {s: (frame["subset"] == s).to_numpy() for s in SUBSETS if (frame["subset"] == s).any()}
    groups["all"] = np.ones(len(frame), dtype=bool)
    return {
        s: {
            "texts": int(m.sum()),
            "median": float(np.median(lengths[m])),
            "cut": {int(n): float((lengths[m] > n).mean()) for n in at},
        }
        for s, m in groups.items()
    }


# -- per-text lengths, kept so that a typed sequence length is judged at once -----------------------


def cut_at(
    ref: str, length: int, *, source: str | None = None, workspace: Workspace | None = None
) -> dict:
    """The share of labelled texts a sequence length cuts, per subset (and "all"): in words, and
    in WordPiece tokens of `source` ([CLS] and [SEP] included) when one is named. Read from the
    lengths the statistics kept (counted once, then cached beside stats.json)."""
    if not isinstance(length, int) or length < 1:
        raise SettingsError(f"the sequence length must be a positive whole number, got {length!r}")
    version = load_version(ref, workspace)
    if not (version.path / "stats" / WORD_LENGTHS).exists():
        dataset_stats(ref, workspace=workspace, plots=False, progress=False)
    out = {"length": length, "words": _cut(version.path / "stats" / WORD_LENGTHS, length)}
    if source is not None:
        if not _wordpiece_file(version, source).exists():
            wordpiece_cut(ref, source, workspace=workspace, progress=False)
        out["wordpiece"] = _cut(_wordpiece_file(version, source), length)
    return out
