"""The model canvas's library side: a model as config tables (the very tables of a TOML file that
`critic train --config` reads), checked block by block while it is edited, and written to and
read from TOML. The workbench's canvas calls these; it has no model format of its own.

    tables_of("kim-cnn")          → {"encoder": {...}, "model": {"blocks": [...]}, "train": {...}}
    check_tables(tables)          → each block's output shape and parameters, or the error and
                                    the block it names
    to_toml(tables) / from_toml() → the file, and back to the same tables
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from critic.config import LINEAR_TRAIN_SETTINGS, ExperimentConfig
from critic.errors import GraphNotFound, SettingsError
from critic.experiments.configure import assemble_config, input_spec_of, resolve_config
from critic.models.linear import LinearSettings
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = [
    "BlockCheck",
    "Check",
    "SavedGraph",
    "tables_of",
    "check_tables",
    "to_toml",
    "from_toml",
    "save_graph",
    "load_graph",
    "list_graphs",
    "delete_graph",
    "graph_path",
]

# a GraphError about a block starts "block 'ID'"; one about a dangling output names "block(s) ['ID'"
_BLOCK = re.compile(r"^block '([^']+)'|block\(s\) \['([^']+)'")
_NOT_IN_FILES = ("config",)  # a Transformer's config is read from its source, never written


@dataclass(frozen=True)
class BlockCheck:
    id: str
    type: str
    output: str  # e.g. "seq (B, 64, 650)"
    parameters: int


@dataclass(frozen=True)
class Check:
    ok: bool
    blocks: list[BlockCheck]  # empty when the graph does not build (or the model is linear)
    parameters: int
    error: str | None = None  # what is wrong and what to do
    block: str | None = None  # the block the error is about, if one


def tables_of(target: str | ExperimentConfig) -> dict:
    """The config tables of a preset (by name) or of an assembled config: where a canvas starts."""
    config = assemble_config("", preset=target) if isinstance(target, str) else target
    out = {}  # in the order a file reads best: encoder, model, train
    if config.encoder is not None:
        out["encoder"] = _without_none(config.as_dict()["encoder"])
    train = config.as_dict()["train"]
    if isinstance(
        config.model, LinearSettings
    ):  # it reads no other train setting, and refuses them
        train = {k: v for k, v in train.items() if k in LINEAR_TRAIN_SETTINGS}
    return {**out, "model": _model_table(config), "train": _without_none(train)}


def check_tables(tables: dict, n_classes: int = 2) -> Check:
    """Build the graph on the meta device (no weights): every block's output shape and parameter
    count, or the first error with the block it names."""
    from critic.models.draw import summarize  # torch: only when a graph is built

    try:
        config = resolve_config(assemble_config("", tables=tables))
        if isinstance(config.model, LinearSettings):
            return Check(True, [], 0)
        summary = summarize(config.model, input_spec_of(config.encoder), n_classes)
    except SettingsError as exc:
        match = _BLOCK.search(str(exc))
        return Check(False, [], 0, str(exc), next(filter(None, match.groups())) if match else None)
    blocks = [BlockCheck(r.id, r.type, r.output, r.parameters) for r in summary.rows]
    return Check(True, blocks, summary.total)


def to_toml(tables: dict) -> str:
    """The tables as a TOML file `critic train --config` reads (settings that are unset left out)."""
    return tomli_w.dumps(_without_none(tables))


def from_toml(text: str) -> dict:
    """A TOML file's tables, checked as `critic train --config` checks them."""
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML: {exc}") from None
    assemble_config("", tables=tables)  # unknown tables, blocks and settings are named here
    return tables


@dataclass(frozen=True)
class SavedGraph:
    name: str
    path: Path
    updated: str  # ISO time of the file's last write (UTC)


def graph_path(name: str, workspace: Workspace | None = None) -> Path:
    workspace = workspace or Workspace.from_env()
    return workspace.graphs / f"{validate_name(name, 'graph name')}.toml"


def save_graph(name: str, tables: dict, workspace: Workspace | None = None) -> SavedGraph:
    """Write `tables` (checked as `critic train --config` checks them) to graphs/NAME.toml: whole
    or not at all (a temporary file renamed over the old one)."""
    text = to_toml(tables)
    from_toml(text)  # refuse what the CLI would refuse, before anything is written
    path = graph_path(name, workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".part", delete=False) as part:
        part.write(text)
    os.replace(part.name, path)
    return _saved(path)


def load_graph(name: str, workspace: Workspace | None = None) -> dict:
    """The tables of a saved graph."""
    path = graph_path(name, workspace)
    if not path.is_file():
        raise GraphNotFound(f"no saved graph {name!r}: the canvas's Save writes one")
    return from_toml(path.read_text())


def list_graphs(workspace: Workspace | None = None) -> list[SavedGraph]:
    workspace = workspace or Workspace.from_env()
    if not workspace.graphs.is_dir():
        return []
    return [_saved(p) for p in sorted(workspace.graphs.glob("*.toml"))]


def delete_graph(name: str, workspace: Workspace | None = None) -> None:
    path = graph_path(name, workspace)
    if not path.is_file():
        raise GraphNotFound(f"no saved graph {name!r}")
    path.unlink()


def _saved(path: Path) -> SavedGraph:
    updated = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return SavedGraph(path.stem, path, updated)


def _model_table(config: ExperimentConfig) -> dict:
    model = config.as_dict()["model"]
    if isinstance(config.model, LinearSettings):
        return _without_none(model)
    blocks = [
        {k: v for k, v in block.items() if k not in _NOT_IN_FILES} for block in model["blocks"]
    ]
    return _without_none({**model, "blocks": blocks})


def _without_none(value):
    """TOML has no null: an unset setting is left out (its default applies when read back)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value]
    return value
