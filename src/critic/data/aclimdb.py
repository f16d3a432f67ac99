"""The aclImdb layout (Maas et al. 2011): `<root>/{train,test}/{pos,neg}/<id>_<rating>.txt`, plus
`train/unsup/` (unlabelled, skipped unless asked for). Read from the extracted folder or straight
from the `.tar.gz` without extracting it. Text is kept exactly as in the file (`<br />` included)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path, PurePosixPath

from critic.data.rows import UNSAFE_MEMBER, Rows, is_unsafe_member
from critic.errors import SourceError
from critic.progress import bar

__all__ = ["TEXT_COLUMN", "LABEL_COLUMN", "read_aclimdb", "looks_like_aclimdb_dir"]

TEXT_COLUMN, LABEL_COLUMN = "review", "sentiment"
_LABELS = {"pos": "positive", "neg": "negative", "unsup": None}
_MEMBER = re.compile(r"(?:^|.*/)(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt")


def looks_like_aclimdb_dir(path: Path) -> bool:
    return _root_of(path) is not None


def read_aclimdb(path: Path, *, include_unsup: bool = False, progress: bool = True) -> Rows:
    path = Path(path)
    rows = (
        _read_dir(path, include_unsup, progress)
        if path.is_dir()
        else _read_tar(path, include_unsup, progress)
    )
    if not any(o.startswith("train/") for o in rows.origin):
        raise SourceError(
            f"no labelled reviews under train/pos or train/neg in {path}: an aclImdb source holds "
            "aclImdb/train/{pos,neg}/<id>_<rating>.txt (and test/...); for a CSV/TSV/JSONL/Parquet file "
            "give that file instead"
        )
    return _sorted(rows)


def _add(rows: Rows, relpath: str, data: bytes, source: str, include_unsup: bool) -> None:
    """Accept or reject one review file; `relpath` is e.g. 'train/pos/123_9.txt'."""
    match = _MEMBER.fullmatch(relpath)
    if match is None:
        return  # README, imdb.vocab, urls_*.txt: not reviews
    subset, folder, _, rating = match.groups()
    if folder == "unsup" and not include_unsup:
        return
    origin = "/".join(match.groups()[:2]) + "/" + PurePosixPath(relpath).name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        rows.reject(
            f"{source}:{origin}",
            None,
            f"not valid UTF-8 at byte {exc.start}",
            data[:200].decode("utf-8", "replace"),
        )
        return
    if not text.strip():
        rows.reject(f"{source}:{origin}", None, "empty review")
        return
    rows.add(
        text,
        _LABELS[folder],
        origin,
        subset="unsup" if folder == "unsup" else subset,
        rating=int(rating),
    )


def _read_tar(path: Path, include_unsup: bool, progress: bool) -> Rows:
    rows = Rows()
    try:
        with (
            open(path, "rb") as raw,
            bar(
                f"read {path.name}", path.stat().st_size, unit="bytes", enabled=progress
            ) as advance,
        ):
            # Stream mode ("r|*"): one pass over the compressed bytes, nothing extracted to disk.
            with tarfile.open(fileobj=_Counting(raw, advance), mode="r|*") as tar:
                for member in tar:
                    _add_member(rows, tar, member, str(path), include_unsup)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SourceError(
            f"cannot read {path} as a .tar.gz archive ({exc}); give the aclImdb folder, its .tar.gz, or a table file"
        ) from exc
    return rows


def _add_member(
    rows: Rows, tar: tarfile.TarFile, member: tarfile.TarInfo, source: str, include_unsup: bool
) -> None:
    name = member.name
    if not _MEMBER.fullmatch(name):
        return
    if is_unsafe_member(name):
        rows.reject(f"{source}:{name}", None, UNSAFE_MEMBER)
    elif not member.isfile():
        rows.reject(f"{source}:{name}", None, "a link or special file, not a regular file; skipped")
    else:
        _add(rows, name, tar.extractfile(member).read(), source, include_unsup)


def _root_of(path: Path) -> Path | None:
    for root in (path, path / "aclImdb"):
        if (root / "train").is_dir():
            return root
    return None


def _read_dir(path: Path, include_unsup: bool, progress: bool) -> Rows:
    root = _root_of(path)
    if root is None:
        raise SourceError(
            f"{path} has no train/ folder: give the aclImdb folder (the one holding train/ and test/)"
        )
    files = sorted(p for sub in ("train", "test") for p in (root / sub).glob("*/*.txt"))
    rows = Rows()
    with bar(f"read {root.name}/", len(files), enabled=progress) as advance:
        for file in files:
            relpath = file.relative_to(root).as_posix()
            if file.is_symlink():
                rows.reject(f"{root}/{relpath}", None, "a symbolic link; skipped")
            elif _MEMBER.fullmatch(relpath):
                _add(rows, relpath, file.read_bytes(), str(root), include_unsup)
            advance(1)
    return rows


def _sorted(rows: Rows) -> Rows:
    """A canonical order (subset, label folder, numeric id) so that the same reviews always make
    the same version, whatever order the archive or the file system listed them in."""

    def key(i: int) -> tuple:
        subset, folder, name = rows.origin[i].split("/")
        return (subset, folder, int(name.split("_")[0]))

    order = sorted(range(len(rows)), key=key)
    out = Rows(rejects=rows.rejects)
    for i in order:
        out.add(rows.text[i], rows.label[i], rows.origin[i], rows.subset[i], rows.rating[i])
    return out


class _Counting:
    """A read-only file wrapper that reports how many compressed bytes were consumed."""

    def __init__(self, raw, advance):
        self._raw, self._advance = raw, advance

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._advance(len(data))
        return data
