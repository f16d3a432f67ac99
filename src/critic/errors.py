"""The exceptions critic raises: one tree, defined here and nowhere else. Every message says
what to do next.

CriticError                    an error a user can fix; the CLI prints it as one line
├── InvalidName                a name that would become a path is unsafe
├── DatasetNotFound            no such dataset or version in the catalog
├── ExperimentNotFound         no such experiment in the catalog
├── DeploymentNotFound         no such deployment in the catalog
├── JobNotFound                no such job in the catalog
├── GraphNotFound              no such saved canvas graph
├── EvaluationNotFound         no such saved evaluation in the catalog
├── SweepNotFound              no such sweep in the catalog's database
├── SourceError                a source cannot be read (missing, unknown format, nothing parses)
│   ├── ColumnError            the text/label columns cannot be found
│   └── DownloadError          the transfer failed (it resumes when run again)
│       ├── IncompleteTransfer the server ended a transfer early (retried, then resumed)
│       └── ChecksumMismatch   the bytes are not the ones expected
├── UnsafeJSON                 JSON from outside that will not be read (invalid, or a number too long)
│   └── JSONTooDeep            nested deeper than CRITIC_MAX_JSON_DEPTH
└── SettingsError              an option or a config key is out of range, unknown or missing
    ├── GraphError             a block graph does not fit together (names the block)
    └── MissingModel           a pretrained model's files cannot be found (says where it looked)
ApiError                       an HTTP answer: status, stable code and message (the server's JSON body)
RunStopped                     a KeyboardInterrupt raised by a run's own `log` (a sweep's pruner): the
                               run is left stopped and resumable, as Ctrl-C leaves it
"""

from __future__ import annotations

__all__ = [
    "CriticError",
    "InvalidName",
    "DatasetNotFound",
    "ExperimentNotFound",
    "DeploymentNotFound",
    "JobNotFound",
    "GraphNotFound",
    "EvaluationNotFound",
    "SweepNotFound",
    "SourceError",
    "ColumnError",
    "DownloadError",
    "IncompleteTransfer",
    "ChecksumMismatch",
    "UnsafeJSON",
    "JSONTooDeep",
    "SettingsError",
    "GraphError",
    "MissingModel",
    "CatalogUnavailable",
    "CatalogVersionError",
    "ApiError",
    "RunStopped",
    "http_status",
]


class CriticError(Exception):
    """Base class: an error a user can fix; the CLI prints it without a traceback."""


class InvalidName(CriticError, ValueError):
    pass


class DatasetNotFound(CriticError, LookupError):
    pass


class ExperimentNotFound(CriticError, LookupError):
    pass


class DeploymentNotFound(CriticError, LookupError):
    pass


class JobNotFound(CriticError, LookupError):
    pass


class GraphNotFound(CriticError, LookupError):
    pass


class EvaluationNotFound(CriticError, LookupError):
    pass


class SweepNotFound(CriticError, LookupError):
    pass


class SourceError(CriticError):
    pass


class ColumnError(SourceError):
    pass


class DownloadError(SourceError):
    pass


class IncompleteTransfer(DownloadError):
    pass


class ChecksumMismatch(DownloadError):
    def __init__(self, location: str, expected: str, actual: str):
        self.expected, self.actual = expected, actual
        super().__init__(
            f"sha256 mismatch for {location}: expected {expected}, got {actual}. "
            "The file was discarded, not cached. Check the address, or pass the right --sha256."
        )


class UnsafeJSON(CriticError, ValueError):
    pass


class JSONTooDeep(UnsafeJSON):
    pass


class SettingsError(CriticError, ValueError):
    pass


class GraphError(SettingsError):
    pass


class MissingModel(SettingsError):
    pass


class CatalogUnavailable(CriticError):
    """The catalog's database cannot be reached (PostgreSQL down, wrong URL, no pool slot)."""


class CatalogVersionError(CriticError):
    """The catalog's schema is not the one this code reads: newer (upgrade critic) or older
    (run `critic db upgrade`)."""


class RunStopped(KeyboardInterrupt):
    """Raised by a run's `log` callable to end the run between epochs (a sweep's pruned trial).
    A KeyboardInterrupt, so that no `except Exception` on the way swallows it and the run is
    left "stopped", its message saying why."""


class ApiError(Exception):
    """An HTTP error answer: `{"error": code, "message": message}` with `status` (and `headers`)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def http_status(exc: CriticError | ApiError) -> tuple[int, str]:
    """The HTTP status and error code a web route answers this error with (the most specific kind
    first): the app's handler and a page that re-renders its form with the message both use it."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code
    for kind, status, code in (
        (LookupError, 404, "not_found"),
        (InvalidName, 400, "invalid_name"),
        (SettingsError, 422, "invalid_settings"),
        (SourceError, 400, "bad_source"),
        (CatalogUnavailable, 503, "catalog_unavailable"),
        (CatalogVersionError, 503, "catalog_version"),
    ):
        if isinstance(exc, kind):
            return status, code
    return 400, "refused"
