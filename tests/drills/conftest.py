"""Shared by the drills: the state a failed operation must leave untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from critic.workspace import Workspace


def snapshot(workspace: Workspace) -> tuple:
    """Every catalog row and every file under datasets/, experiments/ and deployments/."""
    rows = ()
    if workspace.catalog_path.exists():
        with sqlite3.connect(workspace.catalog_path) as conn:
            tables = [
                t
                for (t,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            rows = tuple(
                (t, tuple(sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))))) for t in tables
            )
    files = tuple(
        sorted(
            str(p.relative_to(workspace.root))
            for p in Path(workspace.root).rglob("*")
            if p.parts[len(Path(workspace.root).parts)]
            in ("datasets", "experiments", "deployments")
        )
    )
    return rows, files


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
