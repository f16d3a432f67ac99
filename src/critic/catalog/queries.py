"""The catalog's queries: the one place that knows which dataset versions, experiments,
evaluations, deployments, jobs and logins exist. The SQL here runs unchanged on every engine of
critic.catalog.engines (SQLite by default, PostgreSQL by CRITIC_DATABASE_URL).

Files are written first (into a temporary folder, then renamed into place) and the catalog row is
inserted last, in one transaction: a version is visible only once all its files are complete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from critic.catalog.engines import Connection, Engine, display_url, engine_for, migrate
from critic.catalog.records import DatasetRecord, DeploymentRecord, ExperimentRecord, JobRecord
from critic.catalog.schema import SCHEMA_VERSION
from critic.errors import CatalogVersionError, SettingsError

__all__ = ["Catalog"]


class Catalog:
    """The catalog at `where`: a SQLite file's path, or a database URL (sqlite:///…,
    postgresql://…). Opening checks the schema: a catalog newer than this code is refused; an
    older one is upgraded (SQLite) or refused until `critic db upgrade` (PostgreSQL, shared by
    servers that may run older code); an empty database is given the schema."""

    def __init__(self, where: str | Path, *, check: bool = True):
        url = where if isinstance(where, str) and "://" in where else f"sqlite:///{where}"
        self.engine: Engine = engine_for(url)
        self.url = display_url(self.engine.url)
        if check:
            self._check_schema()

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on another engine."""
        return getattr(self.engine, "path", None)

    def schema_version(self) -> int:
        with self.engine.reading() as conn:
            return self.engine.schema_version(conn)

    def _check_schema(self) -> None:
        found = self.schema_version()
        if found == SCHEMA_VERSION:
            return
        if found > SCHEMA_VERSION:
            raise CatalogVersionError(
                f"the catalog {self.url} has schema version {found}, newer than this critic's "
                f"({SCHEMA_VERSION}): another node upgraded it; upgrade critic here too "
                "(pip install -U critic)"
            )
        if found > 0 and not self.engine.upgrades_itself():
            raise CatalogVersionError(
                f"the catalog {self.url} has schema version {found}, older than this critic's "
                f"({SCHEMA_VERSION}): run `critic db upgrade` once (then every node runs this "
                "version of critic)"
            )
        self.upgrade()

    def upgrade(self) -> tuple[int, int]:
        """Apply the pending migrations, in one write transaction (one process migrates; the
        others wait, then find it done); (version before, version after)."""
        with self.engine.writing() as conn:
            before = self.engine.schema_version(conn)
            if before > SCHEMA_VERSION:
                raise CatalogVersionError(
                    f"the catalog {self.url} has schema version {before}, newer than this "
                    f"critic's ({SCHEMA_VERSION}): upgrade critic instead"
                )
            return migrate(self.engine, conn)

    def counts(self) -> dict[str, int]:
        """Rows per table: what `critic db status` shows."""
        tables = ("datasets", "experiments", "evaluations", "deployments", "jobs", "users")
        with self.engine.reading() as conn:
            return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction that holds the write lock from its start; commits or rolls back."""
        with self.engine.writing() as conn:
            yield conn

    @contextmanager
    def _reading(self, conn: Connection | None = None) -> Iterator[Connection]:
        """The caller's connection (inside its transaction), or one for reads."""
        if conn is not None:
            yield conn
            return
        with self.engine.reading() as own:
            yield own

    # -- datasets -------------------------------------------------------------------------------

    def datasets(
        self, name: str | None = None, conn: Connection | None = None
    ) -> list[DatasetRecord]:
        sql = (
            "SELECT * FROM datasets"
            + (" WHERE name = ?" if name else "")
            + " ORDER BY name, version"
        )
        return self._query(sql, (name,) if name else (), conn)

    def dataset(
        self, name: str, version: int | None = None, conn: Connection | None = None
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
        self, conn: Connection, name: str, fingerprint: str
    ) -> DatasetRecord | None:
        rows = self._query(
            "SELECT * FROM datasets WHERE name = ? AND fingerprint = ? ORDER BY version LIMIT 1",
            (name, fingerprint),
            conn,
        )
        return rows[0] if rows else None

    @staticmethod
    def next_dataset_version(conn: Connection, name: str) -> int:
        (last,) = conn.execute(
            "SELECT MAX(version) FROM datasets WHERE name = ?", (name,)
        ).fetchone()
        return (last or 0) + 1

    @staticmethod
    def insert_dataset(conn: Connection, record: DatasetRecord) -> None:
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

    def _query(self, sql: str, args: tuple, conn: Connection | None) -> list[DatasetRecord]:
        with self._reading(conn) as conn:
            rows = conn.execute(sql, args).fetchall()
        return [
            DatasetRecord(n, v, c, f, r, rj, p, json.loads(m)) for n, v, c, f, r, rj, p, m in rows
        ]

    # -- experiments ----------------------------------------------------------------------------

    def add_experiment(self, record: ExperimentRecord) -> None:
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM experiments WHERE name = ?", (record.name,)).fetchone():
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
                "INSERT INTO epochs (experiment, epoch, metrics) VALUES (?, ?, ?)"
                " ON CONFLICT (experiment, epoch) DO UPDATE SET metrics = excluded.metrics",
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
                "INSERT INTO evaluations"
                " (experiment, checkpoint, dataset, subset, epoch, created, summary, path)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (experiment, checkpoint, dataset, subset) DO UPDATE SET"
                " epoch = excluded.epoch, created = excluded.created, summary = excluded.summary,"
                " path = excluded.path",
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
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT experiment, checkpoint, dataset, subset, epoch, created, summary, path"
                f" FROM evaluations {where}",
                args,
            ).fetchall()
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
                raise SettingsError(
                    f"a deployment named {record.name!r} exists; pick another --name or delete it first"
                )
            conn.execute(
                "INSERT INTO deployments (name, experiment, checkpoint, input_name, enabled, "
                "token_hash, created, updated, runtime)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.experiment,
                    record.checkpoint,
                    record.input_name,
                    int(record.enabled),
                    record.token_hash,
                    record.created,
                    record.updated,
                    record.runtime,
                ),
            )

    def update_deployment(
        self,
        name: str,
        updated: str,
        *,
        enabled: bool | None = None,
        token_hash: str | None = None,
        runtime: str | None = None,
    ) -> bool:
        """False when there is no such deployment."""
        sets, args = ["updated = ?"], [updated]
        for column, value in (
            ("enabled", enabled),
            ("token_hash", token_hash),
            ("runtime", runtime),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(int(value) if isinstance(value, bool) else value)
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
        with self._reading() as conn:
            sql = (
                "SELECT name, experiment, checkpoint, input_name, enabled, token_hash, created, "
                "updated, runtime FROM deployments"
                + (" WHERE name = ?" if name else "")
                + " ORDER BY name"
            )
            rows = conn.execute(sql, (name,) if name else ()).fetchall()
        return [
            DeploymentRecord(n, e, c, i, bool(en), h, cr, up, rt)
            for n, e, c, i, en, h, cr, up, rt in rows
        ]

    def experiments(self, name: str | None = None) -> list[ExperimentRecord]:
        """Experiments by creation, each with its epochs' metrics: two queries, whatever the count
        (a round trip per experiment would cost a shared database more than the reading)."""
        where, args = (" WHERE name = ?", (name,)) if name else ("", ())
        epoch_where = " WHERE experiment = ?" if name else ""
        with self._reading() as conn:
            rows = conn.execute(f"SELECT * FROM experiments{where} ORDER BY created, name", args)
            rows = rows.fetchall()
            epochs: dict[str, list[dict]] = {}
            for experiment, metrics in conn.execute(
                f"SELECT experiment, metrics FROM epochs{epoch_where} ORDER BY experiment, epoch",
                args,
            ).fetchall():
                epochs.setdefault(experiment, []).append(json.loads(metrics))
        return [
            ExperimentRecord(*row[:11], json.loads(row[11]), row[12], tuple(epochs.get(row[0], ())))
            for row in rows
        ]

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
        with self._reading() as conn:
            rows = conn.execute(sql + " ORDER BY created, id", [v for _, v in where]).fetchall()
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
        with self._reading() as conn:
            sql = "SELECT name, password_hash, admin, created FROM users" + (
                " WHERE name = ?" if name else ""
            )
            rows = conn.execute(sql + " ORDER BY name", (name,) if name else ()).fetchall()
        return [
            {"name": n, "password_hash": h, "admin": bool(a), "created": c} for n, h, a, c in rows
        ]

    def set_password(self, name: str, password_hash: str) -> bool:
        """False when there is no such user; the user's sessions end (a new password logs out)."""
        with self.transaction() as conn:
            conn.execute('DELETE FROM sessions WHERE "user" = ?', (name,))
            sql = "UPDATE users SET password_hash = ? WHERE name = ?"
            return conn.execute(sql, (password_hash, name)).rowcount == 1

    def delete_user(self, name: str) -> bool:
        """False when there is no such user; the user's sessions go with it."""
        with self.transaction() as conn:
            conn.execute('DELETE FROM sessions WHERE "user" = ?', (name,))
            return conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1

    def add_session(
        self, token_hash: str, user: str, csrf: str, created: str, expires: str
    ) -> None:
        """A new session; expired ones are swept out on the way (so the table stays small)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires <= ?", (created,))
            conn.execute(
                'INSERT INTO sessions (token_hash, "user", csrf, created, expires)'
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash, user, csrf, created, expires),
            )

    def session(self, token_hash: str, now: str) -> dict | None:
        """The unexpired session of that hash whose user still exists, as {token_hash, user,
        admin, csrf, created, expires}; None otherwise."""
        with self._reading() as conn:
            row = conn.execute(
                'SELECT s.token_hash, s."user", u.admin, s.csrf, s.created, s.expires'
                ' FROM sessions s JOIN users u ON u.name = s."user"'
                " WHERE s.token_hash = ? AND s.expires > ?",
                (token_hash, now),
            ).fetchone()
        keys = ("token_hash", "user", "admin", "csrf", "created", "expires")
        return None if row is None else {**dict(zip(keys, row)), "admin": bool(row[2])}

    def delete_session(self, token_hash: str) -> bool:
        with self.transaction() as conn:
            sql = "DELETE FROM sessions WHERE token_hash = ?"
            return conn.execute(sql, (token_hash,)).rowcount == 1

    @staticmethod
    def _insert_user(
        conn: Connection, name: str, password_hash: str, admin: bool, created: str
    ) -> bool:
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            return False
        conn.execute(
            "INSERT INTO users (name, password_hash, admin, created) VALUES (?, ?, ?, ?)",
            (name, password_hash, int(admin), created),
        )
        return True
