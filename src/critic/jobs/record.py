"""A job as the catalog records it: one critic command line, run outside the request that asked
for it, with its state, times, the executor that runs it and where its log goes.

    queued ──claim──▶ running ──▶ done       (exit code 0)
       │                 ├──────▶ failed     (another exit code, or its process died unrecorded)
       └───cancel────────┴──────▶ cancelled
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from critic.catalog import JOB_ENDED as ENDED
from critic.catalog import JOB_STATES as STATES
from critic.catalog import JobRecord  # defined beside the catalog's other records

__all__ = ["JobRecord", "STATES", "ENDED", "timestamp", "new_job_id"]


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_job_id() -> str:
    """Sortable by time, and random enough that a clash (retried by `submit`) is rare."""
    return f"job-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
