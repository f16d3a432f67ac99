"""Compressed sources read as streams, under a budget: what they inflate to in all (the
source's members together) and how fast (inflated ÷ compressed). A zip or gzip bomb stops with a
SourceError naming the setting as soon as it passes either limit, before memory grows: nothing is
inflated ahead of the reader.

    raw file ─ Counted (compressed bytes read) ─ gzip/bz2/xz ─ Guarded (inflated bytes) ─ reader
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable

from critic.errors import SourceError
from critic.limits import SETTINGS, Limits

__all__ = ["Budget", "Counted", "Guarded", "decompressed", "RATIO_FLOOR"]

RATIO_FLOOR = (
    8 * 2**20
)  # the ratio is judged once a stream has inflated this much (small files vary)
_MAGIC = {  # signature → an inflating reader over a file object
    b"\x1f\x8b": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    b"BZh": lambda f: bz2.BZ2File(f, mode="rb"),
    b"\xfd7zXZ\x00": lambda f: lzma.LZMAFile(f, mode="rb"),
}


class Budget:
    """How much one source has inflated so far, all its streams together."""

    def __init__(self, source: str, limits: Limits):
        self.source, self.limits, self.inflated = source, limits, 0

    def spend(self, n: int, stream_inflated: int, stream_compressed: int, what: str) -> None:
        self.inflated += n
        if self.inflated > self.limits.max_inflated_bytes:
            raise SourceError(
                f"{self.source} inflates to more than {self.limits.max_inflated_bytes:,} bytes; "
                f"if it is meant to, raise {SETTINGS['max_inflated_bytes']}"
            )
        ratio = stream_inflated / max(stream_compressed, 1)
        if stream_inflated > RATIO_FLOOR and ratio > self.limits.max_compression_ratio:
            raise SourceError(
                f"{what} inflates at least {ratio:,.0f} times its compressed size, over "
                f"{self.limits.max_compression_ratio:g} (a zip bomb?); if it is meant to, raise "
                f"{SETTINGS['max_compression_ratio']}"
            )


class Counted(io.RawIOBase):
    """A read-only file that counts the bytes read from it (the compressed side of a stream)."""

    def __init__(self, raw, on_read: Callable[[int], None] = lambda n: None):
        self._raw, self._on_read, self.count = raw, on_read, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        self._on_read(len(data))
        return len(data)


class Guarded(io.RawIOBase):
    """A read-only file over an inflating stream that spends every byte it hands out from the
    budget. `compressed()` says how many compressed bytes stand behind them so far."""

    def __init__(self, inner, budget: Budget, compressed: Callable[[], int], what: str):
        self._inner, self._budget, self._compressed, self._what = inner, budget, compressed, what
        self.inflated = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self.inflated += len(data)
        self._budget.spend(len(data), self.inflated, self._compressed(), self._what)
        return len(data)


def decompressed(raw, budget: Budget, what: str, on_read: Callable[[int], None] = lambda n: None):
    """A buffered stream of `raw`'s content: inflated under `budget` when it starts with a gzip,
    bzip2 or xz signature, else `raw` itself (counted). The caller closes `raw`."""
    counted = Counted(raw, on_read)
    head = io.BufferedReader(counted, buffer_size=2**16)
    signature = head.peek(6)[:6]
    opener = next((o for magic, o in _MAGIC.items() if signature.startswith(magic)), None)
    if opener is None:
        return head
    inner = opener(head)
    return io.BufferedReader(Guarded(inner, budget, lambda: counted.count, what), buffer_size=2**16)
