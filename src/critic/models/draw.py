"""A block graph drawn: per block its output shape and parameter count (the table `critic models
show` prints) and a PNG of the graph, a box per block (id, type, output shape, parameters) and an
arrow per input.

The model is built on the meta device: shapes and counts come without allocating a weight, so a
BERT (110 M parameters) is summarised in a moment and in no memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from critic.models.graph import GraphModel, GraphSpec
from critic.text.spec import InputSpec

__all__ = ["BlockRow", "GraphSummary", "summarize", "graph_png"]

_HIDDEN = (
    "id",
    "type",
    "inputs",
    "config",
)  # shown in their own columns, or too long (a Transformer's config)
_COLOURS = {
    "ids": "#e8e8e8",
    "seq": "#cfe2f3",
    "vec": "#fce5cd",
}  # by the kind of tensor a block outputs


@dataclass(frozen=True)
class BlockRow:
    id: str
    type: str
    inputs: tuple[str, ...]
    settings: dict  # the block's own settings (its parameter dataclass), e.g. {"dim": 64, "pretrain": None}
    output: str  # e.g. "seq (B, 64, 650)"
    parameters: int


@dataclass(frozen=True)
class GraphSummary:
    rows: list[BlockRow]
    total: int  # parameters of the whole model


def summarize(spec: GraphSpec, input_spec: InputSpec, n_classes: int = 2) -> GraphSummary:
    """Each block's output shape and parameter count for this encoder input and number of classes."""
    with torch.device("meta"):
        model = GraphModel(spec, input_spec, n_classes)
    rows = []
    for block, (_, kind, shape, n) in zip(spec.blocks, model.summary()):
        settings = {k: v for k, v in block.as_dict().items() if k not in _HIDDEN}
        rows.append(BlockRow(block.id, kind, block.inputs, settings, shape, n))
    return GraphSummary(rows, sum(p.numel() for p in model.parameters()))


def depths(rows: list[BlockRow]) -> dict[str, int]:
    """Each block's layer in the drawing: one below its deepest input (blocks come in graph order)."""
    depth: dict[str, int] = {}
    for row in rows:
        depth[row.id] = 1 + max((depth[i] for i in row.inputs), default=-1)
    return depth


def positions(rows: list[BlockRow]) -> dict[str, tuple[float, float]]:
    """(x, y) per block: layers top to bottom, each layer's blocks side by side around x = 0."""
    depth = depths(rows)
    layers: dict[int, list[str]] = {}
    for row in rows:
        layers.setdefault(depth[row.id], []).append(row.id)
    return {
        block: (i - (len(ids) - 1) / 2, -float(d))
        for d, ids in layers.items()
        for i, block in enumerate(ids)
    }


def graph_png(summary: GraphSummary, path: Path, title: str) -> Path:
    """The graph as a PNG at `path` (folders made as needed); returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot: no global figure state
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    at = positions(summary.rows)
    width = max(
        len([1 for x, y in at.values() if y == level]) for level in {y for _, y in at.values()}
    )
    levels = len({y for _, y in at.values()})
    x_step, y_step, box_w, box_h = 2.6, 1.3, 2.3, 0.9  # in data units; one unit ≈ one inch below
    fig = Figure(figsize=(max(5.0, width * x_step), max(3.0, levels * y_step + 0.8)))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 0.94))
    ax.set_axis_off()
    for row in summary.rows:
        x, y = at[row.id]
        kind = row.output.split(" ", 1)[0]
        ax.add_patch(
            FancyBboxPatch(
                (x * x_step - box_w / 2, y * y_step - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0.03",
                facecolor=_COLOURS.get(kind, "white"),
                edgecolor="#444",
            )
        )
        ax.text(
            x * x_step,
            y * y_step,
            f"{row.id} · {row.type}\n{row.output}\n{row.parameters:,} parameters",
            ha="center",
            va="center",
            fontsize=8,
        )
        for source in row.inputs:
            sx, sy = at[source]
            ax.annotate(
                "",
                xy=(x * x_step, y * y_step + box_h / 2),
                xytext=(sx * x_step, sy * y_step - box_h / 2),
                arrowprops={"arrowstyle": "-|>", "color": "#444", "shrinkA": 2, "shrinkB": 2},
            )
    half = (width - 1) / 2 * x_step + box_w / 2 + 0.2
    ax.set_xlim(-half, half)
    ax.set_ylim(-(levels - 1) * y_step - box_h / 2 - 0.2, box_h / 2 + 0.2)
    fig.suptitle(f"{title}\n{summary.total:,} parameters", fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
