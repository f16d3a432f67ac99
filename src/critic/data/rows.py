"""What a source reader produces: accepted rows and rejected ones, each traceable to its place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pandas as pd

__all__ = ["Reject", "Rows", "UNSAFE_MEMBER", "is_unsafe_member"]

UNSAFE_MEMBER = "unsafe path in the archive (absolute or '..'); skipped"

_EXCERPT = 1000


@dataclass(frozen=True)
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


@dataclass
class Rows:
    """Accepted rows as parallel columns. `subset` holds the source's own split (None where it has
    none); `rating` is aclImdb's score from the file name."""

    text: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    subset: list[str | None] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    rating: list[int | None] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

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
        # the excerpt is cut here: a rejected 400 MB row must not stay in memory
        self.rejects.append(Reject(source, line, reason, content[:_EXCERPT]))

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
