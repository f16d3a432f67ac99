"""The exceptions critic raises. Every message says what to do next.

CriticError
├── InvalidName            a name that would become a path is unsafe
├── DatasetNotFound        no such dataset or version in the catalog
├── SourceError            a source cannot be read (missing, unknown format, nothing parses)
│   ├── ColumnError        the text/label columns cannot be found
│   └── DownloadError      the transfer failed (it resumes when run again)
│       └── ChecksumMismatch  the bytes are not the ones expected
└── SettingsError          an option is out of range
"""

from __future__ import annotations

__all__ = [
    "CriticError",
    "InvalidName",
    "DatasetNotFound",
    "SourceError",
    "ColumnError",
    "DownloadError",
    "ChecksumMismatch",
    "SettingsError",
]


class CriticError(Exception):
    """Base class: an error a user can fix; the CLI prints it without a traceback."""


class InvalidName(CriticError, ValueError):
    pass


class DatasetNotFound(CriticError, LookupError):
    pass


class SourceError(CriticError):
    pass


class ColumnError(SourceError):
    pass


class DownloadError(SourceError):
    pass


class ChecksumMismatch(DownloadError):
    def __init__(self, location: str, expected: str, actual: str):
        self.expected, self.actual = expected, actual
        super().__init__(
            f"sha256 mismatch for {location}: expected {expected}, got {actual}. "
            "The file was discarded, not cached. Check the address, or pass the right --sha256."
        )


class SettingsError(CriticError, ValueError):
    pass
