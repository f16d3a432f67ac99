import json
import zipfile

import pandas as pd
import pytest

from critic.data import SplitSettings, import_dataset
from critic.errors import ColumnError, SourceError

NO_VAL = SplitSettings(validation_fraction=0.0)


def _import(path, **kw):
    kw.setdefault("split", NO_VAL)
    return import_dataset("t", path, progress=False, **kw)


def _frame(saved):
    return saved.version.frame()


def test_csv_rfc4180_quoted_commas_newlines_and_doubled_quotes(workspace, tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(
        b"review,sentiment\r\n"
        b'"Good, really good",positive\r\n'
        b'"Two\nlines, and ""quotes""",negative\r\n'
        b"plain,positive\r\n"
    )
    frame = _frame(_import(path))
    assert frame["text"].tolist() == ["Good, really good", 'Two\nlines, and "quotes"', "plain"]
    assert frame["label"].tolist() == ["positive", "negative", "positive"]
    assert frame["origin"].tolist() == ["reviews.csv:2", "reviews.csv:3", "reviews.csv:5"]


def test_utf8_bom_is_not_part_of_the_first_column(workspace, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\nhéllo wörld,a\nbye,b\n".encode("utf-8"))
    saved = _import(path)
    assert saved.version.manifest["columns"]["text"] == "text"
    assert _frame(saved)["text"].tolist() == ["héllo wörld", "bye"]


def test_latin1_needs_encoding_and_then_reads(workspace, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncafé crème,a\nplain ascii,b\n".encode("latin-1"))
    saved = _import(path)  # as UTF-8: the row with é is rejected, the other imported
    assert saved.version.manifest["rejected"]["count"] == 1
    assert "--encoding" in next(iter(saved.version.manifest["rejected"]["by_reason"]))
    again = import_dataset("t2", path, encoding="latin-1", split=NO_VAL, progress=False)
    assert _frame(again)["text"].tolist() == ["café crème", "plain ascii"]
    assert again.version.manifest["rejected"]["count"] == 0


def test_broken_rows_are_rejected_with_line_numbers_and_the_rest_imported(workspace, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "text,label\n"
        "good one,pos\n"
        "too,many,fields\n"  # line 3
        ",neg\n"  # line 4: empty text
        "no label,\n"  # line 5
        "fine again,neg\n"
    )
    saved = _import(path)
    m = saved.version.manifest
    assert m["rows"]["total"] == 2 and m["rejected"]["count"] == 3
    rejects = pd.read_csv(saved.version.path / "rejects.csv")
    assert rejects["line"].tolist() == [3, 4, 5]
    assert (
        "3 fields" in rejects["reason"][0]
        and "empty" in rejects["reason"][1]
        and "missing" in rejects["reason"][2]
    )
    assert (
        m["rows"]["total"] + m["rejected"]["count"] == 5
    )  # nothing lost: every data row accounted for


def test_empty_file_and_header_only_are_clear_errors(workspace, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SourceError, match="empty"):
        _import(empty)
    header = tmp_path / "header.csv"
    header.write_text("text,label\n")
    with pytest.raises(SourceError, match="no data rows"):
        _import(header)


def test_wrong_column_names_list_the_columns(workspace, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("comment,stars\nnice,5\n")
    with pytest.raises(ColumnError, match=r"\['comment', 'stars'\]") as info:
        _import(path)
    assert "--text" in str(info.value)
    with pytest.raises(ColumnError, match="no column 'body'"):
        _import(path, text="body", label="stars")
    saved = _import(path, text="comment", label="stars")
    assert saved.version.manifest["columns"] == {
        "text": "comment",
        "label": "stars",
        "subset": None,
    }
    assert saved.version.manifest["label_type"] == "int"


def test_integer_labels_sort_numerically(workspace, tmp_path):
    path = tmp_path / "stars.csv"
    path.write_text("text,label\n" + "".join(f"review {i},{i % 11}\n" for i in range(30)))
    assert _import(path).version.manifest["classes"] == [str(i) for i in range(11)]


def test_tsv(workspace, tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("text\tlabel\nhas, commas\ta\nsecond\tb\n")
    assert _frame(_import(path))["text"].tolist() == ["has, commas", "second"]


def test_jsonl_with_a_broken_line(workspace, tmp_path):
    path = tmp_path / "x.jsonl"
    lines = [
        json.dumps({"text": "one", "label": "a"}),
        "{broken",
        json.dumps({"text": "two", "label": 1}),
        "[1, 2]",
    ]
    path.write_text("\n".join(lines) + "\n")
    saved = _import(path)
    assert _frame(saved)["label"].tolist() == ["a", "1"]
    rejects = pd.read_csv(saved.version.path / "rejects.csv")
    assert rejects["line"].tolist() == [2, 4]


def test_parquet_and_label_values(workspace, tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"review": ["a", "b", None, "d"], "sentiment": [1, 0, 1, None]}).to_parquet(path)
    saved = _import(path)
    assert _frame(saved)["text"].tolist() == ["a", "b"]
    assert saved.version.manifest["rejected"]["count"] == 2


def test_subset_column(workspace, tmp_path):
    path = tmp_path / "split.csv"
    path.write_text(
        "text,label,part\n"
        + "".join(
            f"r{i},{'ab'[i % 2]},{['train', 'dev', 'test', 'train'][i % 4]}\n" for i in range(12)
        )
        + "bad,a,holdout\n"
    )
    saved = import_dataset("s", path, subset_column="part", progress=False)
    frame = _frame(saved)
    assert frame["subset"].tolist()[:4] == ["train", "validation", "test", "train"]
    assert saved.version.manifest["split"]["from_source"] == ["test", "validation"]
    assert saved.version.manifest["rejected"]["count"] == 1  # "holdout" is not a subset


def test_test_fraction_when_asked(workspace, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text,label\n" + "".join(f"r{i},{'ab'[i % 2]}\n" for i in range(100)))
    frame = _frame(import_dataset("x", path, split=SplitSettings(0.2, 0.1, seed=1), progress=False))
    counts = frame["subset"].value_counts().to_dict()
    assert counts == {"train": 72, "validation": 18, "test": 10}
    assert (frame[frame["subset"] == "test"]["label"].value_counts() == 5).all()


def test_zip_of_tables_with_subsets_from_member_names(workspace, tmp_path):
    path = tmp_path / "imdb.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "data/train.csv",
            "review,sentiment\n" + "".join(f"t{i},{'pn'[i % 2]}\n" for i in range(10)),
        )
        z.writestr("data/test.csv", "review,sentiment\nx,p\ny,n\n")
        z.writestr("__MACOSX/data/._train.csv", "junk")
        z.writestr("notes.txt", "ignored")
    saved = import_dataset("z", path, progress=False)
    counts = saved.version.manifest["rows"]["by_subset"]
    assert counts == {
        "train": {"n": 4, "p": 4},
        "validation": {"n": 1, "p": 1},
        "test": {"n": 1, "p": 1},
    }
    assert _frame(saved)["origin"].iloc[0] == "imdb.zip:data/train.csv:2"


def test_missing_file_and_unknown_format(workspace, tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        _import(tmp_path / "nope.csv")
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(SourceError, match="--format"):
        _import(odd)


def test_labels_differing_only_by_case_are_flagged(workspace, tmp_path):
    path = tmp_path / "case.csv"
    path.write_text("text,label\na,Positive\nb,positive\nc, negative \n")
    saved = _import(path)
    assert saved.version.manifest["classes"] == [
        "Positive",
        "negative",
        "positive",
    ]  # whitespace stripped
    assert any("differ only by case" in w for w in saved.warnings)


def test_duplicate_columns_are_a_clear_error(workspace, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("text,label,text\na,b,c\n")
    with pytest.raises(ColumnError, match="duplicate"):
        _import(path)


def test_semicolon_file_gets_a_delimiter_hint_and_reads_with_it(workspace, tmp_path):
    path = tmp_path / "euro.csv"
    path.write_text('text;label\n"a, b";x\nc;y\n')
    with pytest.raises(ColumnError, match="--delimiter ';'"):
        _import(path)
    assert _frame(_import(path, delimiter=";"))["text"].tolist() == ["a, b", "c"]


def test_rejects_are_indexed_and_sliced_like_a_list():
    from critic.data.rows import Reject, Rejects

    rejects = Rejects(Reject("a.csv", i + 1, f"reason {i}", f"row {i}") for i in range(5))
    assert [r.line for r in rejects[:3]] == [1, 2, 3] and rejects[-1].line == 5
    assert [r.line for r in rejects[1::2]] == [2, 4] and rejects[10:] == []
