"""What a source reader produces: accepted rows and rejected ones, each traceable to its place."""

from __future__ import annotations

import csv
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pandas as pd

__all__ = ["Reject", "Rejects", "Rows", "UNSAFE_MEMBER", "is_unsafe_member"]

UNSAFE_MEMBER = "unsafe path in the archive (absolute or '..'); skipped"

_EXCERPT = 1000


@dataclass(frozen=True, slots=True)
class Reject:
    source: str  # file (or archive:member) the row came from
    line: int | None  # 1-based line where the row starts (row number for Parquet), None for a file
    reason: str
    content: str = ""

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "line": self.line,
            "reason": self.reason,
            "content": self.content[:_EXCERPT],
        }


class Rejects:
    """Rejected rows, as many as a file holds without memory growing with them: each is written
    to a spool file as it comes, counted by reason, and only the first `keep` stay in memory.
    Iterating reads them all back in order (to write rejects.csv); len, truth and indexing work
    as on a list."""

    FIELDS = ("source", "line", "reason", "content")

    BATCH = 512  # rejects written to the spool at once (a write per reject: ~80 µs each)

    def __init__(self, items: Iterable[Reject] = (), keep: int = 1000):
        self.keep, self.by_reason, self._first, self._count = keep, Counter(), [], 0
        self._spool, self._pending = None, []
        self.extend(items)

    def append(self, reject: Reject) -> None:
        reject = Reject(
            reject.source, reject.line, sys.intern(reject.reason), reject.content[:_EXCERPT]
        )
        self.by_reason[reject.reason] += 1
        self._count += 1
        if len(self._first) < self.keep:
            self._first.append(reject)
        line = "" if reject.line is None else reject.line
        self._pending.append((reject.source, line, reject.reason, reject.content))
        if len(self._pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer().writerows(self._pending)
            self._pending = []

    def extend(self, items: Iterable[Reject]) -> None:
        for reject in list(items) if items is self else items:
            self.append(reject)

    def _writer(self):
        if self._spool is None:  # surrogatepass: a name or excerpt may hold undecodable bytes
            self._spool = tempfile.TemporaryFile(
                "w+", encoding="utf-8", errors="surrogatepass", newline=""
            )
            self._csv = csv.writer(self._spool)
        return self._csv

    def __iter__(self) -> Iterator[Reject]:
        if self._count <= len(self._first):
            yield from list(self._first)
            return
        self._flush()
        self._spool.flush()
        self._spool.seek(0)
        for source, line, reason, content in csv.reader(self._spool):
            yield Reject(source, int(line) if line else None, reason, content)
        self._spool.seek(0, 2)  # back to the end, for the next append

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __getitem__(self, i: int | slice) -> Reject | list[Reject]:
        if isinstance(i, slice):  # e.g. rejects[:3]: the first three
            wanted = range(*i.indices(self._count))
            return [r for n, r in enumerate(self) if n in wanted]
        i = i + self._count if i < 0 else i
        if 0 <= i < len(self._first):
            return self._first[i]
        if not 0 <= i < self._count:
            raise IndexError(i)
        return next(r for n, r in enumerate(self) if n == i)

    def __repr__(self) -> str:
        return f"Rejects({self._count} rows: {dict(self.by_reason.most_common(3))})"


@dataclass
class Rows:
    """Accepted rows as parallel columns. `subset` holds the source's own split (None where it has
    none); `rating` is aclImdb's score from the file name."""

    text: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    subset: list[str | None] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    rating: list[int | None] = field(default_factory=list)
    rejects: Rejects = field(default_factory=Rejects)

    def add(
        self,
        text: str,
        label: str | None,
        origin: str,
        subset: str | None = None,
        rating: int | None = None,
    ) -> None:
        self.text.append(text)
        self.label.append(label)
        self.subset.append(subset)
        self.origin.append(origin)
        self.rating.append(rating)

    def reject(self, source: str, line: int | None, reason: str, content: str = "") -> None:
        self.rejects.append(Reject(source, line, reason, content))  # spooled, excerpt cut

    def extend(self, other: Rows) -> None:
        for name in ("text", "label", "subset", "origin", "rating", "rejects"):
            getattr(self, name).extend(getattr(other, name))

    def __len__(self) -> int:
        return len(self.text)

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame({"text": self.text, "label": self.label, "origin": self.origin})
        if any(s is not None for s in self.subset):
            df["source_subset"] = self.subset
        if any(r is not None for r in self.rating):
            df["rating"] = pd.array(self.rating, dtype="Int16")
        return df


def is_unsafe_member(name: str) -> bool:
    """An archive member that would land outside its folder if extracted (absolute, or with '..')."""
    return name.startswith("/") or ".." in PurePosixPath(name).parts
