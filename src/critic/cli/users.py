"""`critic users`: who may log in to the workbench (passwords kept only as scrypt hashes)."""

from __future__ import annotations

import sys

import typer

from critic.cli.base import App
from critic.cli.render import console

__all__ = ["app"]

app = App(no_args_is_help=True, help="Workbench users: who may log in to the browser workbench.")

_NAME = typer.Argument(..., help="User name (letters, digits, '.', '_' or '-').")
_STDIN = typer.Option(
    False,
    "--password-stdin",
    help="Read the password from the first line of standard input instead of asking twice.",
)


def _password(from_stdin: bool) -> str:
    from critic.users import check_password

    if from_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    return check_password(
        typer.prompt("Password", hide_input=True, confirmation_prompt="Password again")
    )


@app.command("add")
def users_add(
    name: str = _NAME,
    admin: bool = typer.Option(False, "--admin", help="Make the user an administrator."),
    password_stdin: bool = _STDIN,
) -> None:
    """Add a user who may log in to the workbench."""
    from critic.names import validate_name
    from critic.users import add_user

    validate_name(name, "user name")  # before asking for a password
    user = add_user(name, _password(password_stdin), admin=admin)
    console.print(f"added {'administrator' if user.admin else 'user'} [bold]{user.name}[/]")


@app.command("list")
def users_list() -> None:
    """Every user and whether it is an administrator."""
    from rich.table import Table

    from critic.users import list_users

    table = Table("name", "admin", "created (UTC)")
    for user in list_users():
        table.add_row(user.name, "yes" if user.admin else "", user.created[:16].replace("T", " "))
    console.print(
        table
        if table.rows
        else "no users yet: `critic users add NAME --admin` (or start the "
        "workbench, which creates `admin` on its first start)"
    )


@app.command("passwd")
def users_passwd(name: str = _NAME, password_stdin: bool = _STDIN) -> None:
    """Set a user's password; the user's open sessions end."""
    from critic.users import get_user, set_password

    get_user(name)  # exists, before asking for a password
    set_password(name, _password(password_stdin))
    console.print(f"password changed for [bold]{name}[/] (its sessions have ended)")


@app.command("delete")
def users_delete(name: str = _NAME) -> None:
    """Remove a user; its open sessions end."""
    from critic.users import delete_user

    delete_user(name)
    console.print(f"deleted user {name}")
