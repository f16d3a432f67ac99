"""What one input may cost: every limit in critic.limits, hit on purpose with small settings, gives
rejected rows (counted, with a reason naming the setting) or one SourceError, and the reading stays
streaming (tracemalloc peaks far below the input's inflated size)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tracemalloc
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from critic.data import import_dataset
from critic.data.aclimdb import read_aclimdb
from critic.data.tables import TableOptions, read_table
from critic.errors import ColumnError, SettingsError, SourceError, UnsafeJSON
from critic.limits import Limits
from critic.safejson import depth, loads

GOOD = "text,label\ngreat fun,pos\ndull and slow,neg\n"


def _read(path, fmt, **limits):
    return read_table(path, fmt, TableOptions(), Limits(**limits))


def _peak_mb(call) -> float:
    tracemalloc.start()
    try:
        call()
    except SourceError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def test_a_row_over_the_longest_text_is_rejected_and_the_rest_kept(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(GOOD + '"' + "x" * 500 + '",pos\nlast one,neg\n')
    rows, _ = _read(path, "csv", max_text_chars=100)
    assert rows.text == ["great fun", "dull and slow", "last one"]
    (reject,) = rows.rejects
    assert reject.line == 4 and "CRITIC_MAX_TEXT_CHARS" in reject.reason


def test_an_overlong_line_is_skipped_unread(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(GOOD + "y" * 30_000_000 + ",pos\nlast one,neg\n")  # one 30 MB line, no quotes
    peak = _peak_mb(lambda: _read(path, "csv", max_text_chars=1000))
    rows, _ = _read(path, "csv", max_text_chars=1000)
    assert rows.text == ["great fun", "dull and slow", "last one"] and len(rows.rejects) == 1
    assert "line over 67,536 characters" in rows.rejects[0].reason and peak < 10


def test_an_unclosed_quote_costs_one_row_however_many_lines_follow(tmp_path):
    """The lines an unclosed quote swallowed are read again, in order, once each (a deque: a
    list's pop(0) made this quadratic in the lines swallowed, minutes for a fuzzed file)."""
    path = tmp_path / "t.csv"
    after = [f"row {i},{('pos', 'neg')[i % 2]}" for i in range(20_000)]
    path.write_text(GOOD + '"never closed,pos\n' + "\n".join(after) + "\n")
    rows, _ = _read(path, "csv")
    assert rows.text == ["great fun", "dull and slow", *(a.split(",")[0] for a in after)]
    (reject,) = rows.rejects
    assert reject.line == 4 and "never closed" in reject.reason


def test_the_header_line_and_the_columns_have_limits(tmp_path):
    long_header = tmp_path / "h.csv"
    long_header.write_text("text," + "c" * 5000 + ",label\nfun,x,pos\n")
    with pytest.raises(SourceError, match=r"header line .* \(CRITIC_MAX_HEADER_CHARS\)"):
        _read(long_header, "csv", max_header_chars=1000)
    wide = tmp_path / "w.csv"
    wide.write_text(",".join(["text", "label", *(f"c{i}" for i in range(50))]) + "\n")
    with pytest.raises(ColumnError, match="52 columns, over 20 .CRITIC_MAX_COLUMNS"):
        _read(wide, "csv", max_columns=20)


def test_a_deeply_nested_jsonl_row_is_rejected_and_the_rest_imported(tmp_path):
    path = tmp_path / "t.jsonl"
    deep = '{"text": ' + "[" * 50_000 + "]" * 50_000 + ', "label": "pos"}'
    wide = json.dumps({"text": "wide", "label": "neg", **{f"k{i}": i for i in range(40)}})
    rows_in = [{"text": "great fun", "label": "pos"}, {"text": "dull", "label": "neg"}]
    path.write_text("\n".join([json.dumps(rows_in[0]), deep, wide, json.dumps(rows_in[1])]) + "\n")
    rows, _ = _read(path, "jsonl", max_columns=30)
    assert rows.text == ["great fun", "dull"]
    reasons = [(r.line, r.reason) for r in rows.rejects]
    assert reasons[0][0] == 2 and "more than 32 levels deep" in reasons[0][1]
    assert reasons[1][0] == 3 and "42 keys, over 30" in reasons[1][1]


def _bomb_zip(path, inner="t.csv", size=40 * 2**20):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(inner, "w") as f:
            f.write(b'text,label\n"')
            for _ in range(size // 2**20):
                f.write(b"a" * 2**20)
            f.write(b'",pos\n')
    return path


def test_a_zip_bomb_stops_before_memory_grows(tmp_path):
    bomb = _bomb_zip(tmp_path / "bomb.zip")
    with pytest.raises(SourceError, match="CRITIC_MAX_COMPRESSION_RATIO"):
        _read(bomb, "zip")
    assert _peak_mb(lambda: _read(bomb, "zip")) < 20


def test_a_zip_declaring_more_than_the_inflation_budget_is_refused_unread(tmp_path):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("train.csv", GOOD * 50)
    with pytest.raises(
        SourceError, match="inflates to more than 1,000 bytes.*CRITIC_MAX_INFLATED_BYTES"
    ):
        _read(path, "zip", max_inflated_bytes=1000)


def test_gzip_tables_are_read_and_a_gzip_bomb_is_refused(tmp_path):
    table = tmp_path / "t.csv.gz"
    table.write_bytes(gzip.compress(GOOD.encode()))
    rows, _ = import_rows(table)
    assert rows == ["great fun", "dull and slow"]
    jsonl = tmp_path / "t.jsonl.gz"
    jsonl.write_bytes(gzip.compress(b'{"text": "fine", "label": "pos"}\n'))
    assert _read(jsonl, "jsonl")[0].text == ["fine"]
    bomb = tmp_path / "b.csv.gz"
    bomb.write_bytes(gzip.compress(b'text,label\n"' + b"a" * 40 * 2**20 + b'",pos\n'))
    with pytest.raises(SourceError, match="b.csv.gz inflates at least .* times"):
        _read(bomb, "csv")
    damaged = tmp_path / "d.csv.gz"
    damaged.write_bytes(gzip.compress(GOOD.encode() * 100)[:-30])
    with pytest.raises(SourceError, match="damaged or truncated"):
        _read(damaged, "csv")


def import_rows(path):
    rows, columns = read_table(path, "csv", TableOptions())
    return rows.text, columns


def _tar(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_an_aclimdb_review_over_the_longest_text_is_rejected_unread(tmp_path):
    tarball = _tar(
        tmp_path / "a.tar.gz",
        {
            "aclImdb/train/pos/0_9.txt": b"great fun",
            "aclImdb/train/neg/1_2.txt": b"dull " * 1000,
            "aclImdb/test/pos/2_8.txt": b"fine",
        },
    )
    rows = read_aclimdb(tarball, progress=False, limits=Limits(max_text_chars=100))
    assert sorted(rows.text) == ["fine", "great fun"]
    assert (
        "5,000 bytes" in rows.rejects[0].reason
        and "CRITIC_MAX_TEXT_CHARS" in rows.rejects[0].reason
    )


def test_an_aclimdb_tarball_bomb_is_refused(tmp_path):
    tarball = _tar(tmp_path / "b.tar.gz", {"aclImdb/train/pos/0_9.txt": b"a" * 40 * 2**20})
    with pytest.raises(SourceError, match="CRITIC_MAX_COMPRESSION_RATIO"):
        read_aclimdb(tarball, progress=False)


def test_parquet_reads_only_its_columns_and_rejects_long_values(tmp_path):
    path = tmp_path / "t.parquet"
    texts = ["great fun", "x" * 500, "dull", "x" * 500]  # repeated: a dictionary-encoded value
    pq.write_table(
        pa.table({"text": texts, "label": ["pos", "neg", "neg", "neg"], "extra": [1, 2, 3, 4]}),
        path,
    )
    rows, _ = _read(path, "parquet", max_text_chars=100)
    assert rows.text == ["great fun", "dull"] and [r.line for r in rows.rejects] == [2, 4]
    assert "500 characters" in rows.rejects[0].reason
    with pytest.raises(SourceError, match="CRITIC_MAX_INFLATED_BYTES"):
        _read(path, "parquet", max_inflated_bytes=10)


def test_limits_come_from_the_environment_and_bad_values_say_which(
    monkeypatch, workspace, tmp_path
):
    monkeypatch.setenv("CRITIC_MAX_TEXT_CHARS", "10")
    path = tmp_path / "t.csv"
    path.write_text(
        GOOD.replace("dull and slow", "dull") + "a review that is longer than ten,pos\n"
    )
    saved = import_dataset("t", path, progress=False)
    assert saved.version.manifest["rejected"]["count"] == 1
    monkeypatch.setenv("CRITIC_MAX_TEXT_CHARS", "lots")
    with pytest.raises(SettingsError, match="CRITIC_MAX_TEXT_CHARS='lots' is not a number"):
        Limits.from_env()
    with pytest.raises(SettingsError, match="CRITIC_MAX_JSON_DEPTH must be a positive"):
        Limits(max_json_depth=0)


@pytest.mark.parametrize(
    "text,reason",
    [
        ("[" * 40 + "]" * 40, "more than 32 levels"),
        ('{"n": ' + "9" * 5000 + "}", "4300 digits"),
        (b'{"t": "\xff"}', "not UTF-8"),
        ('{"t": 1', "Expecting"),
    ],
)
def test_safejson_refuses_with_one_error(text, reason):
    with pytest.raises(UnsafeJSON, match=reason):
        loads(text, 32)


def test_safejson_depth_ignores_brackets_in_strings():
    assert depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert loads('{"a": "[[[[[[[[[[[["}', 2) == {"a": "[[[[[[[[[[[["}
