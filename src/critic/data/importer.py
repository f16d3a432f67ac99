"""`import_dataset`: any supported source → a new immutable dataset version."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from critic.data.aclimdb import LABEL_COLUMN, TEXT_COLUMN, read_aclimdb
from critic.data.download import KNOWN_SOURCES, fetch, file_sha256, is_url
from critic.data.rows import Rows
from critic.data.split import SplitSettings
from critic.data.store import Saved, load_version, save_version
from critic.data.tables import Columns, TableOptions, format_of, read_table
from critic.errors import ChecksumMismatch, SettingsError, SourceError
from critic.limits import Limits
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = ["FORMATS", "import_dataset", "resplit", "detect_format"]

FORMATS = ("aclimdb", "csv", "tsv", "jsonl", "parquet", "zip")


def import_dataset(
    name: str,
    source: str | Path,
    *,
    format: str | None = None,
    text: str | None = None,
    label: str | None = None,
    subset_column: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    sha256: str | None = None,
    include_unsup: bool = False,
    split: SplitSettings = SplitSettings(),
    workspace: Workspace | None = None,
    progress: bool = True,
    limits: Limits | None = None,
) -> Saved:
    """Read `source` (aclImdb folder/.tar.gz/URL, or a CSV/TSV/JSONL/Parquet/zip table) and store
    it as the next version of `name`. Rows that cannot be used are rejected one by one, counted in
    the manifest and written to the version's rejects.csv; identical content is not stored twice.
    `limits` (default: the CRITIC_MAX_* settings) bound what one row and the whole source may cost."""
    validate_name(name, "dataset name")
    limits = limits or Limits.from_env()
    workspace = (workspace or Workspace.from_env()).ensure()
    path, source_info = _local_copy(str(source), sha256, workspace, progress)
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise SettingsError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "aclimdb":
        rows, columns = (
            read_aclimdb(path, include_unsup=include_unsup, progress=progress, limits=limits),
            Columns(TEXT_COLUMN, LABEL_COLUMN, None),
        )
    else:
        rows, columns = read_table(
            path, fmt, TableOptions(text, label, subset_column, encoding, delimiter), limits
        )
    _require_rows(rows, path)
    source_info.update(
        format=fmt,
        options={"encoding": encoding, "delimiter": delimiter, "include_unsup": include_unsup},
    )
    return save_version(
        workspace,
        name,
        rows.frame(),
        rows.rejects,
        source=source_info,
        columns=asdict(columns),
        split=split,
    )


def resplit(ref: str, split: SplitSettings, *, workspace: Workspace | None = None) -> Saved:
    """A new version of a dataset with the same rows and other subset settings (the source's own
    train/test split is kept; validation and test are carved again)."""
    workspace = workspace or Workspace.from_env()
    parent = load_version(ref, workspace)
    frame = parent.frame().drop(columns=["subset"])
    source = {
        "kind": "dataset",
        "location": parent.ref,
        "sha256": None,
        "fingerprint": parent.record.fingerprint,
        "format": "critic.dataset",
        "options": {},
    }
    return save_version(
        workspace,
        parent.record.name,
        frame,
        [],
        source=source,
        columns=parent.manifest["columns"],
        split=split,
    )


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir() or name.endswith((".tar.gz", ".tgz", ".tar")):
        return "aclimdb"
    fmt = format_of(name)
    if fmt is None:
        raise SourceError(
            f"cannot tell the format of {path.name}: name a .csv, .tsv, .jsonl, .parquet, .zip, an aclImdb "
            "folder or .tar.gz, or say which with --format"
        )
    return fmt


def _local_copy(
    source: str, sha256: str | None, workspace: Workspace, progress: bool
) -> tuple[Path, dict]:
    """A path to read from, and the manifest's description of where it came from."""
    if is_url(source):
        path = fetch(source, workspace.downloads, sha256=sha256, progress=progress)
        return path, {
            "kind": "url",
            "location": source,
            "sha256": path.parent.name,
            "verified": bool(sha256 or KNOWN_SOURCES.get(source)),
        }
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise SourceError(
            f"no such file or folder: {source}; give a path, an http(s) URL, or check the spelling"
        )
    if path.is_dir():
        return path, {"kind": "folder", "location": str(path), "sha256": None}
    actual = file_sha256(path)
    if sha256 and actual != sha256.strip().lower():
        raise ChecksumMismatch(str(path), sha256.strip().lower(), actual)
    return path, {"kind": "file", "location": str(path), "sha256": actual}


def _require_rows(rows: Rows, path: Path) -> None:
    if len(rows):
        return
    reasons = "; ".join(sorted({r.reason for r in rows.rejects})[:3])
    detail = f" ({len(rows.rejects)} rejected: {reasons})" if rows.rejects else ""
    raise SourceError(
        f"nothing could be imported from {path.name}{detail}; check the file, its columns and --encoding"
    )
