"""The Typer app class every critic command group is made of: boolean flags shown as plain flags.

Typer's rich help prints a type beside every option, `--quiet <bool>` included, although a flag
takes no value (its plain-text help leaves the type out). An empty metavar is what it prints
instead, so the groups and commands made here give one to every flag, `--help` included."""

from __future__ import annotations

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["App"]


class _PlainFlags:
    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # printed where the type would be: nothing
        return params


class _Group(_PlainFlags, TyperGroup):
    pass


class _Command(_PlainFlags, TyperCommand):
    pass


class App(typer.Typer):
    """typer.Typer whose groups and commands print flags without a type."""

    def __init__(self, **kwargs):
        super().__init__(cls=_Group, **kwargs)

    def command(self, name: str | None = None, **kwargs):
        return super().command(name, cls=kwargs.pop("cls", _Command), **kwargs)
