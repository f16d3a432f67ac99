"""The root `critic` command: its commands and groups, `--version`, shell completion, and `main`.

Startup is kept short (`critic --help`, `--version` and every completion run this module): the
command modules import torch, pandas, matplotlib, FastAPI and the critic modules that need them
inside the command functions, so only typer and rich load before a command runs."""

from __future__ import annotations

import sys

import typer

import critic
from critic.cli import (
    cv,
    data,
    db,
    deploy,
    evaluate,
    experiments,
    export,
    failure,
    jobs,
    models,
    quickstart,
    serve,
    sweep,
    train,
    users,
)
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
app.command("cv")(cv.cv_command)
app.command("evaluate")(evaluate.evaluate_command)
app.command("predict")(evaluate.predict_command)
app.command("serve")(serve.serve_command)
app.command("export")(export.export_command)
app.add_typer(data.app, name="data")
app.add_typer(experiments.app, name="experiments")
app.add_typer(models.app, name="models")
app.add_typer(deploy.app, name="deploy")
app.add_typer(users.app, name="users")
app.add_typer(jobs.app, name="jobs")
app.add_typer(sweep.app, name="sweep")
app.add_typer(db.app, name="db")


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
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="CRITIC_DEBUG",
        help="Show the traceback of an unexpected error instead of saving it to a log file.",
    ),
) -> None:
    """Workspace: $CRITIC_HOME (default ~/.critic)."""
    # --debug is read by main(), which sees the exception after this context has closed


def main() -> None:
    """Entry point. Usage errors are click's (exit 2); critic's own errors print one line (exit 2);
    any other exception is a bug: one line naming the log file that holds its traceback (exit 1),
    or the traceback with --debug; Ctrl-C prints `interrupted` (exit 130). See critic.cli.failure."""
    try:
        # prog_name: also under `python -m critic.cli`, one name for usage lines and completion
        app(prog_name="critic")
    except CriticError as exc:
        sys.exit(failure.user_error(exc))
    except SystemExit as exc:
        if failure.interrupted(exc):
            failure.say("interrupted", error=False)
        raise
    except KeyboardInterrupt:
        failure.say("interrupted", error=False)
        sys.exit(130)
    except Exception as exc:
        sys.exit(failure.bug(exc, debug=failure.debug_requested(sys.argv[1:])))
