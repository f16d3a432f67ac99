"""Who may use the workbench, as FastAPI dependencies that the page router carries, so that every
page gets them by construction (see `critic.serve.workbench.install`):

    require_user   the request's `critic_session` cookie names a live session, else 401
                   (a browser opening a page is sent to /login?next=PATH instead)
    require_csrf   a POST/PUT/PATCH/DELETE carries the session's CSRF token (the form field `csrf`
                   of an urlencoded form, or the header X-CSRF-Token: multipart bodies are not read
                   here, so an upload sends the header), and its Origin (else Referer), when sent,
                   is this server's own; else 403

A deployment token does not open the workbench: only the session cookie is read here. Errors are
`ApiError`s: JSON for scripts, an HTML page for a browser (`critic.serve.workbench.render`)."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from critic.errors import ApiError
from critic.serve.workbench.sessions import COOKIE, Session, find_session
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = [
    "require_user",
    "require_csrf",
    "workbench_request",
    "current_session",
    "check_origin",
    "read_form",
    "wants_html",
    "local_path",
    "FORM_LIMIT",
    "SAFE_METHODS",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_LIMIT = 64 * 1024  # bytes of an urlencoded form; the workbench's forms are small
_FORM_FIELDS = 100


def workbench_request(request: Request) -> None:
    """Marks the request as the workbench's, so its errors are rendered as pages for a browser."""
    request.state.workbench = True


def wants_html(request: Request) -> bool:
    """A browser navigating or posting a form (Accept: text/html), not a script (fetch, curl)."""
    return "text/html" in request.headers.get("accept", "")


def current_session(request: Request, workbench: Workbench) -> Session | None:
    """The request's live session, or None (looked up once per request)."""
    if not hasattr(request.state, "session"):
        request.state.session = find_session(workbench.catalog, request.cookies.get(COOKIE))
    return request.state.session


def require_user(
    request: Request,
    _: None = Depends(workbench_request),
    workbench: Workbench = Depends(get_workbench),
) -> Session:
    session = current_session(request, workbench)
    if session is None:
        raise ApiError(
            401,
            "login_required",
            "log in to the workbench first (POST /login, or open /login in a browser); its "
            "session cookie is the only key: a deployment token does not open the workbench",
        )
    return session


async def require_csrf(request: Request, session: Session = Depends(require_user)) -> None:
    if request.method in SAFE_METHODS:
        return
    check_origin(request)
    sent = request.headers.get("x-csrf-token") or (await read_form(request)).get("csrf")
    if not sent or not hmac.compare_digest(sent.encode("utf-8"), session.csrf.encode("utf-8")):
        raise ApiError(
            403,
            "csrf_token_invalid",
            "refused: the request lacks this session's CSRF token (the form field `csrf` or the "
            "header X-CSRF-Token); reload the page and try again",
        )


def check_origin(request: Request) -> None:
    """403 when the request's Origin (else its Referer) is sent and is not this server's origin."""
    sent = request.headers.get("origin")
    if sent is None:
        referer = request.headers.get("referer")
        if referer is None:
            return
        sent = _origin(referer)
    own = _origin(str(request.base_url))
    if sent.strip().lower() != own:
        raise ApiError(
            403,
            "cross_origin",
            f"refused: this request came from {sent[:100]!r}, not from the workbench's own "
            f"pages ({own}); open the workbench at {own}/ and try again",
        )


def _origin(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "invalid"
    return f"{parts.scheme}://{parts.netloc}".lower()


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first of each name), read once under FORM_LIMIT bytes;
    {} for any other body, which is left unread."""
    if hasattr(request.state, "form"):
        return request.state.form
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form: dict[str, str] = {}
    if kind == "application/x-www-form-urlencoded":
        body = await _limited_body(request)
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=_FORM_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            raise ApiError(
                400, "malformed_form", "the form is not valid UTF-8 urlencoded fields"
            ) from None
        for key, value in pairs:
            form.setdefault(key, value)
    request.state.form = form
    return form


async def _limited_body(request: Request) -> bytes:
    too_big = ApiError(413, "form_too_large", f"the form is over {FORM_LIMIT:,} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > FORM_LIMIT:
        raise too_big
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > FORM_LIMIT:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "incomplete_body", "the connection closed mid-form") from None
    return b"".join(chunks)


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this server (`/datasets?x=1`), else `default`: never another
    site (`//evil.example`, `https://…`, `/\\evil.example`, control characters browsers drop)."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return default
    if (
        target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target
