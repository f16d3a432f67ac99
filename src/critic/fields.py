"""Strict settings: a frozen dataclass from a config table, with every unknown, missing or
mistyped key named. The one place that checks keys, so a TOML file, a block of the canvas and a
saved config.json are held to the same rules."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields, replace
from typing import Any

from critic.errors import SettingsError

__all__ = ["check_keys", "from_dict", "update"]


def check_keys(
    data: Mapping,
    known: Iterable[str],
    what: str,
    *,
    where: str | None = None,
    error: type[Exception] = SettingsError,
) -> None:
    """Refuse keys outside `known`. `what` names a key ("train setting"), `where` the place it was
    read from ("block 'conv3' (Conv1D)"), so the message points at the line to change."""
    known = set(known)
    unknown = sorted(set(data) - known)
    if unknown:
        raise error(f"{_at(where)}unknown {what}(s) {unknown}; known: {sorted(known) or 'none'}")


def from_dict(
    cls: type,
    data: Mapping[str, Any],
    what: str = "setting",
    *,
    where: str | None = None,
    error: type[Exception] = SettingsError,
):
    """`cls(**data)` for a dataclass, after naming unknown keys, missing required keys and values of
    the wrong type (a string where a number belongs, a number where a string belongs)."""
    check_keys(data, (f.name for f in fields(cls)), what, where=where, error=error)
    missing = [
        f.name
        for f in fields(cls)
        if f.default is MISSING and f.default_factory is MISSING and f.name not in data
    ]
    if missing:
        raise error(
            f"{_at(where)}missing {what}(s) {missing}; add {' and '.join(f'{m} = ...' for m in missing)}"
        )
    _check_types(cls, data, what, where, error)
    return cls(**data)


def update(
    base,
    data: Mapping[str, Any],
    what: str = "setting",
    *,
    where: str | None = None,
    error: type[Exception] = SettingsError,
):
    """`dataclasses.replace(base, **data)` with the same checks as `from_dict`."""
    check_keys(data, (f.name for f in fields(base)), what, where=where, error=error)
    _check_types(type(base), data, what, where, error)
    return replace(base, **data)


def _check_types(
    cls: type, data: Mapping[str, Any], what: str, where: str | None, error: type[Exception]
) -> None:
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        expected = hints.get(key)
        if expected is not None and not _fits(value, expected):
            raise error(f"{_at(where)}{what} {key!r} must be {_describe(expected)}, got {value!r}")


def _at(where: str | None) -> str:
    return f"{where}: " if where else ""


def _fits(value: Any, expected: Any) -> bool:
    """Whether a TOML/JSON value can stand for `expected` (int, float, bool, str, dict, tuple/list,
    unions of them, None); other annotations are not checked here."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if expected is dict or origin is dict:
        return isinstance(value, dict)
    if origin in (tuple, list) or expected in (tuple, list):
        return isinstance(value, (tuple, list)) and _items_fit(value, typing.get_args(expected))
    return True


def _items_fit(items, args: tuple) -> bool:
    if not args:
        return True
    if len(args) == 2 and args[1] is Ellipsis:
        return all(_fits(v, args[0]) for v in items)
    return len(items) == len(args) and all(_fits(v, a) for v, a in zip(items, args))


def _describe(expected: Any) -> str:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(expected))
    names = {
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        str: "a string",
        dict: "a table",
        type(None): "left out",
    }
    if expected in names:
        return names[expected]
    if origin in (tuple, list) or expected in (tuple, list):
        args = typing.get_args(expected)
        return f"a list of {_describe(args[0])}s" if args else "a list"
    return getattr(expected, "__name__", str(expected))
