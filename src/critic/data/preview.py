"""A look at a table before it is imported: its first rows and columns, read with the importer's
own readers (critic.data.tables, under the same limits), and the columns the importer would take
for the text and the label, so that a person can check them or choose others.

    preview_table(path) → Preview(format, source, columns, rows, problems, text, label, subset, ...)

Only the first rows are read: a big file costs what its first lines cost. The guess is the
importer's own (an obvious column name: text/review/..., label/sentiment/...); when no name is
obvious, the values decide (the longest texts; the fewest distinct values), and `guessed` says so."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from critic.data.inflate import Budget, Guarded, decompressed
from critic.data.rows import is_unsafe_member
from critic.data.tables import (
    DAMAGED,
    LABEL_NAMES,
    TEXT_NAMES,
    TooLong,
    Unreadable,
    _check_columns,
    _delimited_records,
    _field_limit,
    _is_table_member,
    _jsonl_records,
    _values,
    format_of,
    normalize_subset,
)
from critic.errors import SourceError
from critic.limits import Limits

__all__ = ["Preview", "preview_table", "PREVIEW_ROWS", "CELL_CHARS"]

PREVIEW_ROWS = 20  # rows shown
CELL_CHARS = 300  # characters of a cell shown; the rest is cut with "…"
_RECORDS = 200  # records read at most while looking for PREVIEW_ROWS readable rows


@dataclass(frozen=True)
class Preview:
    format: str  # csv, tsv, jsonl, parquet (a zip's first table member gives its own)
    source: str  # the file, or ARCHIVE:MEMBER, the rows come from
    columns: list[str]
    rows: list[list[str]]  # the first readable rows, one cell per column, cut to CELL_CHARS
    problems: list[tuple[int | None, str]]  # (line, why) of the first rows that cannot be read
    text: str | None  # the columns the importer would take, or a guess from the values
    label: str | None
    subset: str | None  # a column whose values are all train/validation/test names
    guessed: dict[str, str] = field(default_factory=dict)  # role → "name" or "values"


def preview_table(
    path: Path,
    fmt: str | None = None,
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    rows: int = PREVIEW_ROWS,
    limits: Limits | None = None,
) -> Preview:
    """The first `rows` rows of the table at `path` (format from its name unless `fmt`)."""
    path, limits = Path(path), limits or Limits.from_env()
    fmt = fmt or format_of(path.name)
    if fmt is None:
        raise SourceError(
            f"cannot tell the format of {path.name}: name a .csv, .tsv, .jsonl, .parquet or .zip file "
            "(each of the first three may be .gz, .bz2 or .xz)"
        )
    try:
        with (
            _field_limit(limits.max_text_chars),
            _opened(path, fmt, limits) as (stream, source, fmt),
        ):
            columns, found, problems = _first_rows(
                stream, source, fmt, encoding, delimiter, rows, limits
            )
    except DAMAGED as exc:
        raise SourceError(
            f"cannot read {path.name}: the data is damaged or truncated ({exc})"
        ) from None
    return _guess(fmt, source, columns, found, problems)


@contextmanager
def _opened(path: Path, fmt: str, limits: Limits) -> Iterator[tuple]:
    """(a binary stream of the table, its name, its format); a zip's first table member."""
    if fmt != "zip":
        with open(path, "rb") as raw:
            yield (
                (
                    raw
                    if fmt == "parquet"
                    else decompressed(raw, Budget(path.name, limits), path.name)
                ),
                path.name,
                fmt,
            )
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:  # a zip version > 6.3
        raise SourceError(f"cannot open {path.name} as a .zip archive ({exc})") from None
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not is_unsafe_member(m.filename) and _is_table_member(m)
        ]
        if not members:
            raise SourceError(f"{path.name} holds no CSV, TSV, JSONL or Parquet file")
        member, budget = members[0], Budget(path.name, limits)
        source, member_fmt = f"{path.name}:{member.filename}", format_of(member.filename)
        budget.spend(0, member.file_size, member.compress_size, source)
        with archive.open(member) as f:
            stream = io.BufferedReader(Guarded(f, budget, lambda: member.compress_size, source))
            if member_fmt == "parquet":  # Parquet reads its footer first: spooled to disk
                with tempfile.TemporaryFile() as spool:
                    shutil.copyfileobj(stream, spool, 2**20)
                    spool.seek(0)
                    yield spool, source, member_fmt
            else:
                yield decompressed(stream, budget, source), source, member_fmt


def _first_rows(stream, source, fmt, encoding, delimiter, wanted, limits) -> tuple:
    if fmt == "parquet":
        return _parquet_rows(stream, source, wanted, limits)
    if fmt in ("csv", "tsv"):
        sep = delimiter or ("," if fmt == "csv" else "\t")
        if len(sep) != 1:
            raise SourceError(f"the delimiter must be one character, got {sep!r}")
        records = _delimited_records(stream, source, sep, encoding, limits)
    elif fmt == "jsonl":
        records = _jsonl_records(stream, source, encoding, limits)
    else:
        raise SourceError(f"cannot preview the format {fmt!r}; use csv, tsv, jsonl, parquet or zip")
    header = next(records)
    columns = list(header) if header else []
    found, problems = [], []
    for count, (line, values) in enumerate(records):
        if len(found) >= wanted or count >= _RECORDS:
            break
        if isinstance(values, str):
            problems.append((line, f"the row {values}"))
            continue
        if header is None:  # JSONL: the columns are the keys, in the order first seen
            columns += [k for k in values if k not in columns][
                : max(0, limits.max_columns - len(columns))
            ]
        found.append(values)
    return columns, [[_shown(v.get(c)) for c in columns] for v in found], problems


def _parquet_rows(stream, source: str, wanted: int, limits: Limits) -> tuple:
    try:
        parquet = pq.ParquetFile(stream)
        names = parquet.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for a damaged or non-Parquet file
        raise SourceError(f"cannot read {source} as Parquet ({exc})") from exc
    _check_columns(len(names), source, limits)
    meta = parquet.metadata
    if meta.num_row_groups == 0:
        return names, [], []
    group = meta.row_group(0)  # only the first row group is read: its size is judged first
    inflated = sum(group.column(i).total_uncompressed_size for i in range(group.num_columns))
    compressed = max(
        sum(group.column(i).total_compressed_size for i in range(group.num_columns)), 1
    )
    Budget(source, limits).spend(inflated, inflated, compressed, f"the first rows of {source}")
    try:
        batch = next(parquet.iter_batches(batch_size=wanted, row_groups=[0]), None)
    except Exception as exc:
        raise SourceError(f"cannot read {source} as Parquet ({exc})") from exc
    if batch is None:
        return names, [], []
    values = {n: _values(batch.column(n), limits.max_text_chars) for n in names}
    return names, [[_shown(values[n][i]) for n in names] for i in range(batch.num_rows)], []


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, TooLong):
        return f"(a text of {value.chars:,} characters)"
    if isinstance(value, Unreadable):
        return f"(a {value.type} value)"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + "…"


def _guess(fmt: str, source: str, columns: list[str], rows: list[list[str]], problems) -> Preview:
    guessed: dict[str, str] = {}
    text = _by_name(columns, TEXT_NAMES)
    guessed["text"] = "name" if text else "values"
    text = text or _longest(columns, rows)
    label = _by_name([c for c in columns if c != text], LABEL_NAMES)
    guessed["label"] = "name" if label else "values"
    label = label or _fewest_values(columns, rows, exclude={text})
    subset = next(
        (
            c
            for i, c in enumerate(columns)
            if c not in (text, label) and rows and all(normalize_subset(r[i]) for r in rows)
        ),
        None,
    )
    if text is None:
        guessed.pop("text")
    if label is None:
        guessed.pop("label")
    return Preview(fmt, source, columns, rows, problems, text, label, subset, guessed)


def _by_name(columns: list[str], obvious: tuple[str, ...]) -> str | None:
    """The importer's pick: the first obvious name present, in any case."""
    by_lower = {c.lower(): c for c in columns}
    return next((by_lower[n] for n in obvious if n in by_lower), None)


def _longest(columns: list[str], rows: list[list[str]]) -> str | None:
    if not rows:
        return None
    mean = [sum(len(r[i]) for r in rows) / len(rows) for i in range(len(columns))]
    best = max(range(len(columns)), key=lambda i: mean[i], default=None)
    return columns[best] if best is not None and mean[best] > 0 else None


def _fewest_values(columns: list[str], rows: list[list[str]], exclude: set) -> str | None:
    """The column with the fewest distinct values, at least two and fewer than the rows."""
    best, fewest = None, None
    for i, c in enumerate(columns):
        distinct = len({r[i] for r in rows if r[i] != ""})
        if c in exclude or distinct < 2 or distinct >= len(rows):
            continue
        if fewest is None or distinct < fewest:
            best, fewest = c, distinct
    return best
