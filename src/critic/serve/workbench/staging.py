"""The workbench's staging area: files waiting for their import. An upload lands, streamed, in
$CRITIC_HOME/uploads/<random id>/<safe name> (removed after a day); a server file is one under
the directory the operator named (CRITIC_IMPORT_DIR), symlinks resolved before the check. Nothing
here takes a path from the browser: an upload is named by its id, a server file by its path under
that directory. The Datasets page's routes call these."""

from __future__ import annotations

import codecs
import re
import shutil
import time
from pathlib import Path

from fastapi import Request

from critic.data.tables import format_of
from critic.errors import ApiError, CriticError
from critic.names import validate_name
from critic.serve.workbench.state import Workbench

__all__ = [
    "UPLOADS",
    "chunks",
    "too_big",
    "human_size",
    "safe_filename",
    "clean_uploads",
    "uploaded",
    "server_file",
    "server_files",
    "staged",
    "suggested_name",
    "checked_encoding",
    "checked_delimiter",
]

UPLOADS = "uploads"  # $CRITIC_HOME/uploads/<id>/<file>: uploads waiting for their import
UPLOAD_MAX_AGE_S = 24 * 3600  # an upload older than a day is removed at the next upload
CHUNK = 1024 * 1024  # bytes written at a time
UPLOAD_ID = re.compile(r"[0-9a-f]{16}")
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


async def chunks(request: Request):
    """The body in pieces of at most CHUNK bytes, as they arrive (never the whole body at once)."""
    async for chunk in request.stream():
        for start in range(0, len(chunk), CHUNK):
            yield chunk[start : start + CHUNK]


def too_big(limit: int, declared: int | None = None) -> ApiError:
    sent = f" ({declared:,} bytes)" if declared else ""
    return ApiError(
        413,
        "upload_too_large",
        f"the file is over the upload limit of {human_size(limit)}{sent}; the operator can raise it with "
        f"CRITIC_MAX_UPLOAD_BYTES, or import it from a server path or a URL",
    )


def human_size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


def safe_filename(filename: str) -> str:
    """The upload's name as one safe path component with a table's extension, else 400."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    safe = UNSAFE.sub("_", base).lstrip("._-")[-120:] or "upload"
    if format_of(safe) is None:
        raise ApiError(
            400,
            "unsupported_file",
            f"{base[:100]!r} is not a table critic reads: upload a .csv, .tsv, .jsonl, .parquet or "
            ".zip file (.csv, .tsv and .jsonl may be .gz, .bz2 or .xz)",
        )
    return safe


def clean_uploads(root: Path, max_age_s: float = UPLOAD_MAX_AGE_S) -> int:
    """Remove uploads older than `max_age_s` (an import job copies what it needs into its
    version); → how many were removed."""
    removed = 0
    if not root.is_dir():
        return 0
    now = time.time()
    for folder in root.iterdir():
        try:
            old = now - folder.stat().st_mtime > max_age_s
        except FileNotFoundError:
            continue
        if old and folder.is_dir() and UPLOAD_ID.fullmatch(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def uploaded(workbench: Workbench, upload_id: str) -> Path:
    """The uploaded file of `upload_id`, else 404."""
    if not UPLOAD_ID.fullmatch(upload_id or ""):
        raise ApiError(400, "invalid_upload", "an upload id is 16 hexadecimal digits")
    folder = workbench.workspace.root / UPLOADS / upload_id
    files = [f for f in folder.iterdir() if not f.name.startswith(".")] if folder.is_dir() else []
    if len(files) != 1 or not files[0].is_file():
        raise ApiError(
            404,
            "upload_not_found",
            "this upload is gone (uploads are kept a day): upload the file again",
        )
    return files[0]


def server_file(workbench: Workbench, path: str) -> Path:
    """`path` (relative to the import directory, or absolute) when it is a file inside the
    operator's import directory once every symlink is resolved; else 403/404."""
    root = workbench.settings.import_dir
    if not root:
        raise ApiError(
            403,
            "no_import_dir",
            "this server imports no server paths: start it with `critic serve --import-dir DIR` "
            "(or CRITIC_IMPORT_DIR) to allow files under DIR, or upload the file",
        )
    if not path or len(path) > 1000 or "\x00" in path:
        raise ApiError(400, "invalid_path", "name a file under the import directory")
    base = Path(root).resolve()
    try:
        resolved = (base / path).resolve(strict=True)
    except (FileNotFoundError, OSError, RuntimeError):
        resolved = None
    if resolved is not None and not resolved.is_relative_to(base):
        raise ApiError(
            403,
            "outside_import_dir",
            f"refused: {path[:200]!r} is outside the import directory {base} (symlinks are "
            "followed before this check)",
        )
    if resolved is None or not resolved.is_file():
        raise ApiError(404, "no_such_file", f"no file {path[:200]!r} under {base}")
    return resolved


def server_files(root: str | None, most: int = 500, depth: int = 3) -> list[str]:
    """Table files under the import directory (relative paths), for the form's suggestions."""
    if not root:
        return []
    base, found = Path(root), []

    def walk(folder: Path, level: int) -> None:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            if len(found) >= most or entry.name.startswith("."):
                continue
            if entry.is_dir() and not entry.is_symlink() and level < depth:
                walk(entry, level + 1)
            elif entry.is_file() and format_of(entry.name):
                found.append(entry.relative_to(base).as_posix())

    walk(base, 1)
    return found


def staged(workbench: Workbench, upload: str, path: str) -> tuple[Path, dict]:
    """The file to preview or import, and the fields that name it in a form."""
    if upload:
        return uploaded(workbench, upload), {"upload": upload}
    if path:
        return server_file(workbench, path), {"path": path}
    raise ApiError(400, "no_source", "name an upload (?upload=ID) or a server file (?path=P)")


def suggested_name(filename: str) -> str:
    stem = filename.split(".")[0]
    name = UNSAFE.sub("-", stem).strip("-._")[:64] or "dataset"
    try:
        return validate_name(name)
    except CriticError:
        return "dataset"


def checked_encoding(value: str) -> str:
    value = (value or "utf-8").strip()[:40]
    try:
        codecs.lookup(value)
    except LookupError:
        raise ApiError(
            400, "unknown_encoding", f"unknown encoding {value!r}; try utf-8, latin-1 or cp1252"
        ) from None
    return value


def checked_delimiter(value: str) -> str:
    value = {"\\t": "\t", "tab": "\t"}.get(value, value or "")
    if len(value) > 1 or value in ("\n", "\r", '"'):
        raise ApiError(400, "invalid_delimiter", "the delimiter is one character, e.g. ; or |")
    return value
