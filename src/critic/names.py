"""Names that become paths (datasets, later experiments and deployments) and dataset references."""

from __future__ import annotations

import re
from dataclasses import dataclass

from critic.errors import InvalidName

__all__ = ["validate_name", "DatasetRef", "parse_ref"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Device names Windows refuses as file names, whatever the extension.
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def validate_name(name: str, what: str = "name") -> str:
    """Return `name` if it is safe as a single path component, else raise InvalidName."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        shown = repr(name)[:80]
        raise InvalidName(
            f"invalid {what} {shown}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no '/', '..', spaces or control characters)"
        )
    if name.split(".")[0].lower() in _RESERVED:
        raise InvalidName(
            f"invalid {what} {name!r}: {name.split('.')[0]!r} is a reserved device name"
        )
    return name


@dataclass(frozen=True)
class DatasetRef:
    """`imdb` (the latest version) or `imdb@2`."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


def parse_ref(text: str) -> DatasetRef:
    name, sep, version = text.partition("@")
    validate_name(name, "dataset name")
    if not sep or version in ("", "latest"):
        return DatasetRef(name)
    if not version.isdigit() or int(version) < 1:
        raise InvalidName(
            f"invalid dataset version in {text!r}: write NAME@N with N = 1, 2, ... (or NAME for the latest)"
        )
    return DatasetRef(name, int(version))
