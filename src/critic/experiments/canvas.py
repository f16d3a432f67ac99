"""The model canvas's library side: a model as config tables (the very tables of a TOML file that
`critic train --config` reads), checked block by block while it is edited, and written to and
read from TOML. The workbench's canvas calls these; it has no model format of its own.

    tables_of("kim-cnn")          → {"encoder": {...}, "model": {"blocks": [...]}, "train": {...}}
    check_tables(tables)          → each block's output shape and parameters, or the error and
                                    the block it names
    to_toml(tables) / from_toml() → the file, and back to the same tables
    canvas_of(tables)             → what the canvas draws: one node per block, placed by depth, the
                                    Input node holding the encoder table
    tables_from_canvas(canvas)    → the canvas's nodes and wires back to the tables (the one
                                    translation; the page never builds tables itself)
    palette()                     → every block type and encoder kind with their typed settings
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
from critic.errors import GraphError, GraphNotFound, SettingsError
from critic.experiments.configure import (
    ENSEMBLE_TRAIN_SETTINGS,
    assemble_config,
    input_spec_of,
    resolve_config,
)
from critic.models.ensemble import EnsembleSettings
from critic.models.graph import GraphSpec
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
    "palette",
    "canvas_of",
    "tables_from_canvas",
    "check_canvas",
    "MAX_BLOCKS",
]

# a GraphError about a block starts "block 'ID'" (or "block id 'ID'"); one about a dangling
# output names "block(s) ['ID'"
_BLOCK = re.compile(r"^block (?:id )?'([^']+)'|block\(s\) \['([^']+)'")
_NOT_IN_FILES = ("config",)  # a Transformer's config is read from its source, never written
MAX_BLOCKS = 200  # blocks on one canvas (a Kim CNN has 15)


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
    # the linear model and an ensemble read few train settings, and refuse the others
    if isinstance(config.model, LinearSettings):
        train = {k: v for k, v in train.items() if k in LINEAR_TRAIN_SETTINGS}
    elif isinstance(config.model, EnsembleSettings):
        train = {k: v for k, v in train.items() if k in ENSEMBLE_TRAIN_SETTINGS}
    return {**out, "model": _model_table(config), "train": _without_none(train)}


def check_tables(tables: dict, n_classes: int = 2) -> Check:
    """Build the graph on the meta device (no weights): every block's output shape and parameter
    count, or the first error with the block it names."""
    from critic.models.draw import summarize  # torch: only when a graph is built

    try:
        config = resolve_config(assemble_config("", tables=tables))
        if not isinstance(config.model, GraphSpec):  # linear, ensemble: no graph to build
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
    if not isinstance(config.model, GraphSpec):
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


# -- the canvas's side: nodes and wires ⇄ tables ---------------------------------------------------


def palette() -> dict:
    """What the canvas may hold: every block type (`critic.models.blocks.block_catalogue`) and
    every encoder kind the Input block can carry, with typed settings and their defaults."""
    from critic.models.blocks import block_catalogue

    return {"blocks": block_catalogue(), "encoders": _encoder_catalogue()}


def _encoder_catalogue() -> list[dict]:
    from critic.models.blocks import settings_of
    from critic.text.encoders import MultiHotSettings, WordSequenceSettings
    from critic.text.wordpiece import TRUNCATIONS, WordPieceSettings

    kinds = (
        ("words", "word ids (a vocabulary fitted on the train subset)", WordSequenceSettings,
         {"padding": ("post", "pre"), "truncation": ("post", "pre")}),
        ("multi-hot", "one vector of the words present (no order)", MultiHotSettings, {}),
        ("wordpiece", "WordPiece ids of a pretrained model (BERT, MiniLM)", WordPieceSettings,
         {"truncation": TRUNCATIONS}),
    )  # fmt: skip
    return [
        {
            "kind": kind,
            "about": about,
            "settings": [s for s in settings_of(cls, choices) if s["name"] != "kind"],
        }
        for kind, about, cls, choices in kinds
    ]


def canvas_of(tables: dict) -> dict:
    """The canvas's view of config tables (a preset's, or a saved graph's):

        {"blocks": [{"id", "type", "settings", "inputs", "column", "row"}, ...],
         "init": "keras", "train": {...}}

    The Input block's settings are the encoder table (kind included); column is the block's depth
    in the graph (Input 0) and row its rank within that column: a left-to-right layout, since a
    TOML file keeps no positions. Inputs keep their order (Concatenate joins in that order)."""
    config = assemble_config("", tables=tables)
    if isinstance(config.model, LinearSettings):
        raise SettingsError(
            "the linear model is fitted in one pass and has no block graph to draw; "
            'its settings go in a [model] table with kind = "linear"'
        )
    if isinstance(config.model, EnsembleSettings):
        raise SettingsError(
            "an ensemble has no block graph to draw: it combines trained models; "
            'its members go in a [model] table with kind = "ensemble"'
        )
    blocks = _model_table(config)["blocks"]
    encoder = _without_none(config.as_dict()["encoder"])
    depth, rows, nodes = {}, {}, []
    for block in blocks:
        settings = {k: v for k, v in block.items() if k not in ("id", "type", "inputs")}
        if block["type"] == "Input":
            settings = encoder
        column = 1 + max((depth[i] for i in block["inputs"]), default=-1)
        depth[block["id"]] = column
        rows[column] = rows.get(column, -1) + 1
        nodes.append(
            {
                "id": block["id"],
                "type": block["type"],
                "settings": settings,
                "inputs": list(block["inputs"]),
                "column": column,
                "row": rows[column],
            }
        )
    # the train table as written (a preset's is whole): what the canvas saves back unchanged
    train = tables.get("train", {}) if "preset" not in tables else tables_of(config)["train"]
    return {"blocks": nodes, "init": config.model.init, "train": train}


def tables_from_canvas(canvas: dict) -> dict:
    """The config tables of a canvas (`canvas_of`'s shape; column and row ignored): blocks put in
    an order where each comes after its inputs (Input first, Output last), the Input block's
    settings as the [encoder] table, numbers typed as the settings are. Raises GraphError naming
    the block for what only a canvas can get wrong (a name twice, a wire from nowhere, a circle)."""
    blocks = canvas.get("blocks") if isinstance(canvas, dict) else None
    if not isinstance(blocks, list) or not blocks:
        raise GraphError("the canvas is empty: add an Input block, then the blocks after it")
    if len(blocks) > MAX_BLOCKS:
        raise GraphError(f"a canvas holds at most {MAX_BLOCKS} blocks, got {len(blocks)}")
    nodes = [_node(item, i) for i, item in enumerate(blocks)]
    starts = [n for n in nodes if n["type"] == "Input"]
    if len(starts) != 1:
        raise GraphError(
            "a graph starts with one Input block (it holds the encoder settings)"
            if not starts
            else f"block {starts[1]['id']!r}: a graph has only one Input block; remove this one"
        )
    ids = [n["id"] for n in nodes]
    for n in nodes:
        if ids.count(n["id"]) > 1:
            raise GraphError(f"block {n['id']!r}: two blocks have this name; rename one")
        for name in n["inputs"]:
            if name not in ids:
                raise GraphError(f"block {n['id']!r}: its input {name!r} is not on the canvas")
    model = {
        "init": canvas.get("init", "keras"),
        "blocks": [
            {"id": n["id"], "type": n["type"], "inputs": n["inputs"]}
            | ({} if n["type"] == "Input" else _typed(n["type"], n["settings"]))
            for n in _flow_order(nodes)
        ],
    }
    tables = {"encoder": _typed_encoder(starts[0]["settings"]), "model": model}
    train = canvas.get("train")
    if train:
        if not isinstance(train, dict):
            raise SettingsError("the canvas's train settings must be a table")
        tables["train"] = train
    return tables


def check_canvas(canvas: dict, n_classes: int = 2) -> tuple[dict | None, Check]:
    """The canvas's tables and their check; (None, the error) when they cannot even be made."""
    try:
        tables = tables_from_canvas(canvas)
    except SettingsError as exc:
        match = _BLOCK.search(str(exc))
        return None, Check(
            False, [], 0, str(exc), next(filter(None, match.groups())) if match else None
        )
    return tables, check_tables(tables, n_classes)


def _node(item, i: int) -> dict:
    if not isinstance(item, dict):
        raise GraphError(f"block #{i + 1} of the canvas is not a table")
    block_id, block_type = item.get("id"), item.get("type")
    if not isinstance(block_id, str) or not isinstance(block_type, str):
        raise GraphError(f"block #{i + 1} of the canvas needs a name (id) and a type")
    settings, inputs = item.get("settings") or {}, item.get("inputs") or []
    if not isinstance(settings, dict) or not isinstance(inputs, list):
        raise GraphError(f"block {block_id!r}: settings must be a table and inputs a list")
    if not all(isinstance(name, str) for name in inputs):
        raise GraphError(f"block {block_id!r}: its inputs must be block names")
    return {"id": block_id, "type": block_type, "settings": settings, "inputs": list(inputs)}


def _flow_order(nodes: list[dict]) -> list[dict]:
    """Each block after its inputs, otherwise in canvas order; Input first and Output last where
    the wires allow (the graph reader wants both so)."""
    rank = {"Input": 0, "Output": 2}
    pending = sorted(nodes, key=lambda n: rank.get(n["type"], 1))  # stable: canvas order kept
    done: list[dict] = []
    placed: set[str] = set()
    while pending:
        ready = next((n for n in pending if set(n["inputs"]) <= placed), None)
        if ready is None:  # every block left waits for another: a circle
            raise GraphError(
                f"block {pending[0]['id']!r}: its wires go round in a circle; a graph flows one way, "
                f"from Input to Output"
            )
        pending.remove(ready)
        done.append(ready)
        placed.add(ready["id"])
    return done


def _typed(block_type: str, settings: dict) -> dict:
    """Settings with unset (None) ones left out and whole numbers made floats where the setting is
    a float (JSON writes 3.0 as 3)."""
    from critic.models.blocks import BLOCK_TYPES, settings_of

    kinds = (
        {s["name"]: s["kind"] for s in settings_of(BLOCK_TYPES[block_type])}
        if block_type in BLOCK_TYPES
        else {}
    )
    return _as_kinds(settings, kinds)


def _typed_encoder(settings: dict) -> dict:
    kinds = next(
        (
            {s["name"]: s["kind"] for s in e["settings"]}
            for e in _encoder_catalogue()
            if e["kind"] == settings.get("kind", "words")
        ),
        {},
    )
    return _as_kinds(settings, kinds)


def _as_kinds(settings: dict, kinds: dict) -> dict:
    out = {}
    for key, value in settings.items():
        if value is None:
            continue
        if kinds.get(key) == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        out[key] = value
    return out
