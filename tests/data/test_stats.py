import json

import numpy as np
import pytest

from critic.data import SplitSettings, import_dataset
from critic.data.stats import coverage, dataset_stats, length_for_share, summarize
from critic.errors import SettingsError


def test_summary_and_coverage_on_known_lengths():
    lengths = np.arange(1, 101)  # 1..100 words
    s = summarize(lengths)
    assert (s.min, s.max, s.mean, s.median) == (1, 100, 50.5, 50.5)
    assert s.p90 == pytest.approx(90.1) and s.p95 == pytest.approx(95.05)
    assert coverage(lengths, at=(10, 50, 100, 128)) == {10: 0.1, 50: 0.5, 100: 1.0, 128: 1.0}
    assert length_for_share(lengths, 0.95) == 95
    assert length_for_share(np.array([5, 1, 3]), 0.95) == 5


def test_dataset_stats_exact_numbers_and_plots(workspace, tmp_path):
    path = tmp_path / "tiny.csv"
    # words: 2, 4, 1 (tags and punctuation are not words), 3, 5, 6
    path.write_text(
        "text,label\n"
        "Good film,pos\n"
        '"Bad, bad, bad film",neg\n'
        "Wow!<br /><br />...,pos\n"
        "it's not good,neg\n"
        "a b c d e,pos\n"
        "one two three four five six,neg\n"
    )
    import_dataset("tiny", path, split=SplitSettings(validation_fraction=0.0), progress=False)
    stats = dataset_stats("tiny")
    assert stats.counts == {"train": {"neg": 3, "pos": 3}}
    s = stats.lengths["train"]
    assert (s.count, s.min, s.max, s.median) == (6, 1, 6, 3.5)
    assert s.mean == pytest.approx(21 / 6)
    assert stats.coverage["train"][128] == 1.0 and stats.length_for_95["train"] == 6
    # vocabulary: good film bad wow it's not a b c d e one two three four five six
    assert stats.vocabulary == {"train": 17, "all": 17}
    for png in stats.plots.values():
        assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(stats.path.read_text())
    assert saved["vocabulary"] == {"train": 17, "all": 17} and saved["length_for_95"]["all"] == 6


def test_vocabulary_counts_train_only(workspace, tmp_path):
    path = tmp_path / "parts.csv"
    path.write_text(
        "text,label,part\nalpha beta,x,train\nbeta gamma,y,train\ndelta alpha,x,test\nepsilon,y,test\n"
    )
    import_dataset(
        "p",
        path,
        subset_column="part",
        split=SplitSettings(validation_fraction=0.0),
        progress=False,
    )
    stats = dataset_stats("p", plots=False)
    assert stats.vocabulary == {"train": 3, "all": 5}  # delta and epsilon are only in test
    assert stats.counts == {"train": {"x": 1, "y": 1}, "test": {"x": 1, "y": 1}}
    assert set(stats.lengths) == {"train", "test", "all"} and stats.lengths["test"].mean == 1.5


def test_a_typed_sequence_length_is_judged_from_the_kept_lengths(workspace, tmp_path, tiny_bert):
    from critic.data.stats import WORD_LENGTHS, cut_at

    path = tmp_path / "tiny.csv"
    # words: 2, 4, 1, 3, 5, 6
    path.write_text(
        'text,label\nGood film,pos\n"Bad, bad, bad film",neg\nWow!,pos\nit\'s not good,neg\n'
        "a b c d e,pos\none two three four five six,neg\n"
    )
    import_dataset("tiny", path, split=SplitSettings(validation_fraction=0.0), progress=False)
    cut = cut_at("tiny", 3)  # counted on first use, then read from stats/
    assert cut == {"length": 3, "words": {"train": 0.5, "all": 0.5}}
    version_stats = workspace.root / "datasets" / "tiny" / "v1" / "stats"
    assert (version_stats / WORD_LENGTHS).exists()
    assert cut_at("tiny", 6)["words"]["all"] == 0.0 and cut_at("tiny", 1)["words"]["all"] == 5 / 6
    pieces = cut_at("tiny", 4, source=tiny_bert)["wordpiece"]  # [CLS] + pieces + [SEP]
    assert set(pieces) == {"train", "all"} and 0.5 <= pieces["all"] <= 1.0
    with pytest.raises(SettingsError, match="positive whole number"):
        cut_at("tiny", 0)
