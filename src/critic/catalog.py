"""The catalog: the one place that knows which dataset versions (and later experiments and
deployments) exist. SQLite in WAL mode today; everything goes through this module so that a
PostgreSQL backend can replace it without touching callers.

Files are written first (into a temporary folder, then renamed into place) and the catalog row is
inserted last, in one transaction: a version is visible only once all its files are complete."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "Catalog",
    "open_catalog",
    "DatasetRecord",
    "ExperimentRecord",
    "DeploymentRecord",
    "JobRecord",
]

# Each step brings a catalog from version i to i + 1; a catalog is upgraded in place when opened.
_MIGRATIONS = [
    """
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
    """,
    """
    CREATE TABLE IF NOT EXISTS experiments (
        name        TEXT PRIMARY KEY,
        dataset     TEXT NOT NULL,      -- name@version
        model       TEXT NOT NULL,      -- preset name (versioned) or "custom"
        status      TEXT NOT NULL,      -- running, done, failed, stopped
        created     TEXT NOT NULL,
        updated     TEXT NOT NULL,
        epochs_done INTEGER NOT NULL DEFAULT 0,
        best_epoch  INTEGER,
        seconds     REAL NOT NULL DEFAULT 0,
        error       TEXT,
        path        TEXT NOT NULL,
        config      TEXT NOT NULL       -- JSON, the same as config.json
    );
    CREATE TABLE IF NOT EXISTS epochs (
        experiment  TEXT NOT NULL REFERENCES experiments (name),
        epoch       INTEGER NOT NULL,
        metrics     TEXT NOT NULL,      -- JSON: train/val loss and accuracy, seconds, samples/s
        PRIMARY KEY (experiment, epoch)
    );
    """,
    # "host:pid" of the process running an experiment, to tell a killed run from a running one
    "ALTER TABLE experiments ADD COLUMN owner TEXT;",
    """
    CREATE TABLE IF NOT EXISTS evaluations (
        experiment  TEXT NOT NULL REFERENCES experiments (name),
        checkpoint  TEXT NOT NULL,      -- best or last
        subset      TEXT NOT NULL,      -- validation or test
        epoch       INTEGER NOT NULL,   -- the epoch the checkpoint holds
        created     TEXT NOT NULL,
        summary     TEXT NOT NULL,      -- JSON: n, accuracy, loss, macro_f1, ece, roc_auc (two classes)
        path        TEXT NOT NULL,      -- the folder with metrics.json, errors.csv, plots, report.html
        PRIMARY KEY (experiment, checkpoint, subset)
    );
    """,
    """
    CREATE TABLE IF NOT EXISTS deployments (
        name        TEXT PRIMARY KEY,
        experiment  TEXT NOT NULL REFERENCES experiments (name),
        checkpoint  TEXT NOT NULL,      -- best or last
        input_name  TEXT NOT NULL,      -- the form / JSON field that carries the text
        enabled     INTEGER NOT NULL,
        token_hash  TEXT NOT NULL,      -- sha256 of the token (the token itself is never stored)
        created     TEXT NOT NULL,
        updated     TEXT NOT NULL
    );
    """,
    # work started from the workbench (or `critic jobs`), run outside any web request
    """
    CREATE TABLE IF NOT EXISTS jobs (
        id          TEXT PRIMARY KEY,   -- e.g. job-20261201-223000-1a2b
        kind        TEXT NOT NULL,      -- train, evaluate, import
        argv        TEXT NOT NULL,      -- JSON list: the critic command the job runs
        state       TEXT NOT NULL,      -- queued, running, done, failed, cancelled
        created     TEXT NOT NULL,
        started     TEXT,
        ended       TEXT,
        executor    TEXT NOT NULL,      -- local (a process of this host), later an engine's name
        handle      TEXT,               -- the executor's id for it: "host:pid" of its process group
        log         TEXT NOT NULL,      -- its log file, relative to the workspace root
        exit_code   INTEGER,
        error       TEXT,               -- why it failed: the last lines of its log
        target      TEXT,               -- what it makes or reads, e.g. an experiment name
        user        TEXT                -- who started it (the workbench login), if anyone
    );
    CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created);
    """,
    # the workbench's logins; passwords and session tokens are stored only as slow / sha256 hashes
    """
    CREATE TABLE IF NOT EXISTS users (
        name          TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,    -- scrypt$N$r$p$salt$hash
        admin         INTEGER NOT NULL,
        created       TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS sessions (
        token_hash  TEXT PRIMARY KEY,   -- sha256 of the session cookie's value
        user        TEXT NOT NULL REFERENCES users (name),
        csrf        TEXT NOT NULL,      -- the token every state-changing request must carry
        created     TEXT NOT NULL,
        expires     TEXT NOT NULL
    );
    """,
    # an evaluation may read another dataset version with the same classes: the dataset joins the key
    """
    CREATE TABLE evaluations_by_dataset (
        experiment  TEXT NOT NULL REFERENCES experiments (name),
        checkpoint  TEXT NOT NULL,      -- best or last
        dataset     TEXT NOT NULL,      -- name@version it read: the experiment's own, or another
        subset      TEXT NOT NULL,      -- validation or test
        epoch       INTEGER NOT NULL,
        created     TEXT NOT NULL,
        summary     TEXT NOT NULL,
        path        TEXT NOT NULL,
        PRIMARY KEY (experiment, checkpoint, dataset, subset)
    );
    INSERT INTO evaluations_by_dataset
        SELECT e.experiment, e.checkpoint, x.dataset, e.subset, e.epoch, e.created, e.summary, e.path
        FROM evaluations e JOIN experiments x ON x.name = e.experiment;
    DROP TABLE evaluations;
    ALTER TABLE evaluations_by_dataset RENAME TO evaluations;
    """,
]


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


@dataclass(frozen=True)
class ExperimentRecord:
    name: str
    dataset: str
    model: str
    status: str
    created: str
    updated: str
    epochs_done: int
    best_epoch: int | None
    seconds: float
    error: str | None
    path: str
    config: dict
    owner: str | None = None
    epochs: tuple[dict, ...] = ()


@dataclass(frozen=True)
class DeploymentRecord:
    name: str
    experiment: str
    checkpoint: str
    input_name: str
    enabled: bool
    token_hash: str
    created: str
    updated: str


# a job's states (critic.jobs): queued → running → done | failed | cancelled
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
JOB_ENDED = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class JobRecord:
    id: str  # job-YYYYmmdd-HHMMSS-xxxx (UTC), also its log file's name
    kind: str  # train, evaluate, import, ... (critic.jobs.commands.COMMANDS)
    argv: tuple[str, ...]  # the critic command, without `critic`: ("train", "--dataset", ...)
    state: str  # one of JOB_STATES
    created: str  # ISO 8601 UTC, milliseconds: the queue's order
    started: str | None
    ended: str | None
    executor: str  # who runs it: "local" (a process group of this host), later "ray"
    handle: str | None  # the executor's id for it, e.g. "host:pid" of the runner's process group
    log: str  # its log file, relative to the workspace root
    exit_code: int | None  # the command's; negative: killed by that signal
    error: str | None  # why it failed: the last lines of its log
    target: str | None  # what it makes or reads, e.g. the experiment's name
    user: str | None  # who submitted it (a workbench login), if anyone

    @property
    def finished(self) -> bool:
        return self.state in JOB_ENDED

    @property
    def command(self) -> str:
        """The command line as a user would type it."""
        return shlex.join(("critic", *self.argv))

    def seconds(self, at: datetime | None = None) -> float | None:
        """How long it ran (so far, while it runs); None when it never started."""
        if not self.started:
            return None
        end = datetime.fromisoformat(self.ended) if self.ended else (at or datetime.now(UTC))
        return max(0.0, (end - datetime.fromisoformat(self.started)).total_seconds())


class Catalog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            self._use_wal(conn)
            if conn.execute("PRAGMA user_version").fetchone()[0] < len(_MIGRATIONS):
                self._migrate(conn)
        finally:
            conn.close()

    @staticmethod
    def _use_wal(conn: sqlite3.Connection, seconds: float = 30.0) -> None:
        """Switch a new catalog to WAL. Two processes switching one new file at once each hold a
        shared lock and want an exclusive one; SQLite answers one of them "database is locked" at
        once rather than call the busy handler (that would deadlock), so that one waits and retries."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then find it done
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in _MIGRATIONS[current:]:
                without_comments = re.sub(
                    r"--[^\n]*", "", step
                )  # a ';' in a comment must not split a statement
                for statement in filter(str.strip, without_comments.split(";")):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={len(_MIGRATIONS)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

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

    def datasets(
        self, name: str | None = None, conn: sqlite3.Connection | None = None
    ) -> list[DatasetRecord]:
        sql = (
            "SELECT * FROM datasets"
            + (" WHERE name = ?" if name else "")
            + " ORDER BY name, version"
        )
        return self._query(sql, (name,) if name else (), conn)

    def dataset(
        self, name: str, version: int | None = None, conn: sqlite3.Connection | None = None
    ) -> DatasetRecord | None:
        if version is None:
            rows = self._query(
                "SELECT * FROM datasets WHERE name = ? ORDER BY version DESC LIMIT 1", (name,), conn
            )
        else:
            rows = self._query(
                "SELECT * FROM datasets WHERE name = ? AND version = ?", (name, version), conn
            )
        return rows[0] if rows else None

    def dataset_by_fingerprint(
        self, conn: sqlite3.Connection, name: str, fingerprint: str
    ) -> DatasetRecord | None:
        rows = self._query(
            "SELECT * FROM datasets WHERE name = ? AND fingerprint = ? ORDER BY version LIMIT 1",
            (name, fingerprint),
            conn,
        )
        return rows[0] if rows else None

    @staticmethod
    def next_dataset_version(conn: sqlite3.Connection, name: str) -> int:
        (last,) = conn.execute(
            "SELECT MAX(version) FROM datasets WHERE name = ?", (name,)
        ).fetchone()
        return (last or 0) + 1

    @staticmethod
    def insert_dataset(conn: sqlite3.Connection, record: DatasetRecord) -> None:
        conn.execute(
            "INSERT INTO datasets (name, version, created, fingerprint, rows, rejected, path, manifest)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.name,
                record.version,
                record.created,
                record.fingerprint,
                record.rows,
                record.rejected,
                record.path,
                json.dumps(record.manifest, sort_keys=True),
            ),
        )

    def _query(self, sql: str, args: tuple, conn: sqlite3.Connection | None) -> list[DatasetRecord]:
        own = conn is None
        conn = conn or self._connect()
        try:
            rows = conn.execute(sql, args).fetchall()
        finally:
            if own:
                conn.close()
        return [
            DatasetRecord(n, v, c, f, r, rj, p, json.loads(m)) for n, v, c, f, r, rj, p, m in rows
        ]

    # -- experiments ----------------------------------------------------------------------------

    def add_experiment(self, record: ExperimentRecord) -> None:
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM experiments WHERE name = ?", (record.name,)).fetchone():
                from critic.errors import SettingsError

                raise SettingsError(
                    f"an experiment named {record.name!r} exists; pick another --name or "
                    f"continue it with `critic train --resume {record.name}`"
                )
            conn.execute(
                "INSERT INTO experiments (name, dataset, model, status, created, updated, path, config, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.dataset,
                    record.model,
                    record.status,
                    record.created,
                    record.updated,
                    record.path,
                    json.dumps(record.config, sort_keys=True),
                    record.owner,
                ),
            )

    def record_epoch(
        self, name: str, epoch: int, metrics: dict, best_epoch: int | None, seconds: float, now: str
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO epochs (experiment, epoch, metrics) VALUES (?, ?, ?)",
                (name, epoch, json.dumps(metrics, sort_keys=True)),
            )
            conn.execute(
                "UPDATE experiments SET epochs_done = ?, best_epoch = ?, seconds = ?, updated = ? WHERE name = ?",
                (epoch, best_epoch, seconds, now, name),
            )

    def set_experiment_status(
        self, name: str, status: str, now: str, error: str | None = None, owner: str | None = None
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE experiments SET status = ?, error = ?, updated = ?, owner = ? WHERE name = ?",
                (status, error, now, owner, name),
            )

    def record_evaluation(
        self,
        experiment: str,
        checkpoint: str,
        subset: str,
        epoch: int,
        created: str,
        summary: dict,
        path: str,
        dataset: str,
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO evaluations"
                " (experiment, checkpoint, dataset, subset, epoch, created, summary, path)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    experiment,
                    checkpoint,
                    dataset,
                    subset,
                    epoch,
                    created,
                    json.dumps(summary, sort_keys=True),
                    path,
                ),
            )

    def evaluations(self, experiment: str) -> list[dict]:
        """The latest evaluation per (checkpoint, dataset, subset) of one experiment."""
        return self._evaluations(
            "WHERE experiment = ? ORDER BY checkpoint, dataset, subset", (experiment,)
        )

    def all_evaluations(self) -> list[dict]:
        """The latest evaluation per (experiment, checkpoint, dataset, subset), newest first: the
        same rows as `evaluations`, each with its experiment."""
        return self._evaluations(
            "ORDER BY created DESC, experiment, checkpoint, dataset, subset", ()
        )

    def _evaluations(self, where: str, args: tuple) -> list[dict]:
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT experiment, checkpoint, dataset, subset, epoch, created, summary, path"
                f" FROM evaluations {where}",
                args,
            ).fetchall()
        finally:
            conn.close()
        return [
            {
                "experiment": x,
                "checkpoint": c,
                "dataset": d,
                "subset": s,
                "epoch": e,
                "created": t,
                **json.loads(m),
                "path": p,
            }
            for x, c, d, s, e, t, m, p in rows
        ]

    # -- deployments ----------------------------------------------------------------------------

    def add_deployment(self, record: DeploymentRecord) -> None:
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM deployments WHERE name = ?", (record.name,)).fetchone():
                from critic.errors import SettingsError

                raise SettingsError(
                    f"a deployment named {record.name!r} exists; pick another --name or delete it first"
                )
            conn.execute(
                "INSERT INTO deployments (name, experiment, checkpoint, input_name, enabled, "
                "token_hash, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.experiment,
                    record.checkpoint,
                    record.input_name,
                    int(record.enabled),
                    record.token_hash,
                    record.created,
                    record.updated,
                ),
            )

    def update_deployment(
        self, name: str, updated: str, *, enabled: bool | None = None, token_hash: str | None = None
    ) -> bool:
        """False when there is no such deployment."""
        sets, args = ["updated = ?"], [updated]
        if enabled is not None:
            sets.append("enabled = ?")
            args.append(int(enabled))
        if token_hash is not None:
            sets.append("token_hash = ?")
            args.append(token_hash)
        with self.transaction() as conn:
            return (
                conn.execute(
                    f"UPDATE deployments SET {', '.join(sets)} WHERE name = ?", (*args, name)
                ).rowcount
                == 1
            )

    def delete_deployment(self, name: str) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM deployments WHERE name = ?", (name,)).rowcount == 1

    def deployments(self, name: str | None = None) -> list[DeploymentRecord]:
        conn = self._connect()
        try:
            sql = (
                "SELECT name, experiment, checkpoint, input_name, enabled, token_hash, created, "
                "updated FROM deployments" + (" WHERE name = ?" if name else "") + " ORDER BY name"
            )
            rows = conn.execute(sql, (name,) if name else ()).fetchall()
        finally:
            conn.close()
        return [
            DeploymentRecord(n, e, c, i, bool(en), h, cr, up) for n, e, c, i, en, h, cr, up in rows
        ]

    def experiments(self, name: str | None = None) -> list[ExperimentRecord]:
        conn = self._connect()
        try:
            sql = (
                "SELECT * FROM experiments"
                + (" WHERE name = ?" if name else "")
                + " ORDER BY created, name"
            )
            rows = conn.execute(sql, (name,) if name else ()).fetchall()
            out = []
            for row in rows:
                epochs = conn.execute(
                    "SELECT metrics FROM epochs WHERE experiment = ? ORDER BY epoch", (row[0],)
                ).fetchall()
                out.append(
                    ExperimentRecord(
                        *row[:11],
                        json.loads(row[11]),
                        row[12],
                        tuple(json.loads(e[0]) for e in epochs),
                    )
                )
            return out
        finally:
            conn.close()

    # -- jobs (the methods of critic.jobs go here) -----------------------------------------------

    _JOB_COLUMNS = (  # "user" quoted: a reserved word in PostgreSQL
        "id, kind, argv, state, created, started, ended, executor, handle, log, exit_code, error, "
        'target, "user"'
    )

    def add_job(self, record) -> bool:
        """Insert a new job (a critic.jobs.JobRecord); False when its id is taken."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (record.id,)).fetchone():
                return False
            conn.execute(
                f"INSERT INTO jobs ({self._JOB_COLUMNS}) VALUES ({', '.join('?' * 14)})",
                (
                    record.id,
                    record.kind,
                    json.dumps(list(record.argv)),
                    record.state,
                    record.created,
                    record.started,
                    record.ended,
                    record.executor,
                    record.handle,
                    record.log,
                    record.exit_code,
                    record.error,
                    record.target,
                    record.user,
                ),
            )
        return True

    def jobs(self, state: str | None = None, job_id: str | None = None) -> list:
        """Jobs (critic.jobs.JobRecord) in the order they were submitted, of one state or one id."""
        where = [(c, v) for c, v in (("state", state), ("id", job_id)) if v is not None]
        sql = f"SELECT {self._JOB_COLUMNS} FROM jobs" + (
            " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where) if where else ""
        )
        conn = self._connect()
        try:
            rows = conn.execute(sql + " ORDER BY created, id", [v for _, v in where]).fetchall()
        finally:
            conn.close()
        return [self._job(row) for row in rows]

    def claim_job(self, started: str, max_running: int):
        """Mark the oldest queued job running and return it, unless `max_running` jobs run already
        (None then, or when none is queued). One conditional UPDATE in a write transaction: two
        pools never claim the same job, nor together start more than `max_running`."""
        with self.transaction() as conn:
            rows = conn.execute(
                "UPDATE jobs SET state = 'running', started = ?"
                " WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY created, id LIMIT 1)"
                " AND (SELECT COUNT(*) FROM jobs WHERE state = 'running') < ?"
                f" RETURNING {self._JOB_COLUMNS}",
                (started, max_running),
            ).fetchall()  # all rows read before COMMIT (SQLite refuses to commit a pending RETURNING)
        return self._job(rows[0]) if rows else None

    def set_job_handle(self, job_id: str, handle: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE jobs SET handle = ? WHERE id = ?", (handle, job_id))

    def end_job(
        self,
        job_id: str,
        state: str,
        ended: str,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        was: tuple[str, ...] = ("running",),
    ) -> bool:
        """Record a job's end, only while its state is one of `was` (an end recorded first stays);
        a known exit code is kept. False when the job was not in one of those states."""
        with self.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE jobs SET state = ?, ended = ?, exit_code = COALESCE(?, exit_code), error = ?"
                    f" WHERE id = ? AND state IN ({', '.join('?' * len(was))})",
                    (state, ended, exit_code, error, job_id, *was),
                ).rowcount
                == 1
            )

    @staticmethod
    def _job(row: tuple):
        return JobRecord(row[0], row[1], tuple(json.loads(row[2])), *row[3:])

    # -- users and sessions (the methods of the workbench's login go here) -----------------------

    def add_user(self, name: str, password_hash: str, admin: bool, created: str) -> bool:
        """False when a user of that name exists."""
        with self.transaction() as conn:
            return self._insert_user(conn, name, password_hash, admin, created)

    def add_first_user(self, name: str, password_hash: str, admin: bool, created: str) -> bool:
        """Add the user only when there is no user at all (two servers starting at once: one wins)."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                return False
            return self._insert_user(conn, name, password_hash, admin, created)

    def users(self, name: str | None = None) -> list[dict]:
        """Each user as {name, password_hash, admin, created}, by name."""
        conn = self._connect()
        try:
            sql = "SELECT name, password_hash, admin, created FROM users" + (
                " WHERE name = ?" if name else ""
            )
            rows = conn.execute(sql + " ORDER BY name", (name,) if name else ()).fetchall()
        finally:
            conn.close()
        return [
            {"name": n, "password_hash": h, "admin": bool(a), "created": c} for n, h, a, c in rows
        ]

    def set_password(self, name: str, password_hash: str) -> bool:
        """False when there is no such user; the user's sessions end (a new password logs out)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
            sql = "UPDATE users SET password_hash = ? WHERE name = ?"
            return conn.execute(sql, (password_hash, name)).rowcount == 1

    def delete_user(self, name: str) -> bool:
        """False when there is no such user; the user's sessions go with it."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
            return conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1

    def add_session(
        self, token_hash: str, user: str, csrf: str, created: str, expires: str
    ) -> None:
        """A new session; expired ones are swept out on the way (so the table stays small)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires <= ?", (created,))
            conn.execute(
                "INSERT INTO sessions (token_hash, user, csrf, created, expires)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash, user, csrf, created, expires),
            )

    def session(self, token_hash: str, now: str) -> dict | None:
        """The unexpired session of that hash whose user still exists, as {token_hash, user,
        admin, csrf, created, expires}; None otherwise."""
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT s.token_hash, s.user, u.admin, s.csrf, s.created, s.expires"
                " FROM sessions s JOIN users u ON u.name = s.user"
                " WHERE s.token_hash = ? AND s.expires > ?",
                (token_hash, now),
            ).fetchone()
        finally:
            conn.close()
        keys = ("token_hash", "user", "admin", "csrf", "created", "expires")
        return None if row is None else {**dict(zip(keys, row)), "admin": bool(row[2])}

    def delete_session(self, token_hash: str) -> bool:
        with self.transaction() as conn:
            sql = "DELETE FROM sessions WHERE token_hash = ?"
            return conn.execute(sql, (token_hash,)).rowcount == 1

    @staticmethod
    def _insert_user(
        conn: sqlite3.Connection, name: str, password_hash: str, admin: bool, created: str
    ) -> bool:
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            return False
        conn.execute(
            "INSERT INTO users (name, password_hash, admin, created) VALUES (?, ?, ?, ?)",
            (name, password_hash, int(admin), created),
        )
        return True


def open_catalog(workspace) -> Catalog:
    """The catalog of a workspace (a critic.workspace.Workspace)."""
    return Catalog(workspace.catalog_path)
