"""The catalog: the one place that knows which dataset versions (and later experiments and
deployments) exist. SQLite in WAL mode today; everything goes through this module so that a
PostgreSQL backend can replace it without touching callers.

Files are written first (into a temporary folder, then renamed into place) and the catalog row is
inserted last, in one transaction: a version is visible only once all its files are complete."""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["Catalog", "DatasetRecord"]

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created     TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    rows        INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    path        TEXT    NOT NULL,   -- relative to the workspace root, so a workspace can move
    manifest    TEXT    NOT NULL,   -- JSON, the same as manifest.json beside the data
    PRIMARY KEY (name, version)
);
CREATE INDEX IF NOT EXISTS datasets_fingerprint ON datasets (name, fingerprint);
"""


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    version: int
    created: str
    fingerprint: str
    rows: int
    rejected: int
    path: str
    manifest: dict

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class Catalog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below), so two writers
        # serialize on the database lock instead of failing half-way.
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the lock from its first statement; commits or rolls back."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # -- datasets -------------------------------------------------------------------------------

    def datasets(self, name: str | None = None, conn: sqlite3.Connection | None = None) -> list[DatasetRecord]:
        sql = "SELECT * FROM datasets" + (" WHERE name = ?" if name else "") + " ORDER BY name, version"
        return self._query(sql, (name,) if name else (), conn)

    def dataset(self, name: str, version: int | None = None, conn: sqlite3.Connection | None = None) -> DatasetRecord | None:
        if version is None:
            rows = self._query("SELECT * FROM datasets WHERE name = ? ORDER BY version DESC LIMIT 1", (name,), conn)
        else:
            rows = self._query("SELECT * FROM datasets WHERE name = ? AND version = ?", (name, version), conn)
        return rows[0] if rows else None

    def dataset_by_fingerprint(self, conn: sqlite3.Connection, name: str, fingerprint: str) -> DatasetRecord | None:
        rows = self._query(
            "SELECT * FROM datasets WHERE name = ? AND fingerprint = ? ORDER BY version LIMIT 1", (name, fingerprint), conn
        )
        return rows[0] if rows else None

    @staticmethod
    def next_dataset_version(conn: sqlite3.Connection, name: str) -> int:
        (last,) = conn.execute("SELECT MAX(version) FROM datasets WHERE name = ?", (name,)).fetchone()
        return (last or 0) + 1

    @staticmethod
    def insert_dataset(conn: sqlite3.Connection, record: DatasetRecord) -> None:
        conn.execute(
            "INSERT INTO datasets (name, version, created, fingerprint, rows, rejected, path, manifest)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record.name, record.version, record.created, record.fingerprint, record.rows,
             record.rejected, record.path, json.dumps(record.manifest, sort_keys=True)),
        )

    def _query(self, sql: str, args: tuple, conn: sqlite3.Connection | None) -> list[DatasetRecord]:
        own = conn is None
        conn = conn or self._connect()
        try:
            rows = conn.execute(sql, args).fetchall()
        finally:
            if own:
                conn.close()
        return [DatasetRecord(n, v, c, f, r, rj, p, json.loads(m)) for n, v, c, f, r, rj, p, m in rows]
