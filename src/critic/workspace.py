"""Where critic keeps what it writes: one folder (CRITIC_HOME, default ~/.critic) holding the
SQLite catalog and the files, plus a download cache keyed by sha256."""

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

    @classmethod
    def from_env(cls) -> Workspace:
        """CRITIC_HOME (default ~/.critic); downloads go to $XDG_CACHE_HOME/critic when that is set,
        else to CRITIC_HOME/cache. Both are made absolute so nothing depends on the working directory."""
        root = Path(os.environ.get("CRITIC_HOME") or DEFAULT_HOME).expanduser().resolve()
        xdg = os.environ.get("XDG_CACHE_HOME")
        cache = Path(xdg).expanduser().resolve() / "critic" if xdg else root / "cache"
        return cls(root, cache)

    @classmethod
    def at(cls, root: str | os.PathLike) -> Workspace:
        root = Path(root).expanduser().resolve()
        return cls(root, root / "cache")

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.sqlite"

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
