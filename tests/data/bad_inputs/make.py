"""The bad-input corpus: files a user may really hand to `critic data import`, each with what
critic must do with it.

    python tests/data/bad_inputs/make.py OUT_DIR     # writes every file and cases.json into OUT_DIR

Each case is either an import whose accepted + rejected rows add up to the rows in the file (and
whose accepted count is known), or a clear error (its class and a phrase that says what to do)
after which the catalog is unchanged. The tests (tests/drills/test_bad_inputs.py) write the corpus
into a temporary folder, so the 10 MB file never sits in the repository.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Case:
    file: str
    what: str
    rows: int | None = None  # data rows in the file, as its writer meant them
    accepted: int | None = None
    error: str | None = None  # exception class name, when the file must be refused
    hint: str | None = None  # a phrase the error or a rejected row's reason must contain
    options: dict = field(default_factory=dict)  # import_dataset keyword arguments
    warning: str | None = None  # a phrase one of the import's warnings must contain


GOOD = [
    ("a fine film, well acted", "pos"),
    ("dull and far too long", "neg"),
    ("I liked it", "pos"),
    ("I did not", "neg"),
]


def _csv(rows) -> str:
    return "text,label\n" + "".join(
        f"{t},{y}\n" if "," not in t else f'"{t}",{y}\n' for t, y in rows
    )


def _write(out: Path, name: str, data: bytes | str) -> None:
    (out / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _tar(out: Path, name: str, members: list[tuple[str, bytes | None, str | None]]) -> None:
    """members: (name, content, symlink target); content None with a target makes a link."""
    with tarfile.open(out / name, "w:gz") as tar:
        for member, content, target in members:
            info = tarfile.TarInfo(member)
            if target is not None:
                info.type, info.linkname = (
                    (tarfile.SYMTYPE if content is None else tarfile.LNKTYPE),
                    target,
                )
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))


def _reviews(n_per_class: int = 2) -> list[tuple[str, bytes, None]]:
    members = []
    for subset in ("train", "test"):
        for folder, rating, word in (("pos", 9, "great"), ("neg", 2, "awful")):
            for i in range(n_per_class):
                members.append(
                    (
                        f"aclImdb/{subset}/{folder}/{i}_{rating}.txt",
                        f"{word} film number {i}".encode(),
                        None,
                    )
                )
    return members


def make(out: Path) -> list[Case]:
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def case(name: str, data, **kw) -> None:
        if data is not None:
            _write(out, name, data)
        cases.append(Case(name, **kw))

    # -- CSV -----------------------------------------------------------------------------------------
    case(
        "unbalanced_quote.csv",
        _csv(GOOD[:2]) + '"an opening quote never closed, pos\n' + _csv(GOOD[2:]).split("\n", 1)[1],
        what="a quote opened and never closed swallows the lines after it",
        rows=5,
        accepted=4,
        hint="never closed",
    )
    case(
        "mixed_delimiters.csv",
        _csv(GOOD) + "semicolons here;neg\ntabs here\tpos\n",
        what="rows separated by ';' or a tab in a comma file",
        rows=6,
        accepted=4,
        hint="fields",
    )
    case(
        "nul_bytes.csv",
        _csv(GOOD) + "binary\x00junk,pos\n",
        what="a NUL byte inside a text",
        rows=5,
        accepted=4,
        hint="NUL",
    )
    case(
        "invalid_utf8.csv",
        _csv(GOOD).encode() + b"caf\xe9 latin-1 bytes,pos\n",
        what="bytes that are not UTF-8 in one row",
        rows=5,
        accepted=4,
        hint="--encoding",
    )
    case(
        "bom_in_middle.csv",
        "\ufeff" + _csv(GOOD[:2]) + "\ufefftext,label\n" + _csv(GOOD[2:]).split("\n", 1)[1],
        what="two UTF-8 files with BOMs joined: the second header sits mid-file",
        rows=5,
        accepted=4,
        hint="repeats the header",
    )
    case(
        "big_row.csv",
        _csv(GOOD[:2])
        + '"'
        + "a very long review, " * 500_000
        + '",pos\n'
        + _csv(GOOD[2:]).split("\n", 1)[1],
        what="one 10 MB row between short ones: over the longest text (1 M characters), rejected",
        rows=5,
        accepted=4,
        hint="CRITIC_MAX_TEXT_CHARS",
    )
    case(
        "long_row.csv",
        _csv(GOOD[:2])
        + '"'
        + "a long review, " * 60_000
        + '",pos\n'
        + _csv(GOOD[2:]).split("\n", 1)[1],
        what="one 900 KB row between short ones: under the longest text, kept",
        rows=5,
        accepted=5,
    )
    case(
        "empty_labels.csv",
        _csv(GOOD) + "no label here,\n  blank label  ,   \n",
        what="rows with an empty label",
        rows=6,
        accepted=4,
        hint="missing 'label'",
    )
    case(
        "empty_texts.csv",
        _csv(GOOD) + ",pos\n   ,neg\n",
        what="rows with an empty text",
        rows=6,
        accepted=4,
        hint="empty 'text'",
    )
    case(
        "case_labels.csv",
        _csv(GOOD) + "shouting,POS\nspaced, pos \n",
        what="labels that differ only by case or whitespace",
        rows=6,
        accepted=6,
        warning="differ only by case",
    )
    case(
        "header_only.csv",
        "text,label\n",
        what="a header and no rows",
        error="SourceError",
        hint="data rows",
    )
    case("empty.csv", "", what="an empty file", error="SourceError", hint="header row")
    case(
        "duplicate_columns.csv",
        "text,label,text\na,pos,b\n",
        what="two columns with one name",
        error="ColumnError",
        hint="rename",
    )
    case(
        "no_obvious_columns.csv",
        "words,stars\nfine,5\n",
        what="columns that are not called text/label",
        error="ColumnError",
        hint="--text",
    )
    case(
        "semicolon_file.csv",
        "text;label\nfine;pos\n",
        what="a whole file separated by ';'",
        error="ColumnError",
        hint="--delimiter",
    )
    case(
        "all_rows_bad.csv",
        "text,label\n,pos\n ,neg\n",
        what="no row can be used",
        error="SourceError",
        hint="check the file",
    )
    case(
        "crlf_and_blank_lines.csv",
        _csv(GOOD).replace("\n", "\r\n") + "\r\n\r\n",
        what="Windows line ends and trailing blank lines",
        rows=4,
        accepted=4,
    )
    case(
        "latin1.csv",
        _csv(GOOD).encode() + "café,pos\n".encode("latin-1"),
        what="a latin-1 file read as latin-1",
        rows=5,
        accepted=5,
        options={"encoding": "latin-1"},
    )
    # -- TSV -----------------------------------------------------------------------------------------
    case(
        "quotes_in.tsv",
        "text\tlabel\n" + 'a "quoted" word\tpos\n' + "plain\tneg\n" + "three\tfields\there\n",
        what="quotes inside TSV fields and a row with an extra field",
        rows=3,
        accepted=2,
        hint="fields",
    )
    # -- JSONL ---------------------------------------------------------------------------------------
    jsonl = [json.dumps({"text": t, "label": y}) for t, y in GOOD]
    case(
        "broken_lines.jsonl",
        "\n".join(
            [jsonl[0], '{"text": "cut off', jsonl[1], "[1, 2]", "", jsonl[2], "not json", jsonl[3]]
        ),
        what="truncated lines, a JSON array, plain text and a blank line",
        rows=7,
        accepted=4,
        hint="not valid JSON",
    )
    case(
        "wrong_types.jsonl",
        "\n".join(
            jsonl
            + [
                json.dumps({"text": 5, "label": "pos"}),
                json.dumps({"text": "x", "label": [1]}),
                json.dumps({"label": "pos"}),
            ]
        ),
        what="a number as text, a list as label, a missing text",
        rows=7,
        accepted=4,
        hint="not text",
    )
    # -- Parquet -------------------------------------------------------------------------------------
    frame = pd.DataFrame(
        {
            "text": [t for t, _ in GOOD] + [None, "half", "x"],
            "label": [0.0, 1.0, 0.0, 1.0, 1.0, 0.5, None],
        }
    )
    frame.to_parquet(out / "wrong_types.parquet")
    cases.append(
        Case(
            "wrong_types.parquet",
            "float labels (0.5 among them), a null text, a null label",
            rows=7,
            accepted=4,
            hint="string or an integer",
        )
    )
    pd.DataFrame({"text": [1, 2, 3], "label": ["a", "b", "a"]}).to_parquet(out / "int_text.parquet")
    cases.append(
        Case(
            "int_text.parquet",
            "a text column of integers",
            error="SourceError",
            hint="check the file",
        )
    )
    case(
        "not_parquet.parquet",
        b"PAR1 this is not parquet",
        what="a damaged Parquet file",
        error="SourceError",
        hint="Parquet",
    )
    # -- zip -----------------------------------------------------------------------------------------
    with zipfile.ZipFile(out / "traversal.zip", "w") as z:
        z.writestr("train.csv", _csv(GOOD))
        z.writestr("../../evil.csv", _csv(GOOD[:1]))
    cases.append(
        Case(
            "traversal.zip",
            "a member named ../../evil.csv (one row)",
            rows=5,
            accepted=4,
            hint="unsafe path",
        )
    )
    # -- aclImdb tarballs ----------------------------------------------------------------------------
    good = _reviews()
    _tar(
        out,
        "traversal.tar.gz",
        good
        + [
            ("../aclImdb/train/pos/9_9.txt", b"escape", None),
            ("/aclImdb/train/neg/9_1.txt", b"absolute", None),
        ],
    )
    cases.append(
        Case(
            "traversal.tar.gz",
            "members named ../aclImdb/… and /aclImdb/…",
            rows=10,
            accepted=8,
            hint="unsafe path",
        )
    )
    _tar(
        out,
        "symlinks.tar.gz",
        good
        + [
            ("aclImdb/train/pos/7_9.txt", None, "/etc/passwd"),
            ("aclImdb/train/neg/7_1.txt", b"", "aclImdb/train/pos/0_9.txt"),
        ],
    )
    cases.append(
        Case(
            "symlinks.tar.gz",
            "a symlink to /etc/passwd and a hard link",
            rows=10,
            accepted=8,
            hint="link",
        )
    )
    _tar(out, "no_train.tar.gz", [m for m in good if "/train/" not in m[0]])
    cases.append(
        Case(
            "no_train.tar.gz",
            "an aclImdb tarball without train/",
            error="SourceError",
            hint="train/pos",
        )
    )
    case(
        "not_a_tarball.tar.gz",
        b"\x1f\x8b but not really gzip",
        what="a damaged .tar.gz",
        error="SourceError",
        hint="cannot read",
    )
    (out / "cases.json").write_text(json.dumps([asdict(c) for c in cases], indent=1) + "\n")
    return cases


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(f"{len(make(Path(sys.argv[1])))} files in {sys.argv[1]}")
