"""Who may call a deployment: its token, sent as HTTP Basic (`curl -u "TOKEN:"`, the token as the
user name or the password) or as `Authorization: Bearer TOKEN`.

The two schemes are FastAPI security classes, so /docs lists them and its "Authorize" button works;
they hand the raw header on, and `authorized_deployment` checks it after the deployment is known
(an unknown deployment is a 404 whatever the token). The catalog keeps only SHA-256 digests of
tokens, compared in constant time (`critic.deploy.token_matches`)."""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBearer
from starlette.concurrency import run_in_threadpool

from critic.catalog import DeploymentRecord
from critic.deploy import hash_token, token_matches
from critic.errors import ApiError
from critic.serve.registry import Registry

__all__ = ["authorized_deployment", "authorize", "token_of", "get_registry"]


class _Header:
    """A security scheme for the OpenAPI description that defers the check: it returns the
    Authorization header as sent (or None)."""

    async def __call__(self, request: Request) -> str | None:
        return request.headers.get("authorization")


class TokenBasic(_Header, HTTPBasic):
    pass


class TokenBearer(_Header, HTTPBearer):
    pass


basic = TokenBasic(
    scheme_name="token_basic",
    realm="critic",
    auto_error=False,
    description='the token as the user name: curl -u "TOKEN:"',
)
bearer = TokenBearer(
    scheme_name="token_bearer", auto_error=False, description="Authorization: Bearer TOKEN"
)


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def authorized_deployment(
    name: str,
    registry: Registry = Depends(get_registry),
    header: str | None = Depends(basic),
    _: str | None = Depends(bearer),
) -> DeploymentRecord:
    """The enabled deployment `name`, if the request carries its token (404, then 401/403).
    Async, so a request does not hop to a worker thread for it: the catalog is read (in a
    thread) only when the registry is due to read it again; the token check is a hash."""
    if registry.refresh_due():
        await run_in_threadpool(registry.refresh)
    record = registry.enabled(name, refresh=False)
    authorize(header, record, registry.owners)
    return record


def authorize(header: str | None, record: DeploymentRecord, owners: dict[str, str]) -> None:
    """Pass, or raise 401 (no token, malformed, not valid) or 403 (another deployment's token)."""
    token = token_of(header)
    # a Bearer caller (the tester page) gets a Bearer challenge: a Basic one makes browsers pop up a login dialog
    is_bearer = (header or "").strip().lower().startswith("bearer")
    challenge = {
        "WWW-Authenticate": 'Bearer realm="critic"'
        if is_bearer
        else 'Basic realm="critic", charset="UTF-8"'
    }
    if token is None:
        raise ApiError(
            401,
            "token_required",
            'send the deployment\'s token: `curl -u "TOKEN:" ...` (HTTP Basic, the '
            "token as user name) or the header `Authorization: Bearer TOKEN`",
            challenge,
        )
    if token_matches(token, record.token_hash):  # SHA-256 digests compared with hmac.compare_digest
        return
    if owners.get(hash_token(token)) is None:
        raise ApiError(
            401,
            "token_invalid",
            "this token is not valid (rotated, mistyped, or deleted); use the token "
            "printed by `critic deploy create` or `critic deploy rotate-token`",
            challenge,
        )
    raise ApiError(
        403,
        "token_for_another_deployment",
        f"this token belongs to another deployment, not {record.name!r}",
    )


def token_of(header: str | None) -> str | None:
    """The token in an Authorization header (Basic: the user name, else the password; Bearer)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user, _, password = (
                base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(
                401,
                "token_malformed",
                'the Authorization header is not valid HTTP Basic; use `curl -u "TOKEN:"`',
                {"WWW-Authenticate": 'Basic realm="critic"'},
            ) from None
        return user or password or None
    raise ApiError(
        401,
        "token_malformed",
        f"unsupported Authorization scheme {scheme!r}; use Basic or Bearer",
        {"WWW-Authenticate": 'Basic realm="critic"'},
    )
