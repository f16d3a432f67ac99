"""The catalog: which dataset versions, experiments, evaluations, deployments, jobs and logins
exist. The only package with SQL.

- `records.py`  the rows as frozen dataclasses
- `schema.py`   the one list of migrations, for every engine
- `engines.py`  SQLite (default, a file in the workspace) and PostgreSQL (CRITIC_DATABASE_URL)
- `queries.py`  `Catalog`: every read and write, the same SQL on both engines

Open a workspace's catalog with `open_catalog(workspace)`."""

from __future__ import annotations

from critic.catalog.queries import Catalog
from critic.catalog.records import (
    JOB_ENDED,
    JOB_STATES,
    DatasetRecord,
    DeploymentRecord,
    ExperimentRecord,
    JobRecord,
)
from critic.catalog.schema import SCHEMA_VERSION

__all__ = [
    "Catalog",
    "open_catalog",
    "DatasetRecord",
    "ExperimentRecord",
    "DeploymentRecord",
    "JobRecord",
    "JOB_STATES",
    "JOB_ENDED",
    "SCHEMA_VERSION",
]


def open_catalog(workspace) -> Catalog:
    """The catalog of a workspace (a critic.workspace.Workspace): its `database_url`, which is
    CRITIC_DATABASE_URL when set, else the SQLite file in the workspace."""
    return Catalog(workspace.database_url)
