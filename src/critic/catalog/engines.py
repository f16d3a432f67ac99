"""Where the catalog's rows live: an engine per database, chosen by URL (the workspace's
`database_url`). Both take the same SQL (`?` placeholders, the schema of critic.catalog.schema)
and give the same guarantee: write transactions are serialized, so a version number is taken
once, a job claimed once, and a reader never sees half of a write.

- SQLite (`sqlite:///path`, the default: a file in the workspace): WAL mode, a connection per
  operation, BEGIN IMMEDIATE for writes (the database lock).
- PostgreSQL (`postgresql://user:password@host:port/db`, the `cluster` extra): a small psycopg
  connection pool per process, and every write transaction takes one transaction-level advisory
  lock first: the same one-writer-at-a-time rule as SQLite, across every node that shares the
  database. Catalog writes are small bookkeeping rows, so one lock costs nothing worth a finer
  scheme, and it also covers the checks made before an insert (a name taken, a job limit)."""

from __future__ import annotations

import atexit
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from critic.catalog.schema import MIGRATIONS, SCHEMA_VERSION, statements
from critic.errors import CatalogUnavailable, SettingsError

__all__ = ["Engine", "engine_for", "display_url", "close_engine", "migrate"]

# the advisory lock every PostgreSQL write takes: any fixed 64-bit number, "critic" in ASCII
WRITE_LOCK = 0x637269746963


class Connection(Protocol):
    """What the catalog's queries use: `execute(sql with ? placeholders, args)` → a cursor with
    fetchone / fetchall / rowcount."""

    def execute(self, sql: str, args: Any = ()) -> Any: ...


class Engine(Protocol):
    url: str  # as the user gave it
    name: str  # "sqlite" or "postgresql"

    def reading(self) -> Any:
        """A context manager giving a connection for reads (each statement sees committed rows)."""
        ...

    def writing(self) -> Any:
        """A context manager giving a connection inside a write transaction that holds the write
        lock from its start; it commits at the end, or rolls back on an exception."""
        ...

    def schema_version(self, conn: Connection) -> int: ...

    def set_schema_version(self, conn: Connection, version: int) -> None: ...

    def upgrades_itself(self) -> bool:
        """Whether an outdated catalog is upgraded when opened (SQLite: a single user's file),
        rather than refused until `critic db upgrade` (a shared database)."""
        ...


def display_url(url: str) -> str:
    """The URL with its password hidden, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def engine_for(url: str) -> Engine:
    """The engine of a catalog URL; PostgreSQL engines are shared within a process (one pool)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return SQLiteEngine(_sqlite_path(url))
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return _postgres(url, os.getpid())
    raise SettingsError(
        f"CRITIC_DATABASE_URL {display_url(url)!r} is not a catalog URL: use "
        "postgresql://user:password@host:port/database, or sqlite:///path/to/catalog.sqlite "
        "(or leave it unset for the workspace's own SQLite file)"
    )


def _sqlite_path(url: str) -> Path:
    """sqlite:///relative/path or sqlite:////absolute/path (SQLAlchemy's form, which Optuna reads)."""
    path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
    if not path:
        raise SettingsError(f"{url!r}: a SQLite catalog URL is sqlite:///path/to/catalog.sqlite")
    return Path(path)


class SQLiteEngine:
    name = "sqlite"

    def __init__(self, path: Path):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a folder should be, no permission, ...
            raise SettingsError(
                f"cannot make the catalog's folder {self.path.parent}: {exc.strerror or exc}; "
                "check CRITIC_HOME (or CRITIC_DATABASE_URL)"
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below), so two writers
        # serialize on the database lock instead of failing half-way.
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            self._use_wal(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _use_wal(conn: sqlite3.Connection, seconds: float = 30.0) -> None:
        """Switch a new catalog to WAL (a no-op once it is). Two processes switching one new file
        at once each hold a shared lock and want an exclusive one; SQLite answers one of them
        "database is locked" at once rather than call the busy handler (that would deadlock), so
        that one waits and retries."""
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

    def schema_version(self, conn) -> int:
        return conn.execute("PRAGMA user_version").fetchone()[0]

    def set_schema_version(self, conn, version: int) -> None:
        conn.execute(f"PRAGMA user_version={int(version)}")

    def upgrades_itself(self) -> bool:
        return True


class _Placeholders:
    """A psycopg connection that takes the catalog's `?` placeholders (psycopg's are `%s`; the
    catalog's SQL has no literal `%` or `?` elsewhere)."""

    def __init__(self, raw):
        self.raw = raw

    def execute(self, sql: str, args: Any = ()):
        return self.raw.execute(_pg_sql(sql), tuple(args))


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return re.sub(r"\?", "%s", sql)


class PostgresEngine:
    name = "postgresql"

    def __init__(self, url: str):
        try:
            import psycopg  # noqa: F401 - the driver, checked here so the message can name the extra
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise SettingsError(
                "the catalog is on PostgreSQL (CRITIC_DATABASE_URL) but the driver is not "
                "installed: pip install 'critic[cluster]'"
            ) from exc
        self.url = url
        conninfo = re.sub(r"^postgres(ql)?\+psycopg:", "postgresql:", url)
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=int(os.environ.get("CRITIC_DATABASE_POOL", "8")),
            kwargs={"autocommit": True, "connect_timeout": 10},
            # a connection is checked as it is handed out (one round trip): after a database
            # restart, the dead ones are replaced instead of failing the next request
            check=ConnectionPool.check_connection,
            open=False,
            name="critic-catalog",
        )
        self._opened = False
        self._lock = threading.Lock()

    def _open(self) -> None:
        """Open the pool on first use, after one direct connection: a wrong URL, password or
        host fails at once with the server's own reason (the pool would only retry and time out)."""
        import psycopg

        with self._lock:
            if self._opened:
                return
            try:
                psycopg.connect(self.pool.conninfo, connect_timeout=10).close()
            except psycopg.OperationalError as exc:
                raise self._unavailable(exc) from exc
            self.pool.open(wait=False)
            atexit.register(self.close)
            self._opened = True

    def close(self) -> None:
        if self._opened:
            self.pool.close(timeout=1.0)

    def _unavailable(self, exc: Exception) -> CatalogUnavailable:
        # psycopg's message: "connection failed: connection to server at …: Connection refused" and
        # a hint on the next lines; kept whole, on one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return CatalogUnavailable(
            f"cannot reach the catalog database {display_url(self.url)}: {reason} "
            "(check CRITIC_DATABASE_URL and that PostgreSQL is running)"
        )

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        import psycopg
        from psycopg_pool import PoolTimeout

        self._open()
        try:
            with self.pool.connection(timeout=15) as raw:
                yield raw
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if isinstance(exc, psycopg.errors.QueryCanceled):  # not the server: our own timeout
                raise
            raise self._unavailable(exc) from exc

    @contextmanager
    def reading(self) -> Iterator[_Placeholders]:
        with self._connection() as raw:
            yield _Placeholders(raw)

    @contextmanager
    def writing(self) -> Iterator[_Placeholders]:
        with self._connection() as raw, raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield _Placeholders(raw)

    def schema_version(self, conn) -> int:
        # pg_tables read by a plain query (this statement's snapshot), not to_regclass: that
        # looks in the session's catalog cache, which an advisory lock wait does not refresh, so
        # a process that waited for another's migration would not see its table and migrate again
        exists = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
            " WHERE schemaname = current_schema() AND tablename = 'critic_schema')"
        ).fetchone()[0]
        if not exists:
            return 0
        row = conn.execute("SELECT version FROM critic_schema").fetchone()
        return row[0] if row else 0

    def set_schema_version(self, conn, version: int) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS critic_schema (version INTEGER NOT NULL)")
        conn.execute("DELETE FROM critic_schema")
        conn.execute("INSERT INTO critic_schema (version) VALUES (?)", (int(version),))

    def upgrades_itself(self) -> bool:
        return False


_POSTGRES: dict[tuple[str, int], PostgresEngine] = {}
_POSTGRES_LOCK = threading.Lock()


def _postgres(url: str, pid: int) -> PostgresEngine:
    """One engine (one pool) per URL per process: a forked child makes its own."""
    with _POSTGRES_LOCK:
        if (url, pid) not in _POSTGRES:
            _POSTGRES[(url, pid)] = PostgresEngine(url)
        return _POSTGRES[(url, pid)]


def close_engine(url: str) -> None:
    """Close this process's pool for `url` (a test dropping its database; a long-lived process
    done with a catalog); the next use opens a new one."""
    with _POSTGRES_LOCK:
        engine = _POSTGRES.pop((url, os.getpid()), None)
    if engine is not None:
        engine.close()


def migrate(engine: Engine, conn: Connection, to: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Apply the pending migrations inside the caller's write transaction; (before, after)."""
    before = engine.schema_version(conn)
    for step in MIGRATIONS[before:to]:
        for statement in statements(step):
            conn.execute(statement)
    if to > before:
        engine.set_schema_version(conn, to)
    return before, max(before, to)
