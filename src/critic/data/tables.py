"""Tables: CSV (RFC 4180), TSV, JSONL (each also gzip-, bzip2- or xz-compressed), Parquet, and a
.zip holding any of these.

Every data row is accepted or rejected on its own, with the line it starts on and the reason, so a
bad row never costs the good ones and never disappears silently. Tables are read as streams under
`critic.limits.Limits`: a line or a field is never read past the longest text a row may hold, a
compressed source is inflated under a budget (critic.data.inflate), and Parquet is read in small
batches of the needed columns, so peak memory grows with the rows kept, not with the file."""

from __future__ import annotations

import codecs
import csv
import io
import json
import lzma
import re
import shutil
import tempfile
import zipfile
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from critic.data.inflate import Budget, Guarded, decompressed
from critic.data.rows import UNSAFE_MEMBER, Rows, is_unsafe_member
from critic.errors import ColumnError, SourceError, UnsafeJSON
from critic.limits import SETTINGS, Limits
from critic.safejson import loads

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
COMPRESSED = (".gz", ".bz2", ".xz")  # a CSV, TSV or JSONL may come compressed: x.csv.gz
# what a damaged compressed stream raises while it is read
DAMAGED = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, UnicodeError)


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
    """csv, tsv, jsonl, parquet or zip from a file name (x.csv.gz is a csv), None if none fits."""
    path = PurePosixPath(name.lower())
    if path.suffix in COMPRESSED:
        fmt = TABLE_FORMATS.get(path.with_suffix("").suffix)
        return fmt if fmt in ("csv", "tsv", "jsonl") else None  # Parquet and zip compress inside
    return TABLE_FORMATS.get(path.suffix)


def read_table(
    path: Path, fmt: str, options: TableOptions, limits: Limits | None = None
) -> tuple[Rows, Columns]:
    path, limits = Path(path), limits or Limits.from_env()
    try:
        with _field_limit(limits.max_text_chars):
            if fmt == "zip":
                return _read_zip(path, options, limits)
            with open(path, "rb") as raw:
                stream = (
                    raw
                    if fmt == "parquet"
                    else decompressed(raw, Budget(path.name, limits), path.name)
                )
                return _read_one(stream, path.name, fmt, options, limits)
    except DAMAGED as exc:
        raise SourceError(f"cannot read {path.name}: {_damage(exc)}") from None


def _damage(exc: Exception) -> str:
    return f"the data is damaged or truncated ({type(exc).__name__}: {str(exc)[:200]})"


@contextmanager
def _field_limit(chars: int):
    """csv's longest field (module-wide in Python's csv) set to the longest text, for one read."""
    before = csv.field_size_limit(chars)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _read_one(
    stream, source: str, fmt: str, options: TableOptions, limits: Limits
) -> tuple[Rows, Columns]:
    if fmt in ("csv", "tsv"):
        delimiter = options.delimiter or ("," if fmt == "csv" else "\t")
        if len(delimiter) != 1:
            raise SourceError(f"--delimiter must be one character, got {delimiter!r}")
        records = _delimited_records(stream, source, delimiter, options.encoding, limits)
    elif fmt == "jsonl":
        records = _jsonl_records(stream, source, options.encoding, limits)
    elif fmt == "parquet":
        records = _parquet_records(stream, source, options, limits)
    else:
        raise SourceError(f"unknown table format {fmt!r}; use one of csv, tsv, jsonl, parquet, zip")
    return _collect(records, source, options, limits)


def _text_encoding(encoding: str) -> str:
    """utf-8 reads with or without a byte-order mark; an unknown name is a clear error."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise SourceError(f"unknown --encoding {encoding!r}; try utf-8, latin-1 or cp1252") from exc
    return "utf-8-sig" if name == "utf-8" else name


# -- record readers: each yields its header (None: learn it from the first row), then
#    (line, {column: value}) or (line, why the row cannot be read) ------------------------------------


def _delimited_records(
    stream, source: str, delimiter: str, encoding: str, limits: Limits
) -> Iterator:
    text = io.TextIOWrapper(
        stream, encoding=_text_encoding(encoding), errors="surrogateescape", newline=""
    )
    lines = _Lines(text, first=limits.max_header_chars, rest=_longest_line(limits))
    reader = csv.reader(lines, delimiter=delimiter)
    first = _next_record(reader, lines, limits)
    if lines.record_overlong():
        raise SourceError(
            f"the header line of {source} is over {limits.max_header_chars:,} characters "
            f"({SETTINGS['max_header_chars']}): a table starts with a header row such as text,label"
        )
    if first is None or not isinstance(first[1], list):
        raise SourceError(
            f"{source} is empty or has no readable header: a table needs a header row (e.g. text,label) and data rows"
        )
    header = [_cell(h) for h in first[1]]
    _check_columns(len(header), source, limits)
    yield header
    while (record := _next_record(reader, lines, limits)) is not None:
        line, values = record
        if lines.record_overlong():
            yield (
                line,
                (
                    f"has a line over {_longest_line(limits):,} characters (2 × "
                    f"{SETTINGS['max_text_chars']} + {SETTINGS['max_header_chars']})"
                ),
            )
        elif isinstance(values, str):
            yield line, values
        elif values == []:
            continue  # a blank line between rows is not a row
        elif lines.record_unclosed() or (len(values) < len(header) and lines.spanned > 1):
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


def _longest_line(limits: Limits) -> int:
    """A row's line holds its text (quotes doubled: up to twice as long) and its other fields."""
    return 2 * limits.max_text_chars + limits.max_header_chars


def _check_columns(count: int, source: str, limits: Limits) -> None:
    if count > limits.max_columns:
        raise ColumnError(
            f"{source} has {count:,} columns, over {limits.max_columns:,} ({SETTINGS['max_columns']}); "
            "a labelled table needs a text and a label column"
        )


def _cell(value: str) -> str:
    """A header cell as a name: spaces and a byte-order mark (a joined file's) around it dropped."""
    return value.strip().lstrip("\ufeff")


class _Lines:
    """The physical lines fed to csv.reader, numbered, with the lines of the last record kept so
    they can be read again one by one. A line is read to at most `first` (the header) or `rest`
    characters: the remainder of a longer one is skipped unread into memory, the line is marked
    overlong and handed on as an empty line, so its record is rejected.

    A record's lines, and those waiting to be read again, are consecutive: each is kept as its
    text alone (a list or deque slot, 8 bytes, beside a string a short line shares) with the
    number of its first line. A (number, text) tuple per line cost ~100 bytes, 100 times the
    input for a quote left open before 800,000 blank lines (found by the long fuzz run)."""

    def __init__(self, text, first: int, rest: int):
        self._text, self._first, self._rest = text, first, rest
        self._pending: deque[str] = deque()  # lines to read again, in order
        self._pending_start = 0  # the number of _pending[0]
        self._record: list[str] = []  # the lines of the record being read
        self._record_start = 0  # the number of _record[0]
        self._overlong: set[int] = set()  # line numbers cut at the limit
        self._record_overlong = False  # a line of the record being read was cut
        self._count = 0
        self._eof_in_record = False  # the file ended while a record was being read

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._pending:
            line, number = self._pending.popleft(), self._pending_start
            self._pending_start += 1
        else:
            line = self._read(self._first if self._count == 0 else self._rest)
            self._count += 1
            number = self._count
        if not self._record:
            self._record_start = number
        self._record.append(line)
        if self._overlong and number in self._overlong:
            self._record_overlong = True
        return line

    def _read(self, limit: int) -> str:
        line = self._text.readline(limit + 1)
        if not line:
            self._eof_in_record = True
            raise StopIteration
        if len(line) <= limit or line.endswith(("\n", "\r")):
            return line
        while (more := self._text.readline(2**20)) and not more.endswith(("\n", "\r")):
            pass  # the rest of an overlong line, a megabyte at a time, dropped
        self._overlong.add(self._count + 1)
        return "\n"

    def start_record(self) -> int:
        """Forget the last record's lines; → the line number the next record starts on."""
        self._record, self._eof_in_record, self._record_overlong = [], False, False
        return self._pending_start if self._pending else self._count + 1

    def record_unclosed(self) -> bool:
        """Whether the last record ran into the end of the file: csv.reader asks for another line
        only inside a quoted field, so a record that reached the end holds a quote never closed."""
        return self._eof_in_record and bool(self._record)

    def record_overlong(self) -> bool:
        return self._record_overlong

    @property
    def spanned(self) -> int:
        return len(self._record)

    def replay_after_first(self) -> None:
        """Read the record's lines after its first again, before the lines waiting already (they
        follow the record's last line, so the lines waiting stay consecutive). O(lines)."""
        self._pending.extendleft(reversed(self._record[1:]))
        self._pending_start = self._record_start + 1
        self._record = self._record[:1]
        self._record_overlong = self._record_start in self._overlong


def _next_record(reader, lines: _Lines, limits: Limits):
    """(start line, fields) or (start line, error message), None at the end of the file."""
    start = lines.start_record()
    try:
        return start, next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            return start, (
                f"has a field over {limits.max_text_chars:,} characters, the longest text a row "
                f"may hold ({SETTINGS['max_text_chars']})"
            )
        return (
            start,
            f"cannot be parsed as {('CSV', 'TSV')[reader.dialect.delimiter == chr(9)]}: {exc}",
        )


def _jsonl_records(stream, source: str, encoding: str, limits: Limits) -> Iterator:
    lines = io.TextIOWrapper(
        stream, encoding=_text_encoding(encoding), errors="surrogateescape", newline="\n"
    )
    # a JSON line holds the text, escaped (\uXXXX: 6 characters for one), and the other fields
    longest = 6 * limits.max_text_chars + limits.max_header_chars
    yield None  # no header line: the columns are the keys of the first object
    number = 0
    while line := lines.readline(longest + 1):
        number += 1
        if len(line) > longest and not line.endswith("\n"):
            while (more := lines.readline(2**20)) and not more.endswith("\n"):
                pass  # the rest of the line, dropped unread
            yield (
                number,
                f"is a line over {longest:,} characters ({SETTINGS['max_text_chars']} × 6)",
            )
        elif line.strip():
            yield number, _json_row(line, limits)


def _json_row(line: str, limits: Limits) -> dict | str:
    """The row's object, or why it is not one."""
    try:
        value = loads(line, limits.max_json_depth)
    except UnsafeJSON as exc:
        return f"is not valid JSON ({exc})"
    if not isinstance(value, dict):
        return "is not a JSON object ({...})"
    if len(value) > limits.max_columns:
        return f"has {len(value):,} keys, over {limits.max_columns:,} ({SETTINGS['max_columns']})"
    return value


def _parquet_records(stream, source: str, options: TableOptions, limits: Limits) -> Iterator:
    """The header, then the rows' needed columns, 256 rows at a time. String columns are read as
    dictionaries, so a value repeated on many rows is never copied onto each before its length is
    checked (a Parquet bomb), and the column chunks must fit the inflation limits."""
    try:
        parquet = pq.ParquetFile(stream, read_dictionary=_string_columns(stream))
        names = parquet.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for a damaged or non-Parquet file
        raise SourceError(f"cannot read {source} as Parquet ({exc})") from exc
    _check_columns(len(names), source, limits)
    yield names
    columns = _resolve_columns(names, source, options)
    wanted = list(dict.fromkeys(c for c in (columns.text, columns.label, columns.subset) if c))
    _check_parquet_size(parquet, wanted, source, limits)
    row = 0
    for batch in _batches(parquet, wanted, source):
        values = {name: _values(batch.column(name), limits.max_text_chars) for name in wanted}
        for i in range(batch.num_rows):
            row += 1
            yield row, {name: values[name][i] for name in wanted}


def _string_columns(stream) -> list[str]:
    schema = pq.read_schema(stream)
    stream.seek(0)
    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


def _check_parquet_size(
    parquet: pq.ParquetFile, wanted: list[str], source: str, limits: Limits
) -> None:
    meta, index = parquet.metadata, {n: i for i, n in enumerate(parquet.schema_arrow.names)}
    chunks = [
        meta.row_group(g).column(index[n]) for g in range(meta.num_row_groups) for n in wanted
    ]
    inflated = sum(c.total_uncompressed_size for c in chunks)
    compressed = max(sum(c.total_compressed_size for c in chunks), 1)
    budget = Budget(source, limits)
    budget.spend(inflated, inflated, compressed, f"the columns {wanted} of {source}")


def _batches(parquet: pq.ParquetFile, wanted: list[str], source: str) -> Iterator:
    batches = parquet.iter_batches(batch_size=256, columns=wanted)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # damaged pages: pyarrow's several error types
            raise SourceError(f"cannot read {source} as Parquet ({exc})") from exc
        yield batch


@dataclass(frozen=True)
class TooLong:
    """A Parquet value over the longest text, kept as its length only (never copied out of Arrow)."""

    chars: int


@dataclass(frozen=True)
class Unreadable:
    """A Parquet value Python cannot hold (a date, time or duration out of its range)."""

    type: str


def _values(array: pa.Array, longest: int) -> list:
    """A column's Python values; a string over `longest` characters becomes TooLong(its length)."""
    if isinstance(array, pa.DictionaryArray):
        words = _values(array.dictionary, longest)
        bad = Unreadable("dictionary-encoded")  # an index past its dictionary: a damaged file
        return [
            None if i is None else words[i] if 0 <= i < len(words) else bad
            for i in array.indices.to_pylist()
        ]
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        try:
            return array.to_pylist()
        except (
            ValueError,
            OverflowError,
            pa.ArrowException,
        ):  # e.g. a date past Python's year 9999
            return [Unreadable(str(array.type))] * len(array)
    lengths = pc.utf8_length(array).to_pylist()
    if max((n for n in lengths if n is not None), default=0) <= longest:
        return array.to_pylist()
    return [
        TooLong(n) if n is not None and n > longest else array[i].as_py()
        for i, n in enumerate(lengths)
    ]


# -- turning records into rows --------------------------------------------------------------------


def _collect(
    records: Iterable, source: str, options: TableOptions, limits: Limits
) -> tuple[Rows, Columns]:
    records = iter(records)
    header = next(records)
    rows, columns = Rows(), None
    for line, values in records:
        if isinstance(values, dict) and columns is None:
            columns = _resolve_columns(header or list(values), source, options)
        if isinstance(values, str):
            rows.reject(source, line, f"the row {values}")
        else:
            _add_record(rows, source, line, values, columns, limits)
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


def _add_record(
    rows: Rows, source: str, line: int, values: dict, columns: Columns, limits: Limits
) -> None:
    text, label = values.get(columns.text), values.get(columns.label)
    subset = values.get(columns.subset) if columns.subset else None
    problem = (
        _unreadable(values, columns)
        or _too_long(values, columns, limits)
        or _problem(text, label, subset, columns)
    )
    if problem:
        rows.reject(source, line, problem, _excerpt(values))
        return
    rows.add(
        text,
        _label_string(label),
        f"{source}:{line}",
        normalize_subset(subset) if columns.subset else None,
    )


def _unreadable(values: dict, columns: Columns) -> str | None:
    for name in filter(None, (columns.text, columns.label, columns.subset)):
        if isinstance(values.get(name), Unreadable):
            return f"{name!r} holds a {values[name].type} value out of range; a label is a string or an integer"
    return None


def _too_long(values: dict, columns: Columns, limits: Limits) -> str | None:
    for name in filter(None, (columns.text, columns.label, columns.subset)):
        value = values.get(name)
        size = (
            value.chars
            if isinstance(value, TooLong)
            else len(value)
            if isinstance(value, str)
            else 0
        )
        if size > limits.max_text_chars:
            return (
                f"{name!r} has {size:,} characters, over the longest text a row may hold, "
                f"{limits.max_text_chars:,} ({SETTINGS['max_text_chars']})"
            )
    return None


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
        return (
            "characters that are not valid Unicode: bytes the file's encoding cannot read (pass "
            "--encoding, e.g. --encoding latin-1), or a lone surrogate escape such as \\ud800"
        )
    if "\x00" in text:
        return "a NUL byte in the text (a binary file, or a damaged one?)"
    if label is None or (isinstance(label, str) and not label.strip()):
        return f"missing {columns.label!r}"
    if isinstance(label, float) and not label.is_integer() or isinstance(label, (bool, list, dict)):
        return f"{columns.label!r} must be a string or an integer, got {label!r}"
    if columns.subset and normalize_subset(subset) is None:
        return f"{columns.subset!r} is {subset!r}; expected train, validation or test"
    return None


# undecodable bytes (kept by errors="surrogateescape" as U+DC80..U+DCFF) and lone surrogate
# escapes from JSON ("\ud800"): neither is a character, and neither can be stored as UTF-8
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_bad_bytes(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _label_string(label) -> str:
    """Labels are stored as strings: ' positive ' → 'positive', 1 → '1', 1.0 → '1'."""
    if isinstance(label, float):
        label = int(label)
    return str(label).strip()


def _excerpt(values, longest: int = 1000) -> str:
    """The start of a rejected row, for rejects.csv: each value cut before it is written out."""
    if isinstance(values, dict):
        cut = {k: v[:longest] if isinstance(v, str) else v for k, v in values.items()}
        text = json.dumps(cut, ensure_ascii=False, default=str)
    else:
        text = str(values)
    return text[:longest].encode("utf-8", "replace").decode("utf-8")


# -- zip archives -----------------------------------------------------------------------------------


def _read_zip(path: Path, options: TableOptions, limits: Limits) -> tuple[Rows, Columns]:
    """Every table in the archive, concatenated. A member named train/validation/test (e.g.
    `train.csv`) gives that subset to its rows unless --subset-column names one. Members are read
    as streams under one inflation budget: the sizes the archive declares are checked first, and
    the bytes really inflated as they are read (a header may lie)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:  # NIE: a zip version > 6.3
        raise SourceError(f"cannot open {path} as a .zip archive ({exc})") from exc
    rows, columns, budget = Rows(), None, Budget(path.name, limits)
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
        _check_declared(members, path.name, limits)
        for member in members:
            part, part_columns = _read_member(archive, member, path.name, options, limits, budget)
            _subset_from_name(part, member.filename, options)
            rows.extend(part)
            columns = columns or part_columns
    return rows, columns


def _check_declared(members: list[zipfile.ZipInfo], source: str, limits: Limits) -> None:
    """The sizes the archive's directory declares, judged before a byte is inflated."""
    Budget(source, limits).spend(sum(m.file_size for m in members), 0, 1, source)
    for m in members:
        Budget(source, limits).spend(0, m.file_size, m.compress_size, f"{source}:{m.filename}")


def _read_member(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    name: str,
    options: TableOptions,
    limits: Limits,
    budget: Budget,
) -> tuple[Rows, Columns]:
    source, fmt = f"{name}:{member.filename}", format_of(member.filename)
    try:
        with archive.open(member) as f:
            stream = io.BufferedReader(Guarded(f, budget, lambda: member.compress_size, source))
            if fmt == "parquet":  # Parquet reads its footer first: spooled to disk, not to memory
                with tempfile.TemporaryFile() as spool:
                    shutil.copyfileobj(stream, spool, 2**20)
                    spool.seek(0)
                    return _read_one(spool, source, fmt, options, limits)
            return _read_one(decompressed(stream, budget, source), source, fmt, options, limits)
    except (
        RuntimeError,
        NotImplementedError,
    ) as exc:  # encrypted, or an unknown compression method
        raise SourceError(f"cannot read {source} ({exc})") from None


def _is_table_member(member: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(member.filename)
    hidden = any(p.startswith((".", "__MACOSX")) for p in name.parts)
    return not member.is_dir() and not hidden and format_of(member.filename) not in (None, "zip")


def _subset_from_name(rows: Rows, member: str, options: TableOptions) -> None:
    subset = normalize_subset(PurePosixPath(member).name.split(".")[0])  # train.csv, train.csv.gz
    if subset and not options.subset_column:
        rows.subset[:] = [subset] * len(rows)
