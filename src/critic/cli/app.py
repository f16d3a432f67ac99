"""The root `critic` command: its commands and groups, `--version`, shell completion, and `main`.

Startup is kept short (`critic --help`, `--version` and every completion run this module): the
command modules import torch, pandas, matplotlib, FastAPI and the critic modules that need them
inside the command functions, so only typer and rich load before a command runs."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

import critic
from critic.cli import data, deploy, evaluate, experiments, models, quickstart, serve, train
from critic.cli.base import App
from critic.cli.render import console
from critic.errors import CriticError

__all__ = ["app", "main"]

app = App(
    no_args_is_help=True,
    add_completion=True,
    help="critic: labelled text → a deployed text classifier.",
)
app.command("quickstart")(quickstart.quickstart_command)
app.command("train")(train.train_command)
app.command("evaluate")(evaluate.evaluate_command)
app.command("predict")(evaluate.predict_command)
app.command("serve")(serve.serve_command)
app.add_typer(data.app, name="data")
app.add_typer(experiments.app, name="experiments")
app.add_typer(models.app, name="models")
app.add_typer(deploy.app, name="deploy")


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"critic {critic.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Workspace: $CRITIC_HOME (default ~/.critic)."""


def main() -> None:
    """Entry point: usage errors are click's (exit 2); critic's own errors print one line, exit 2."""
    try:
        app(
            prog_name="critic"
        )  # also under `python -m critic.cli`: one name for usage lines and completion
    except CriticError as exc:
        # escaped: messages name config tables ("[model]"), which rich would take for markup and drop
        Console(stderr=True).print(
            f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
