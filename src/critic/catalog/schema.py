"""The catalog's schema: one list of migrations, the one source of truth for SQLite and
PostgreSQL alike (critic.catalog.engines runs them; `critic db upgrade` applies the pending ones)."""

from __future__ import annotations

import re

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "statements"]

# Each step brings a catalog from schema version i to i + 1. Written once for both engines: types
# both know (TEXT, INTEGER, DOUBLE PRECISION), "user" quoted (a reserved word in PostgreSQL), no
# engine-specific statements. Old steps are never edited in meaning: a catalog at version i has
# run exactly steps 1..i.
MIGRATIONS = [
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
        seconds     DOUBLE PRECISION NOT NULL DEFAULT 0,
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
        "user"      TEXT                -- who started it (the workbench login), if anyone
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
        "user"      TEXT NOT NULL REFERENCES users (name),
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
    # what runs a deployment's model: torch (PyTorch), onnx or onnx-int8 (ONNX Runtime on an export)
    "ALTER TABLE deployments ADD COLUMN runtime TEXT NOT NULL DEFAULT 'torch';",
]


SCHEMA_VERSION = len(MIGRATIONS)  # the version this code reads and writes


def statements(step: str) -> list[str]:
    """One migration step as single statements (comments dropped first: a ';' in a comment must
    not split a statement)."""
    without_comments = re.sub(r"--[^\n]*", "", step)
    return [s.strip() for s in without_comments.split(";") if s.strip()]
