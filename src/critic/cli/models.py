"""`critic models`: the presets, and the block graph of a preset or a config file drawn."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from critic.cli.base import App
from critic.cli.render import console

__all__ = ["app"]

app = App(
    no_args_is_help=True,
    help="The model presets, and the block graph of a preset or a config file.",
)


@app.command("list")
def models_list() -> None:
    """The presets, their sources and published results."""
    from critic.presets import get_preset, preset_names

    table = Table("preset", "version", "source", "published", "encoder", "train")
    for short in preset_names():
        p = get_preset(short)
        table.add_row(short, p.name, p.source, p.published, _encoder_text(p), _train_text(p))
    console.print(table)


@app.command("show")
def models_show(
    target: str = typer.Argument(
        ...,
        metavar="PRESET_OR_FILE",
        help="A preset name, e.g. kim-cnn, or a config file (.toml, .yaml) as `critic train --config` takes.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Where the PNG of the graph goes (default: reports/model-NAME.png in the workspace).",
    ),
) -> None:
    """A block graph with output shapes and parameter counts (for two classes), drawn as a PNG."""
    from critic.errors import MissingModel
    from critic.experiments.configure import input_spec_of, model_config, resolve_config
    from critic.models.draw import graph_png, summarize

    config = model_config(target)
    title = f"{config.preset} — {config.source}" if config.preset else config.source
    if not hasattr(config.model, "blocks"):  # linear, ensemble: settings, no graph
        return _print_linear(config.model, title)
    try:
        config = resolve_config(config)
    except (
        MissingModel
    ) as exc:  # a pretrained model not on this machine: its blocks, and how to get it
        console.print(
            f"[bold]{title}[/]: blocks " + " → ".join(b.type for b in config.model.blocks)
        )
        console.print(f"  [yellow]{escape(str(exc))}[/]")
        return
    summary = summarize(config.model, input_spec_of(config.encoder))
    png = graph_png(summary, output or _default_png(config.preset or Path(target).stem), title)
    _print_summary(summary, title)
    console.print(f"graph: {png}", soft_wrap=True)


def _default_png(name: str) -> Path:
    from critic.workspace import Workspace

    return (
        Workspace.from_env().root / "reports" / f"model-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.png"
    )


def _print_summary(summary, title: str) -> None:
    # a narrow terminal folds cells instead of cutting them: a setting or a shape is never shortened
    table = Table(title=title)
    for header in ("block", "type", "inputs", "settings", "output", "parameters"):
        table.add_column(header, overflow="fold")
    for row in summary.rows:
        table.add_row(
            row.id,
            row.type,
            ", ".join(row.inputs),
            ", ".join(f"{k}={v}" for k, v in row.settings.items() if v is not None),
            row.output,
            f"{row.parameters:,}",
        )
    console.print(table)
    console.print(f"total parameters: {summary.total:,}")


def _print_linear(settings, title: str) -> None:
    from dataclasses import asdict

    console.print(f"[bold]{title}[/]")
    console.print("  " + ", ".join(f"{k}={v}" for k, v in asdict(settings).items()))


def _encoder_text(p) -> str:
    enc = p.encoder
    if getattr(p.model, "kind", None) == "ensemble":
        return "each member's own"
    if enc is None:
        return f"word {p.model.ngram_min}-{p.model.ngram_max}-grams, {p.model.counts}"
    if enc.kind == "wordpiece":
        return f"WordPiece of {enc.source}, len {enc.sequence_length} {enc.truncation}"
    return f"{enc.kind}, {enc.max_words:,} words" + (
        f", len {enc.sequence_length} {enc.padding}-pad" if enc.kind == "words" else ""
    )


def _train_text(p) -> str:
    t = p.train
    if getattr(p.model, "kind", None) == "ensemble":
        members = ", ".join(p.model.members)
        return f"{members} one after the other; weights fitted on validation"
    if p.encoder is None:
        m = p.model
        if m.C == "auto":
            return (
                f"liblinear; validation picks min_df ({_listed(m.min_dfs)}), then C on a log ladder"
            )
        return f"liblinear; validation picks min_df ({_listed(m.min_dfs)}), C ({_listed(m.C)})"
    return f"{t.optimizer} lr {t.learning_rate:g}, batch {t.batch_size}, {t.epochs} epochs"


def _listed(values) -> str:
    return ", ".join(f"{v:g}" for v in values)
