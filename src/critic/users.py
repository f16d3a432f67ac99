"""The workbench's users: who may log in, with a password kept only as a slow hash.

A password is hashed with scrypt (`hashlib.scrypt`, N=2**15, r=8, p=1: ~90 ms and 32 MiB on one core
of the 2-core reference machine, so a stolen catalog costs an attacker that much per guess) with a
random 16-byte salt, and stored as `scrypt$N$r$p$SALT$HASH` (base64), so the cost can rise later
without breaking old hashes. A login compares hashes with `hmac.compare_digest`; an unknown name
costs the same scrypt as a known one, so timing does not tell which names exist.

The first start of the workbench (`critic serve` without --api-only) calls `ensure_first_admin`:
with no user at all it creates `admin` with a random password, which the caller shows once."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from critic.catalog import Catalog, open_catalog
from critic.errors import SettingsError
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = [
    "User",
    "hash_password",
    "verify_password",
    "add_user",
    "list_users",
    "get_user",
    "set_password",
    "delete_user",
    "authenticate",
    "check_password",
    "ensure_first_admin",
    "FIRST_ADMIN",
    "MIN_PASSWORD",
    "MAX_PASSWORD",
]

MIN_PASSWORD = 10  # characters; the generated admin password has 24
MAX_PASSWORD = 1024  # a longer one is refused before it is hashed (scrypt reads all of it)
FIRST_ADMIN = "admin"
# scrypt's cost: N=2**15 (r=8, p=1) takes ~90 ms here; 128·N·r = 32 MiB of memory per hash
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024  # hashlib's default (32 MiB) is just short of what N=2**15 needs


@dataclass(frozen=True)
class User:
    name: str
    admin: bool
    created: str


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$N$r$p$SALT$HASH`, a fresh random salt each time."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` hashes to `stored` (compared in constant time); False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:  # a malformed field (binascii.Error is a ValueError)
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise SettingsError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise SettingsError(f"the password is too long: use at most {MAX_PASSWORD} characters")
    return password


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _catalog(workspace: Workspace | None) -> Catalog:
    return open_catalog((workspace or Workspace.from_env()).ensure())


def add_user(
    name: str, password: str, *, admin: bool = False, workspace: Workspace | None = None
) -> User:
    validate_name(name, "user name")
    check_password(password)
    created = _now()
    if not _catalog(workspace).add_user(name, hash_password(password), admin, created):
        raise SettingsError(
            f"a user named {name!r} exists; change its password with `critic users passwd {name}`"
        )
    return User(name, admin, created)


def list_users(workspace: Workspace | None = None) -> list[User]:
    return [User(u["name"], u["admin"], u["created"]) for u in _catalog(workspace).users()]


def get_user(name: str, workspace: Workspace | None = None) -> User:
    validate_name(name, "user name")
    found = _catalog(workspace).users(name)
    if not found:
        raise SettingsError(f"no user {name!r}; see `critic users list`")
    return User(found[0]["name"], found[0]["admin"], found[0]["created"])


def set_password(name: str, password: str, workspace: Workspace | None = None) -> None:
    """A new password; every session of the user ends."""
    get_user(name, workspace)
    check_password(password)
    if not _catalog(workspace).set_password(name, hash_password(password)):
        raise SettingsError(f"user {name!r} was deleted meanwhile")


def delete_user(name: str, workspace: Workspace | None = None) -> None:
    """Remove a user and end its sessions."""
    get_user(name, workspace)
    if not _catalog(workspace).delete_user(name):
        raise SettingsError(f"user {name!r} was deleted meanwhile")


def authenticate(name: str, password: str, workspace: Workspace | None = None) -> User | None:
    """The user, if `name` exists and `password` is its password; None for either failure (one
    scrypt either way)."""
    found = _catalog(workspace).users(name) if _valid_name(name) else []
    if not found or len(password) > MAX_PASSWORD:
        verify_password(password[:MAX_PASSWORD], _decoy_hash())  # the same cost as a real check
        return None
    record = found[0]
    if not verify_password(password, record["password_hash"]):
        return None
    return User(record["name"], record["admin"], record["created"])


def _valid_name(name: str) -> bool:
    try:
        validate_name(name)
    except ValueError:
        return False
    return True


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def ensure_first_admin(workspace: Workspace | None = None) -> str | None:
    """With no user at all, create `admin` with a random password and return that password (to be
    shown once); None when users exist."""
    catalog = _catalog(workspace)
    if catalog.users():
        return None
    password = secrets.token_urlsafe(18)  # 24 characters, 144 bits
    if catalog.add_first_user(FIRST_ADMIN, hash_password(password), True, _now()):
        return password
    return None
