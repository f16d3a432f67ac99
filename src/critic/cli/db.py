"""`critic db`: the catalog's database (CRITIC_DATABASE_URL, or the workspace's SQLite file): which
one, at what schema version, and the upgrade that brings it to this critic's."""

from __future__ import annotations

from critic.cli.base import App
from critic.cli.render import console

__all__ = ["app"]

app = App(
    no_args_is_help=True,
    help="The catalog's database: where it is, its schema version, upgrades.",
)


def _catalog():
    from critic.catalog import Catalog
    from critic.workspace import Workspace

    workspace = Workspace.from_env()
    return workspace, Catalog(workspace.database_url, check=False)


@app.command("status")
def db_status() -> None:
    """Which database holds the catalog, its schema version against this critic's, its rows."""
    from critic.catalog import SCHEMA_VERSION

    workspace, catalog = _catalog()
    found = catalog.schema_version()
    console.print(f"catalog    {catalog.url} ({catalog.engine.name})")
    console.print(f"files      {workspace.root}")
    state = (
        "up to date"
        if found == SCHEMA_VERSION
        else "empty: created on first use"
        if found == 0
        else f"older: run `critic db upgrade` to reach {SCHEMA_VERSION}"
        if found < SCHEMA_VERSION
        else f"newer than this critic ({SCHEMA_VERSION}): upgrade critic"
    )
    console.print(f"schema     {found} ({state})")
    if 0 < found <= SCHEMA_VERSION:
        counts = catalog.counts()
        console.print("rows       " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply the pending migrations (in one transaction; safe to run twice or on two nodes at
    once). Run it once after installing a new critic on a shared PostgreSQL catalog; a SQLite
    catalog upgrades itself when opened."""
    _, catalog = _catalog()
    before, after = catalog.upgrade()
    if before == after:
        console.print(f"catalog {catalog.url} is up to date (schema {after})")
    else:
        console.print(f"upgraded catalog {catalog.url}: schema {before} → {after}")
