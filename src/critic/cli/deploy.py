"""`critic deploy`: deployments (a checkpoint behind the HTTP API, with its own token)."""

from __future__ import annotations

import typer

from critic.cli.base import App
from critic.cli.render import console, print_deployment
from critic.cli.serve import base_url

__all__ = ["app"]

app = App(
    no_args_is_help=True, help="Deployments: a checkpoint behind the HTTP API, with its own token."
)

_BASE_URL = typer.Option(
    None,
    "--base-url",
    envvar="CRITIC_PUBLIC_URL",
    show_default=False,
    help="Where `critic serve` is reached, for the printed URL and examples "
    "(default: the running `critic serve`, else http://127.0.0.1:8000).",
)
_NAME = typer.Argument(..., help="Deployment name (see `critic deploy list`).")
_RUNTIME = typer.Option(
    "torch",
    "--runtime",
    help="What runs the model: torch (PyTorch), torch-bf16 (PyTorch in bfloat16: about 2x "
    "faster on a CPU with AMX or AVX512-BF16, answers ~1e-2 apart), onnx (ONNX Runtime on the "
    "checkpoint's export, the same answers within 1e-4) or onnx-int8 (a transformer's weights in "
    "int8: smaller, faster, answers a little apart). The export is made now.",
)


@app.command("create")
def deploy_create(
    experiment: str = typer.Argument(..., help="Experiment name."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="best or last."),
    name: str | None = typer.Option(
        None, "--name", help="Deployment name (default: EXPERIMENT-CHECKPOINT)."
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Create it disabled (enable later)."),
    runtime: str = _RUNTIME,
    url: str | None = _BASE_URL,
) -> None:
    """Deploy a checkpoint: prints its URL, input name, token (shown once) and curl examples."""
    from critic.deploy import create_deployment

    created = create_deployment(
        experiment, checkpoint=checkpoint, name=name, enabled=not disabled, runtime=runtime
    )
    print_deployment(created.deployment, base_url(url), token=created.token)
    _note(runtime)


@app.command("list")
def deploy_list() -> None:
    """Every deployment and whether it is enabled."""
    from rich.table import Table

    from critic.deploy import list_deployments

    table = Table(
        "name",
        "experiment",
        "checkpoint",
        "input",
        "runtime",
        "enabled",
        "created (UTC)",
        "updated (UTC)",
    )
    for d in list_deployments():
        table.add_row(
            d.name,
            d.experiment,
            d.checkpoint,
            d.input_name,
            d.runtime,
            "[green]yes[/]" if d.enabled else "[red]no[/]",
            d.created[:16].replace("T", " "),
            d.updated[:16].replace("T", " "),
        )
    console.print(table if table.rows else "no deployments yet: `critic deploy create EXPERIMENT`")


@app.command("show")
def deploy_show(name: str = _NAME, url: str | None = _BASE_URL) -> None:
    """One deployment: URL, input name, state and examples (the token is never shown again)."""
    from critic.deploy import get_deployment

    print_deployment(get_deployment(name), base_url(url))


@app.command("enable")
def deploy_enable(name: str = _NAME) -> None:
    """Answer calls again (a running server notices within a second)."""
    from critic.deploy import set_enabled

    set_enabled(name, True)
    console.print(f"[green]enabled[/] {name}")


@app.command("disable")
def deploy_disable(name: str = _NAME) -> None:
    """Refuse calls (404) until enabled again; the token is kept."""
    from critic.deploy import set_enabled

    set_enabled(name, False)
    console.print(f"[yellow]disabled[/] {name}")


@app.command("set-runtime")
def deploy_set_runtime(
    name: str = _NAME,
    runtime: str = typer.Argument(
        ..., help="torch, torch-bf16, onnx or onnx-int8 (see `create --runtime`)."
    ),
) -> None:
    """Switch what runs the model (a running server loads it within a second; the token stays)."""
    from critic.deploy import set_runtime

    record = set_runtime(name, runtime)
    console.print(f"{name} now runs on [bold]{record.runtime}[/]")
    _note(runtime)


def _note(runtime: str) -> None:
    from critic.deploy import runtime_note

    note = runtime_note(runtime)
    if note:
        console.print(f"[yellow]note:[/] {note}")


@app.command("rotate-token")
def deploy_rotate(name: str = _NAME) -> None:
    """A new token; the old one stops working at once."""
    from critic.deploy import rotate_token

    created = rotate_token(name)
    console.print(f"new token for [bold]{name}[/] (shown once; the old one no longer works):")
    console.print(f"  [bold yellow]{created.token}[/]", soft_wrap=True)


@app.command("delete")
def deploy_delete(name: str = _NAME) -> None:
    """Remove a deployment and its token (the experiment and checkpoints stay)."""
    from critic.deploy import delete_deployment

    delete_deployment(name)
    console.print(f"deleted {name}")
