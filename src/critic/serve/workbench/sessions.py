"""Workbench sessions: a random 256-bit token in the `critic_session` cookie, of which the catalog
keeps only the SHA-256 (a token is random and long: a fast hash is enough, as for deployment
tokens), with its user, its CSRF token and an absolute expiry (`ServeSettings.session_hours`, 12 h by
default; not sliding: a session ends that long after the login, whatever its use). Logging out
deletes the row, so the cookie is worthless from then on even if it was copied."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from critic.catalog import Catalog

__all__ = ["COOKIE", "Session", "open_session", "find_session", "close_session", "hash_session"]

COOKIE = "critic_session"


@dataclass(frozen=True)
class Session:
    """A logged-in user, as the pages see it."""

    user: str
    admin: bool
    csrf: str  # every state-changing request carries it (form field `csrf` or X-CSRF-Token)
    expires: str  # ISO 8601, UTC
    token_hash: str


def hash_session(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def open_session(
    catalog: Catalog, user: str, lifetime: timedelta, now: datetime | None = None
) -> tuple[str, Session]:
    """(the cookie's value, shown to this browser only, and the session)."""
    now = now or datetime.now(UTC)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    token_hash, expires = hash_session(token), _iso(now + lifetime)
    catalog.add_session(token_hash, user, csrf, _iso(now), expires)
    return token, Session(user, _admin(catalog, user), csrf, expires, token_hash)


def _admin(catalog: Catalog, user: str) -> bool:
    found = catalog.users(user)
    return bool(found and found[0]["admin"])


def find_session(
    catalog: Catalog, token: str | None, now: datetime | None = None
) -> Session | None:
    """The live session of a cookie's value: None when absent, unknown, expired, or its user gone."""
    if not token or len(token) > 100:
        return None
    row = catalog.session(hash_session(token), _iso(now or datetime.now(UTC)))
    if row is None:
        return None
    return Session(row["user"], row["admin"], row["csrf"], row["expires"], row["token_hash"])


def close_session(catalog: Catalog, session: Session) -> None:
    catalog.delete_session(session.token_hash)
