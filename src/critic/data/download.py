"""Streamed downloads into a cache keyed by sha256, with HTTP Range resume and verification.

Layout under the cache folder:
    downloads/<sha256>/<file name>        complete, verified files (the key is their content hash)
    downloads/partial/<hash of URL>.part  an unfinished transfer; the next attempt resumes it
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from critic.errors import ChecksumMismatch, DownloadError, IncompleteTransfer, SettingsError
from critic.progress import bar

__all__ = ["IMDB_URL", "KNOWN_SOURCES", "fetch", "file_sha256", "is_url"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# Sources whose content is known: a download from these addresses must match.
KNOWN_SOURCES = {
    IMDB_URL: "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
}
_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_url(source: str) -> bool:
    return urlparse(str(source)).scheme in ("http", "https")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    url: str,
    cache: Path,
    *,
    sha256: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Return the path of `url`'s content in the cache, downloading (or resuming) it if needed.

    The expected checksum is `sha256`, else the known one for `url`; a mismatch deletes the bytes
    and raises ChecksumMismatch. Without any expected checksum the file is kept under its own hash."""
    expected = _expected_sha256(url, sha256)
    name = Path(unquote(urlparse(url).path)).name or "download"
    if expected and (cached := cache / expected / name).is_file():
        return cached
    part = cache / "partial" / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    _transfer_with_retries(url, part, retries=retries, timeout=timeout, progress=progress)
    actual = file_sha256(part)
    if expected and actual != expected:
        part.unlink()
        raise ChecksumMismatch(url, expected, actual)
    final = cache / actual / name
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, final)
    return final


def _expected_sha256(url: str, sha256: str | None) -> str | None:
    expected = (sha256 or KNOWN_SOURCES.get(url) or "").strip().lower() or None
    if expected and not _SHA256.fullmatch(expected):
        raise SettingsError(f"--sha256 must be 64 hexadecimal characters, got {sha256!r}")
    return expected


def _transfer_with_retries(
    url: str, part: Path, *, retries: int, timeout: float, progress: bool
) -> None:
    for attempt in range(retries + 1):
        try:
            return _transfer(url, part, timeout=timeout, progress=progress)
        except (httpx.TransportError, IncompleteTransfer) as exc:
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"download of {url} failed after {attempt + 1} attempts with {have:,} bytes kept ({exc}); "
                    "run the same command again to resume where it stopped"
                ) from exc


def _transfer(url: str, part: Path, *, timeout: float, progress: bool) -> None:
    """One HTTP request that appends to `part` (Range) or rewrites it (server ignored the Range)."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with httpx.stream(
        "GET", url, headers=headers, follow_redirects=True, timeout=timeout
    ) as response:
        if (
            response.status_code == 416
        ):  # the partial file is not a prefix the server knows: start over
            part.unlink()
            raise IncompleteTransfer("the server refused to resume; starting again")
        if response.status_code not in (200, 206):
            raise DownloadError(f"{url} answered HTTP {response.status_code}; check the address")
        if response.status_code == 200:
            offset = 0
        length = response.headers.get("content-length")
        total = offset + int(length) if length and length.isdigit() else None
        name = Path(unquote(urlparse(url).path)).name
        with (
            open(part, "ab" if offset else "wb") as f,
            bar(
                f"download {name}", total, unit="bytes", enabled=progress, completed=offset
            ) as advance,
        ):
            for chunk in response.iter_bytes():  # as received: a cut keeps every byte that arrived
                f.write(chunk)
                advance(len(chunk))
    if total is not None and part.stat().st_size != total:
        raise IncompleteTransfer(f"got {part.stat().st_size:,} of {total:,} bytes")
