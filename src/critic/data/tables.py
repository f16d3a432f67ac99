"""Tables: CSV (RFC 4180), TSV, JSONL, Parquet, and a .zip holding any of these.

Every data row is accepted or rejected on its own, with the line it starts on and the reason, so a
bad row never costs the good ones and never disappears silently."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow.parquet as pq

from critic.data.rows import UNSAFE_MEMBER, Rows, is_unsafe_member
from critic.errors import ColumnError, SourceError

__all__ = ["TableOptions", "Columns", "TABLE_FORMATS", "format_of", "read_table"]

TABLE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".zip": "zip",
}
TEXT_NAMES = ("text", "review", "sentence", "content", "document", "body")
LABEL_NAMES = ("label", "sentiment", "class", "category", "target")
csv.field_size_limit(2**31 - 1)  # a single review may be megabytes long; the csv default is 128 KiB


@dataclass(frozen=True)
class TableOptions:
    text: str | None = None  # column names; None = find an obvious one
    label: str | None = None
    subset_column: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None  # CSV/TSV field separator; None = "," for CSV, tab for TSV


@dataclass(frozen=True)
class Columns:
    """The columns a table was read with, recorded in the manifest."""

    text: str
    label: str
    subset: str | None


def format_of(name: str) -> str | None:
    return TABLE_FORMATS.get(PurePosixPath(name.lower()).suffix)


def read_table(path: Path, fmt: str, options: TableOptions) -> tuple[Rows, Columns]:
    path = Path(path)
    if fmt == "zip":
        return _read_zip(path, options)
    with open(path, "rb") as f:
        return _read_one(f, path.name, fmt, options)


def _read_one(stream, source: str, fmt: str, options: TableOptions) -> tuple[Rows, Columns]:
    if fmt in ("csv", "tsv"):
        delimiter = options.delimiter or ("," if fmt == "csv" else "\t")
        if len(delimiter) != 1:
            raise SourceError(f"--delimiter must be one character, got {delimiter!r}")
        records = _delimited_records(stream, source, delimiter, options.encoding)
    elif fmt == "jsonl":
        records = _jsonl_records(stream, source, options.encoding)
    elif fmt == "parquet":
        records = _parquet_records(stream, source)
    else:
        raise SourceError(f"unknown table format {fmt!r}; use one of csv, tsv, jsonl, parquet, zip")
    return _collect(records, source, options)


def _text_encoding(encoding: str) -> str:
    """utf-8 reads with or without a byte-order mark; an unknown name is a clear error."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise SourceError(f"unknown --encoding {encoding!r}; try utf-8, latin-1 or cp1252") from exc
    return "utf-8-sig" if name == "utf-8" else name


# -- record readers: each yields its header (None: learn it from the first row), then
#    (line, {column: value}) or (line, why the row cannot be read) ------------------------------------


def _delimited_records(stream, source: str, delimiter: str, encoding: str) -> Iterator:
    text = io.TextIOWrapper(
        stream, encoding=_text_encoding(encoding), errors="surrogateescape", newline=""
    )
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    first = _next_record(reader, lines)
    if first is None or not isinstance(first[1], list):
        raise SourceError(
            f"{source} is empty or has no readable header: a table needs a header row (e.g. text,label) and data rows"
        )
    header = [_cell(h) for h in first[1]]
    yield header
    while (record := _next_record(reader, lines)) is not None:
        line, values = record
        if isinstance(values, str):
            yield line, values
        elif values == []:
            continue  # a blank line between rows is not a row
        elif len(values) < len(header) and lines.spanned > 1:
            # an unbalanced quote swallowed the lines after it: reject its first line, read the rest again
            yield line, "has an opening quote that is never closed"
            lines.replay_after_first()
        elif len(values) != len(header):
            yield (
                line,
                f"has {len(values)} fields, the header has {len(header)} (a stray delimiter or quote?)",
            )
        elif [_cell(v) for v in values] == header:
            yield line, "repeats the header (two files joined into one?)"
        else:
            yield line, dict(zip(header, values))


def _cell(value: str) -> str:
    """A header cell as a name: spaces and a byte-order mark (a joined file's) around it dropped."""
    return value.strip().lstrip("\ufeff")


class _Lines:
    """The physical lines fed to csv.reader, numbered, with the lines of the last record kept so
    they can be read again one by one."""

    def __init__(self, text):
        self._text = iter(text)
        self._pending: list[tuple[int, str]] = []  # lines to read again, in order
        self._record: list[tuple[int, str]] = []  # the lines of the record being read
        self._count = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._pending:
            item = self._pending.pop(0)
        else:
            self._count += 1
            item = (self._count, next(self._text))
        self._record.append(item)
        return item[1]

    def start_record(self) -> int:
        """Forget the last record's lines; → the line number the next record starts on."""
        self._record = []
        return self._pending[0][0] if self._pending else self._count + 1

    @property
    def spanned(self) -> int:
        return len(self._record)

    def replay_after_first(self) -> None:
        self._pending[:0] = self._record[1:]
        self._record = self._record[:1]


def _next_record(reader, lines: _Lines):
    """(start line, fields) or (start line, error message), None at the end of the file."""
    start = lines.start_record()
    try:
        return start, next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        return (
            start,
            f"cannot be parsed as {('CSV', 'TSV')[reader.dialect.delimiter == chr(9)]}: {exc}",
        )


def _jsonl_records(stream, source: str, encoding: str) -> Iterator:
    lines = io.TextIOWrapper(
        stream, encoding=_text_encoding(encoding), errors="surrogateescape", newline="\n"
    )
    yield None  # no header line: the columns are the keys of the first object
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"is not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        yield number, value if isinstance(value, dict) else "is not a JSON object ({...})"


def _parquet_records(stream, source: str) -> Iterator:
    try:
        table = pq.read_table(stream)
    except Exception as exc:  # pyarrow raises several types for a damaged or non-Parquet file
        raise SourceError(f"cannot read {source} as Parquet ({exc})") from exc
    yield table.column_names
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    for i in range(table.num_rows):
        yield i + 1, {name: values[i] for name, values in columns.items()}


# -- turning records into rows --------------------------------------------------------------------


def _collect(records: Iterable, source: str, options: TableOptions) -> tuple[Rows, Columns]:
    records = iter(records)
    header = next(records)
    rows, columns = Rows(), None
    for line, values in records:
        if isinstance(values, dict) and columns is None:
            columns = _resolve_columns(header or list(values), source, options)
        if isinstance(values, str):
            rows.reject(source, line, f"the row {values}")
        else:
            _add_record(rows, source, line, values, columns)
    if columns is None:
        if header:
            _resolve_columns(header, source, options)  # a wrong column name is the clearer error
        raise SourceError(
            f"{source} has no data rows that could be read ({len(rows.rejects)} rejected); check "
            "the format and --encoding"
        )
    return rows, columns


def _resolve_columns(header: list[str], source: str, options: TableOptions) -> Columns:
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise ColumnError(
            f"{source} has duplicate column names {duplicates}; rename them so each column is unique"
        )
    text = _pick(header, options.text, TEXT_NAMES, "text", source)
    label = _pick(header, options.label, LABEL_NAMES, "label", source)
    subset = (
        _pick(header, options.subset_column, (), "subset", source)
        if options.subset_column
        else None
    )
    return Columns(text, label, subset)


def _pick(
    header: list[str], wanted: str | None, obvious: tuple[str, ...], role: str, source: str
) -> str:
    if wanted is not None:
        if wanted in header:
            return wanted
        raise ColumnError(
            f"{source} has no column {wanted!r} for the {role}; its columns are {header}"
        )
    by_lower = {h.lower(): h for h in header}
    for name in obvious:
        if name in by_lower:
            return by_lower[name]
    hint = f"Name it with --{role} COLUMN"
    if len(header) == 1 and (sep := next((c for c in ";\t|," if c in header[0]), None)):
        hint = f"The header looks {sep!r}-separated: pass --delimiter {sep!r}"
    raise ColumnError(
        f"cannot tell which column of {source} holds the {role}; its columns are {header}. {hint}"
    )


_SUBSETS = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "development": "validation",
    "test": "test",
    "testing": "test",
}


def normalize_subset(value: str) -> str | None:
    return _SUBSETS.get(str(value).strip().lower())


def _add_record(rows: Rows, source: str, line: int, values: dict, columns: Columns) -> None:
    text, label = values.get(columns.text), values.get(columns.label)
    subset = values.get(columns.subset) if columns.subset else None
    problem = _problem(text, label, subset, columns)
    if problem:
        rows.reject(source, line, problem, _excerpt(values))
        return
    rows.add(
        text,
        _label_string(label),
        f"{source}:{line}",
        normalize_subset(subset) if columns.subset else None,
    )


def _problem(text, label, subset, columns: Columns) -> str | None:
    if not isinstance(text, str):
        return (
            f"{columns.text!r} is missing"
            if text is None
            else f"{columns.text!r} is a {type(text).__name__}, not text"
        )
    if not text.strip():
        return f"empty {columns.text!r}"
    if _has_bad_bytes(text) or (isinstance(label, str) and _has_bad_bytes(label)):
        return "bytes that are not valid in the file's encoding (pass --encoding, e.g. --encoding latin-1)"
    if "\x00" in text:
        return "a NUL byte in the text (a binary file, or a damaged one?)"
    if label is None or (isinstance(label, str) and not label.strip()):
        return f"missing {columns.label!r}"
    if isinstance(label, float) and not label.is_integer() or isinstance(label, (bool, list, dict)):
        return f"{columns.label!r} must be a string or an integer, got {label!r}"
    if columns.subset and normalize_subset(subset) is None:
        return f"{columns.subset!r} is {subset!r}; expected train, validation or test"
    return None


_SURROGATE = re.compile("[\udc80-\udcff]")


def _has_bad_bytes(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _label_string(label) -> str:
    """Labels are stored as strings: ' positive ' → 'positive', 1 → '1', 1.0 → '1'."""
    if isinstance(label, float):
        label = int(label)
    return str(label).strip()


def _excerpt(values) -> str:
    text = (
        json.dumps(values, ensure_ascii=False, default=str)
        if isinstance(values, dict)
        else str(values)
    )
    return text.encode("utf-8", "replace").decode("utf-8")


# -- zip archives -----------------------------------------------------------------------------------


def _read_zip(path: Path, options: TableOptions) -> tuple[Rows, Columns]:
    """Every table in the archive, concatenated. A member named train/validation/test (e.g.
    `train.csv`) gives that subset to its rows unless --subset-column names one."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"cannot open {path} as a .zip archive ({exc})") from exc
    rows, columns = Rows(), None
    with archive:
        members = []
        for m in archive.infolist():
            if is_unsafe_member(m.filename):  # read in memory, never extracted, but suspect
                rows.reject(f"{path.name}:{m.filename}", None, UNSAFE_MEMBER)
            elif _is_table_member(m):
                members.append(m)
        if not members:
            raise SourceError(
                f"{path} holds no CSV, TSV, JSONL or Parquet file; its members are {archive.namelist()[:20]}"
            )
        for member in members:
            source = f"{path.name}:{member.filename}"
            with archive.open(member) as f:
                data = io.BytesIO(f.read()) if format_of(member.filename) == "parquet" else f
                part, part_columns = _read_one(data, source, format_of(member.filename), options)
            _subset_from_name(part, member.filename, options)
            rows.extend(part)
            columns = columns or part_columns
    return rows, columns


def _is_table_member(member: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(member.filename)
    hidden = any(p.startswith((".", "__MACOSX")) for p in name.parts)
    return not member.is_dir() and not hidden and format_of(member.filename) not in (None, "zip")


def _subset_from_name(rows: Rows, member: str, options: TableOptions) -> None:
    subset = normalize_subset(PurePosixPath(member).stem)
    if subset and not options.subset_column:
        rows.subset[:] = [subset] * len(rows)
