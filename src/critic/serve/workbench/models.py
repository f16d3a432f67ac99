"""Models: the presets as a gallery (block graph, parameters, published and measured accuracy) and the
canvas (palette, wiring, settings panel, live shape checks), saving the TOML graph spec `critic
train --config` reads. Every translation between the canvas and the tables is the library's
(`critic.experiments.canvas`); this module only carries it.

    GET  /models                        the gallery: presets drawn with their figures (and each
                                        one's best run here), saved graphs (open, train, delete)
    GET  /models/canvas?preset=NAME     the canvas, started from a preset
    GET  /models/canvas?graph=NAME      the canvas, started from a saved graph (404 if none)
    GET  /models/canvas                 an empty canvas
    POST /models/check                  {canvas} → each block's output shape and parameters, or
                                        the error and the block it names
    POST /models/graphs                 {name, canvas} → graphs/NAME.toml written; its path and
                                        the command that trains it
    GET  /models/graphs/NAME            {name, canvas, toml} of a saved graph (404 if none)
    POST /models/graphs/NAME/delete     the saved graph removed; {redirect: "/models"}
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from critic import safejson
from critic.errors import ApiError, SettingsError
from critic.serve.workbench.render import render
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/models", "Models")
BODY_LIMIT = 256 * 1024  # bytes of a canvas sent to check or save (a Kim CNN's is ~3 KB)
JSON_DEPTH = 8  # {canvas: {blocks: [{settings: {...}}]}} is 5 deep


# -- the gallery ------------------------------------------------------------------------------------


@router.get("/models", summary="The presets and the saved graphs")
def gallery(request: Request, workbench: Workbench = Depends(get_workbench)) -> HTMLResponse:
    from critic.experiments.canvas import list_graphs
    from critic.experiments.store import list_experiments

    # the registry's order: from the linear model to BERT, simplest first
    cards = [_card(name) for name in _preset_names()]
    return render(
        request,
        "models.html",
        title="Models",
        cards=cards,
        ours=_best_runs(list_experiments(workbench.workspace)),
        graphs=[
            (g, _graph_summary(str(g.path), g.updated)) for g in list_graphs(workbench.workspace)
        ],
    )


@dataclass(frozen=True)
class GraphSummary:
    parameters: int | None  # None: the graph does not check (error says why)
    encoder: str
    error: str | None


@functools.lru_cache(maxsize=256)
def _graph_summary(path: str, updated: str) -> GraphSummary:
    """A saved graph's parameters and encoder, read and checked once per version of its file
    (`updated`, its write time, is part of the cache key)."""
    from pathlib import Path

    from critic.experiments.canvas import check_tables, from_toml

    try:
        tables = from_toml(Path(path).read_text())
    except (OSError, SettingsError) as exc:
        return GraphSummary(None, "–", str(exc))
    check = check_tables(tables)
    encoder = _encoder_text(tables.get("encoder", {})) if "blocks" in tables["model"] else "–"
    return GraphSummary(check.parameters if check.ok else None, encoder, check.error)


@dataclass(frozen=True)
class BestRun:
    experiment: str  # the run with the best validation accuracy
    accuracy: float
    runs: int  # finished runs of this model in the workspace


def _best_runs(experiments: list) -> dict[str, BestRun]:
    """Per model (a preset's versioned name, as experiments record it): the finished run of this
    workspace with the best validation accuracy at its best epoch (catalog rows only)."""
    best: dict[str, BestRun] = {}
    for e in experiments:
        record = e.record
        accuracy = next(
            (x.get("val_accuracy") for x in record.epochs if x.get("epoch") == record.best_epoch),
            None,
        )
        if record.status != "done" or accuracy is None:
            continue
        old = best.get(record.model)
        runs = (old.runs if old else 0) + 1
        if old is None or accuracy > old.accuracy:
            best[record.model] = BestRun(record.name, accuracy, runs)
        else:
            best[record.model] = BestRun(old.experiment, old.accuracy, runs)
    return best


@dataclass(frozen=True)
class Card:
    name: str  # short, e.g. "kim-cnn"
    version: str  # e.g. "kim-cnn.v1"
    source: str
    published: str
    measured: str | None  # our figure (presets.MEASURED), None when there is none
    parameters: int | None  # None: not counted (a pretrained model not on this machine)
    note: str | None  # why there is no count (the checker's words) or no graph
    encoder: str
    train: str
    drawing: Drawing | None  # None for the linear model (no graph)


@dataclass(frozen=True)
class Drawing:
    """A block graph drawn top to bottom (rows = depth in the graph), as SVG coordinates."""

    width: int
    height: int
    boxes: list[tuple[int, int, str, str]]  # (x, y, label, type) of each block's box
    wires: list[str]  # SVG path data, from an input's bottom to its block's top


BOX_W, BOX_H, GAP_X, GAP_Y = 112, 24, 12, 18


def warm() -> None:
    """Every preset's card, made once (torch imported, each graph built on the meta device)."""
    for name in _preset_names():
        _card(name)


def _preset_names() -> list[str]:
    """The presets without their versions, in the registry's order."""
    from critic.presets import PRESETS

    return list(dict.fromkeys(n.rsplit(".v", 1)[0] for n in PRESETS))


@functools.cache
def _card(name: str) -> Card:
    """One preset's card; presets do not change while the server runs, so each is made once."""
    from critic.experiments.canvas import canvas_of, check_tables, tables_of
    from critic.presets import MEASURED, get_preset

    preset = get_preset(name)
    tables = tables_of(name)
    if tables["model"].get("kind") == "ensemble":
        members = ", ".join(m.rsplit(".v", 1)[0] for m in preset.model.members)
        return Card(
            name, preset.name, preset.source, preset.published, MEASURED.get(name), None,
            f"{members}, trained one after the other; their log-probabilities weighted on "
            "validation (no block graph)",
            "each member's own", "each member's preset", None,
        )  # fmt: skip
    if "blocks" not in tables["model"]:  # the linear model
        return Card(
            name, preset.name, preset.source, preset.published, MEASURED.get(name), None,
            "word n-grams → NBSVM → logistic output, fitted in one pass (no block graph)",
            "its own n-gram counts", "one pass", None,
        )  # fmt: skip
    check = check_tables(tables)
    note = None if check.ok else check.error  # e.g. a pretrained model not on this machine
    return Card(
        name,
        preset.name,
        preset.source,
        preset.published,
        MEASURED.get(name),
        check.parameters if check.ok else None,
        note,
        _encoder_text(tables["encoder"]),
        _train_text(tables),
        _drawing(canvas_of(tables)["blocks"]),
    )


def _drawing(blocks: list[dict]) -> Drawing:
    by_depth: dict[int, list[dict]] = {}
    for block in blocks:
        by_depth.setdefault(block["column"], []).append(block)
    widest = max(len(row) for row in by_depth.values())
    width = widest * (BOX_W + GAP_X) - GAP_X + 4
    places = {}
    for depth, row in by_depth.items():
        left = (width - (len(row) * (BOX_W + GAP_X) - GAP_X)) // 2
        for i, block in enumerate(row):
            places[block["id"]] = (left + i * (BOX_W + GAP_X), 2 + depth * (BOX_H + GAP_Y))
    boxes = [(*places[b["id"]], _label(b), b["type"]) for b in blocks]
    wires = []
    for block in blocks:
        x, y = places[block["id"]]
        for source in block["inputs"]:
            sx, sy = places[source]
            x0, y0, x1 = sx + BOX_W // 2, sy + BOX_H, x + BOX_W // 2
            middle = (y0 + y) // 2
            wires.append(f"M{x0},{y0} C{x0},{middle} {x1},{middle} {x1},{y}")
    return Drawing(width, len(by_depth) * (BOX_H + GAP_Y) - GAP_Y + 4, boxes, wires)


def _label(block: dict) -> str:
    """A box's text: the type and its main setting (Embedding 64, Conv1D 256×3, Dropout 0.2)."""
    s = block["settings"]
    main = {
        "Embedding": s.get("dim"),
        "Dropout": s.get("rate"),
        "Conv1D": f"{s.get('filters')}×{s.get('kernel')}" if "filters" in s else None,
        "MaxPool1D": s.get("pool"),
        "Dense": s.get("units"),
        "LSTM": s.get("units"),
        "Input": s.get("kind"),
    }.get(block["type"])
    return f"{block['type']} {main}" if main is not None else block["type"]


def _encoder_text(encoder: dict) -> str:
    kind = encoder.get("kind", "words")
    if kind == "wordpiece":
        return f"WordPiece of {encoder.get('source')}, length {encoder.get('sequence_length')}"
    if kind == "multi-hot":
        return f"multi-hot, {encoder.get('max_words', 0):,} words"
    return (
        f"word ids, {encoder.get('max_words', 0):,} words, length {encoder.get('sequence_length')}"
    )


def _train_text(tables: dict) -> str:
    train = tables.get("train", {})
    epochs = train.get("epochs", 1)
    parts = [f"{epochs} epoch{'s' if epochs != 1 else ''}"]
    if "batch_size" in train:
        parts.append(f"batch {train['batch_size']}")
    if "optimizer" in train:
        parts.append(f"{train['optimizer']} {train.get('learning_rate', '')}".strip())
    return ", ".join(parts)


# -- the canvas -------------------------------------------------------------------------------------


@router.get("/models/canvas", summary="The model canvas")
def canvas_page(
    request: Request,
    preset: str | None = Query(None, max_length=64),
    graph: str | None = Query(None, max_length=64),
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    from critic.experiments.canvas import canvas_of, load_graph, palette, tables_of
    from critic.presets import PRESETS

    if preset is not None and graph is not None:
        raise ApiError(400, "bad_request", "give a preset or a graph, not both")
    if preset is not None:
        canvas, origin = canvas_of(tables_of(_preset_name(preset))), f"preset {preset}"
    elif graph is not None:
        canvas, origin = canvas_of(load_graph(graph, workbench.workspace)), f"graph {graph}"
    else:
        canvas, origin = {"blocks": [], "init": "keras", "train": {}}, None
    catalogue = palette()
    return render(
        request,
        "models_canvas.html",
        title="Canvas" + (f" · {origin}" if origin else ""),
        origin=origin,
        name=graph or (f"my-{preset}" if preset else ""),
        canvas=canvas,
        palette=catalogue,
        # the presets with a block graph (not the linear model, not the ensemble)
        presets=[
            n
            for n in dict.fromkeys(n.rsplit(".v", 1)[0] for n in PRESETS)
            if n not in ("linear", "ensemble")
        ],
        preset=preset,
    )


def _preset_name(name: str) -> str:
    from critic.presets import get_preset

    if len(name) > 64:
        raise SettingsError("a preset name is at most 64 characters")
    get_preset(name)  # an unknown one: SettingsError naming the presets (422)
    return name


@router.post("/models/check", summary="Check a canvas: shapes and parameters of each block")
async def check(request: Request) -> dict:
    from critic.experiments.canvas import check_canvas

    body = await _json_body(request)
    # in a worker thread: the first check imports torch (seconds), never on the event loop
    _, result = await run_in_threadpool(check_canvas, _canvas_of_body(body))
    return _check_json(result)


@router.post("/models/graphs", summary="Save a canvas as graphs/NAME.toml")
async def save(request: Request, workbench: Workbench = Depends(get_workbench)) -> dict:
    from critic.experiments.canvas import check_canvas, save_graph
    from critic.names import validate_name

    body = await _json_body(request)
    name = body.get("name")
    validate_name(name if isinstance(name, str) else "", "graph name")
    tables, result = await run_in_threadpool(check_canvas, _canvas_of_body(body))
    if tables is None or (not result.ok and result.block):
        raise SettingsError(f"fix the graph before saving it: {result.error}")
    saved = await run_in_threadpool(save_graph, name, tables, workbench.workspace)
    return {
        "name": saved.name,
        "path": str(saved.path),
        "command": f"critic train --config {shlex.quote(str(saved.path))} --dataset NAME",
        "url": f"/models/canvas?graph={saved.name}",
        "train_url": f"/experiments/new?model=graph:{saved.name}",
        "check": _check_json(result),
    }


@router.get("/models/graphs/{name}", summary="A saved graph, as the canvas draws it")
def load(name: str, workbench: Workbench = Depends(get_workbench)) -> dict:
    from critic.experiments.canvas import canvas_of, graph_path, load_graph, to_toml

    tables = load_graph(name, workbench.workspace)
    return {
        "name": name,
        "path": str(graph_path(name, workbench.workspace)),
        "canvas": canvas_of(tables),
        "toml": to_toml(tables),
    }


@router.post("/models/graphs/{name}/delete", summary="Delete a saved graph")
def delete(name: str, workbench: Workbench = Depends(get_workbench)) -> dict:
    from critic.experiments.canvas import delete_graph

    delete_graph(name, workbench.workspace)
    return {"redirect": "/models", "deleted": name}


async def _json_body(request: Request) -> dict:
    """The request's JSON object, read within BODY_LIMIT bytes and JSON_DEPTH levels."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the canvas as application/json")
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_LIMIT:
            raise ApiError(
                413, "too_large", f"a canvas is at most {BODY_LIMIT // 1024} KiB of JSON"
            )
        chunks.append(chunk)
    body = safejson.loads(b"".join(chunks), JSON_DEPTH, "the canvas's nesting")
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", 'send a JSON object: {"canvas": {"blocks": [...]}}')
    return body


def _canvas_of_body(body: dict) -> dict:
    canvas = body.get("canvas")
    if not isinstance(canvas, dict):
        raise ApiError(400, "bad_request", 'send {"canvas": {"blocks": [...]}}')
    return canvas


def _check_json(result) -> dict:
    return {
        "ok": result.ok,
        "parameters": result.parameters,
        "blocks": {b.id: {"output": b.output, "parameters": b.parameters} for b in result.blocks},
        "error": result.error,
        "block": result.block,
    }
