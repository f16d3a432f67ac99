"""`critic export`: an experiment's checkpoint as a portable model (ONNX + tokenizer + export.json)."""

from __future__ import annotations

from pathlib import Path

import typer

from critic.cli.render import console

__all__ = ["export_command"]

FORMATS = ("onnx",)


def export_command(
    experiment: str = typer.Argument(..., help="Experiment name (see `critic experiments list`)."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="best or last."),
    format: str = typer.Option("onnx", "--format", help="onnx (the only format so far)."),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="The folder to write (an earlier export there is replaced; default: "
        "EXPERIMENT/exports/CHECKPOINT-onnx in the workspace).",
    ),
    quantize: str | None = typer.Option(
        None,
        "--quantize",
        help="int8: the weight matrices stored as int8 (transformer models only; see docs/export.md).",
    ),
) -> None:
    """Write a model runtimes outside critic can run: model.onnx (dynamic batch and sequence
    axes), the tokenizer and export.json (classes, inputs, how text becomes them). Checked
    against PyTorch before it is written. See docs/export.md."""
    from critic.errors import SettingsError

    if format not in FORMATS:
        raise SettingsError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    from critic.export.to_onnx import export_experiment

    done = export_experiment(experiment, checkpoint, out, quantize=quantize)
    what = done.quantization or "fp32"
    console.print(
        f"exported {experiment} ({checkpoint}, {done.kind}, {what}) to {done.folder}\n"
        f"ONNX Runtime vs PyTorch: largest probability difference {done.max_difference:.1e}"
    )
