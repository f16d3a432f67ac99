"""The aclImdb layout (Maas et al. 2011): `<root>/{train,test}/{pos,neg}/<id>_<rating>.txt`, plus
`train/unsup/` (unlabelled, skipped unless asked for). Read from the extracted folder or straight
from the `.tar.gz` without extracting it. Text is kept exactly as in the file (`<br />` included)."""

from __future__ import annotations

import lzma
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from critic.data.inflate import Budget, decompressed
from critic.data.rows import UNSAFE_MEMBER, Rows, is_unsafe_member
from critic.errors import SourceError
from critic.limits import SETTINGS, Limits
from critic.progress import bar

__all__ = ["TEXT_COLUMN", "LABEL_COLUMN", "read_aclimdb", "looks_like_aclimdb_dir"]

TEXT_COLUMN, LABEL_COLUMN = "review", "sentiment"
_LABELS = {"pos": "positive", "neg": "negative", "unsup": None}
_MEMBER = re.compile(r"(?:^|.*/)(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt")


def looks_like_aclimdb_dir(path: Path) -> bool:
    return _root_of(path) is not None


@dataclass(frozen=True)
class _Options:
    include_unsup: bool
    limits: Limits

    @property
    def max_bytes(self) -> int:
        return 4 * self.limits.max_text_chars  # UTF-8 spends at most 4 bytes a character


def read_aclimdb(
    path: Path, *, include_unsup: bool = False, progress: bool = True, limits: Limits | None = None
) -> Rows:
    """The reviews of an aclImdb folder or archive (.tar.gz, .tar.bz2, .tar.xz, .tar), read as a
    stream: a review over the longest text is rejected unread, and an archive that inflates past
    the limits stops with a SourceError (see critic.data.inflate)."""
    path = Path(path)
    options = _Options(include_unsup, limits or Limits.from_env())
    rows = (
        _read_dir(path, options, progress) if path.is_dir() else _read_tar(path, options, progress)
    )
    if not any(o.startswith("train/") for o in rows.origin):
        raise SourceError(
            f"no labelled reviews under train/pos or train/neg in {path}: an aclImdb source holds "
            "aclImdb/train/{pos,neg}/<id>_<rating>.txt (and test/...); for a CSV/TSV/JSONL/Parquet file "
            "give that file instead"
        )
    return _sorted(rows)


def _add(rows: Rows, relpath: str, data: bytes, source: str, options: _Options) -> None:
    """Accept or reject one review file; `relpath` is e.g. 'train/pos/123_9.txt'."""
    match = _MEMBER.fullmatch(relpath)
    if match is None:
        return  # README, imdb.vocab, urls_*.txt: not reviews
    subset, folder, _, rating = match.groups()
    if folder == "unsup" and not options.include_unsup:
        return
    origin = "/".join(match.groups()[:2]) + "/" + PurePosixPath(relpath).name
    if int(rating) > 10:  # aclImdb's names hold a score of 1-10 (0: unlabelled)
        rows.reject(f"{source}:{origin}", None, f"the rating {rating} in the file name is not 0-10")
        return
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
    if len(text) > options.limits.max_text_chars:
        rows.reject(f"{source}:{origin}", None, _too_long(len(text), options.limits), text[:200])
        return
    rows.add(
        text,
        _LABELS[folder],
        origin,
        subset="unsup" if folder == "unsup" else subset,
        rating=int(rating),
    )


def _too_long(size: int, limits: Limits, unit: str = "characters") -> str:
    return (
        f"a review of {size:,} {unit}, over the longest text of {limits.max_text_chars:,} "
        f"characters ({SETTINGS['max_text_chars']})"
    )


def _read_tar(path: Path, options: _Options, progress: bool) -> Rows:
    rows = Rows()
    try:
        with (
            open(path, "rb") as raw,
            bar(
                f"read {path.name}", path.stat().st_size, unit="bytes", enabled=progress
            ) as advance,
        ):
            # stream mode ("r|"): one pass over the bytes, nothing extracted to disk, inflated under the limits
            stream = decompressed(raw, Budget(str(path), options.limits), path.name, advance)
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    _add_member(rows, tar, member, str(path), options)
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise SourceError(
            f"cannot read {path} as a .tar.gz archive ({exc}); give the aclImdb folder, its .tar.gz, or a table file"
        ) from exc
    return rows


def _add_member(
    rows: Rows, tar: tarfile.TarFile, member: tarfile.TarInfo, source: str, options: _Options
) -> None:
    name = member.name
    if not _MEMBER.fullmatch(name):
        return
    if is_unsafe_member(name):
        rows.reject(f"{source}:{name}", None, UNSAFE_MEMBER)
    elif not member.isfile():
        rows.reject(f"{source}:{name}", None, "a link or special file, not a regular file; skipped")
    elif member.size > options.max_bytes:  # refused unread: tarfile skips its bytes
        rows.reject(f"{source}:{name}", None, _too_long(member.size, options.limits, "bytes"))
    else:
        _add(rows, name, tar.extractfile(member).read(), source, options)


def _root_of(path: Path) -> Path | None:
    for root in (path, path / "aclImdb"):
        if (root / "train").is_dir():
            return root
    return None


def _read_dir(path: Path, options: _Options, progress: bool) -> Rows:
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
                _add_file(rows, file, relpath, str(root), options)
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


def _add_file(rows: Rows, file: Path, relpath: str, root: str, options: _Options) -> None:
    size = file.stat().st_size
    if size > options.max_bytes:  # refused unread
        rows.reject(f"{root}/{relpath}", None, _too_long(size, options.limits, "bytes"))
    else:
        _add(rows, relpath, file.read_bytes(), root, options)
