"""critic.data.preview: the first rows of each table format, read with the importer's readers,
and the columns the importer would take (or a guess from the values when no name is obvious);
critic.data.measures: the kept lengths judged without computing."""

from __future__ import annotations

import bz2
import gzip
import json
import zipfile

import pandas as pd
import pytest

from critic.data import import_dataset, load_version
from critic.data.measures import kept_cut, plot_file, read_stats
from critic.data.preview import CELL_CHARS, preview_table
from critic.data.stats import dataset_stats
from critic.errors import SourceError

CSV = 'id,review,sentiment\n1,"Great, really great",pos\n2,"Bad, so bad",neg\n3,"Fine, fine",pos\n'


def test_csv_with_quoted_commas_and_the_importers_guess(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(CSV)
    p = preview_table(path)
    assert p.format == "csv" and p.columns == ["id", "review", "sentiment"]
    assert p.rows[0] == ["1", "Great, really great", "pos"]
    assert (p.text, p.label, p.subset) == ("review", "sentiment", None)
    assert p.guessed == {"text": "name", "label": "name"}


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".bz2", bz2.open)])
def test_compressed_tables(tmp_path, suffix, opener):
    path = tmp_path / f"r.csv{suffix}"
    with opener(path, "wt") as f:
        f.write(CSV)
    assert preview_table(path).rows[1][1] == "Bad, so bad"


def test_no_obvious_names_the_values_decide(tmp_path):
    path = tmp_path / "r.tsv"
    rows = [("a", "a long text about a film", "x", "train")] * 3 + [
        ("b", "another long text here", "y", "test")
    ] * 3
    path.write_text("k\tbody_\tyy\tpart\n" + "".join("\t".join(r) + "\n" for r in rows))
    p = preview_table(path)
    assert p.text == "body_" and p.guessed["text"] == "values"
    assert p.label in ("k", "yy") and p.guessed["label"] == "values"
    assert p.subset == "part"


def test_jsonl_parquet_and_zip(tmp_path):
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text(
        "\n".join(json.dumps({"text": f"t{i}", "label": i % 2, "x": [1]}) for i in range(30))
        + "\nnot json\n"
    )
    p = preview_table(jsonl)
    assert p.columns == ["text", "label", "x"] and len(p.rows) == 20 and p.rows[1][1] == "1"
    parquet = tmp_path / "r.parquet"
    pd.DataFrame({"sentence": ["a" * 1000, "b"], "class": ["x", "y"]}).to_parquet(parquet)
    p = preview_table(parquet)
    assert (p.text, p.label) == ("sentence", "class")
    assert len(p.rows[0][0]) == CELL_CHARS + 1 and p.rows[0][0].endswith("…")
    archive = tmp_path / "r.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("__MACOSX/._train.csv", "junk")
        z.writestr("data/train.csv", CSV)
    p = preview_table(archive)
    assert p.source == "r.zip:data/train.csv" and p.format == "csv" and len(p.rows) == 3


def test_unreadable_rows_are_listed_and_bad_files_refused(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(CSV + "4,too,many,fields\n")
    assert preview_table(path).problems[0][0] == 5
    with pytest.raises(SourceError):
        preview_table(tmp_path / "r.txt")
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(SourceError):
        preview_table(empty)


def test_kept_lengths_are_read_without_computing(workspace, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text,label\n" + "".join(f'"{"w " * n}",{n % 2}\n' for n in range(1, 11)))
    import_dataset("k", path, workspace=workspace, progress=False)
    v = load_version("k")
    assert read_stats(v) is None and kept_cut(v, 5) == {
        "length": 5,
        "words": None,
        "wordpiece": None,
    }
    dataset_stats("k", progress=False)
    assert read_stats(v)["vocabulary"]["all"] == 1
    assert kept_cut(v, 5)["words"]["all"] == 0.5  # 6..10 words are cut at 5
    assert kept_cut(v, 5, "some/tokenizer")["wordpiece"] is None
    assert plot_file(v, "vocabulary") and plot_file(v, "../manifest") is None


def test_a_zip_of_a_version_python_cannot_read_is_refused_in_words(tmp_path):
    # the long fuzz run's finding (tests/drills/findings): zipfile raises NotImplementedError
    from pathlib import Path

    from critic.errors import SourceError

    found = Path(__file__).parents[1] / "drills" / "findings" / "zip-version-12.7.zip"
    path = tmp_path / "reviews.zip"
    path.write_bytes(found.read_bytes())
    with pytest.raises(SourceError, match="zip file version 12.7"):
        preview_table(path)
