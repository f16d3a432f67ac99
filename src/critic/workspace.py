"""Where critic keeps what it writes: one folder (CRITIC_HOME, default ~/.critic) holding the
files and, by default, the SQLite catalog, plus a download cache keyed by sha256. On a cluster the
folder is a filesystem mounted on every node and the catalog a PostgreSQL database named by
CRITIC_DATABASE_URL; the catalog records paths relative to the folder, so any node finds them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Workspace", "DEFAULT_HOME"]

DEFAULT_HOME = Path("~/.critic")


@dataclass(frozen=True)
class Workspace:
    root: Path
    cache: Path
    # CRITIC_DATABASE_URL: postgresql://user:password@host:port/db (or sqlite:///path); None: the
    # SQLite file in the workspace
    database: str | None = None

    @classmethod
    def from_env(cls) -> Workspace:
        """CRITIC_HOME (default ~/.critic); downloads go to $XDG_CACHE_HOME/critic when that is set,
        else to CRITIC_HOME/cache. Both are made absolute so nothing depends on the working directory."""
        root = Path(os.environ.get("CRITIC_HOME") or DEFAULT_HOME).expanduser().resolve()
        xdg = os.environ.get("XDG_CACHE_HOME")
        cache = Path(xdg).expanduser().resolve() / "critic" if xdg else root / "cache"
        return cls(root, cache, _database_from_env())

    @classmethod
    def at(cls, root: str | os.PathLike) -> Workspace:
        root = Path(root).expanduser().resolve()
        return cls(root, root / "cache", _database_from_env())

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def database_url(self) -> str:
        """The catalog's database: CRITIC_DATABASE_URL, else the SQLite file in the workspace."""
        return self.database or f"sqlite:///{self.catalog_path}"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def experiments(self) -> Path:
        return self.root / "experiments"

    @property
    def graphs(self) -> Path:
        """Model graphs saved from the canvas, as TOML files `critic train --config` reads."""
        return self.root / "graphs"

    @property
    def downloads(self) -> Path:
        return self.cache / "downloads"

    def ensure(self) -> Workspace:
        for path in (self.root, self.datasets, self.experiments, self.downloads):
            path.mkdir(parents=True, exist_ok=True)
        return self


def _database_from_env() -> str | None:
    return os.environ.get("CRITIC_DATABASE_URL", "").strip() or None
