"""Logging in and out, and the workbench's own static files (open to anyone: the login page needs
its stylesheet).

    GET  /login          the form (a browser sent here from a page comes back to it: ?next=PATH)
    POST /login          name + password → a session cookie, then a 303 to `next` (a local path)
    POST /logout         ends the session on the server (behind require_user and require_csrf)
    GET  /static/PATH    critic/static/PATH: .css, .js, .svg, .png (vendored libraries too)

The login form is itself protected from cross-site posts (someone logging a victim in under the
attacker's account): GET /login sets a random `critic_login` cookie (SameSite=Strict, Path=/login)
that the form echoes, and a POST's Origin, when sent, must be ours. A wrong password and an unknown
name get the same answer; repeated failures are throttled (`throttle.LoginThrottle`)."""

from __future__ import annotations

import hmac
import math
import re
import secrets
from datetime import timedelta
from importlib import resources

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from critic.errors import ApiError
from critic.serve.workbench.render import render
from critic.serve.workbench.security import (
    check_origin,
    current_session,
    local_path,
    read_form,
    require_user,
    workbench_request,
)
from critic.serve.workbench.sessions import COOKIE, Session, close_session, open_session
from critic.serve.workbench.state import Workbench, get_workbench
from critic.users import authenticate

__all__ = ["public", "router", "LOGIN_COOKIE"]

public = APIRouter(dependencies=[Depends(workbench_request)])  # open to anyone
router = APIRouter()  # behind the page guards

LOGIN_COOKIE = "critic_login"
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # no '/', no hidden file
_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
}


@public.get("/login", summary="The login form")
def login_page(
    request: Request,
    next_: str = Query("/", alias="next", max_length=2000),
    out: bool = Query(False, description="just logged out"),
    workbench: Workbench = Depends(get_workbench),
) -> Response:
    target = local_path(next_)
    if current_session(request, workbench) is not None:
        return RedirectResponse(target, status_code=303)
    return _form(request, workbench, target, notice="You are logged out." if out else None)


@public.post("/login", summary="Log in: a session cookie")
async def login(request: Request, workbench: Workbench = Depends(get_workbench)) -> Response:
    check_origin(request)
    form = await read_form(request)
    target = local_path(form.get("next"))
    name, password = form.get("name", ""), form.get("password", "")
    if not _same(form.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")):
        error = "This login form has expired (or was not sent from this page); please log in again."
        return _form(request, workbench, target, status=403, error=error, name=name)
    address = request.client.host if request.client else "unknown"
    wait = workbench.throttle.wait(name, address)
    if wait > 0:
        minutes = math.ceil(wait / 60)
        error = f"Too many failed logins; try again in {minutes} minute{'s' * (minutes != 1)}."
        response = _form(request, workbench, target, status=429, error=error, name=name)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = await anyio.to_thread.run_sync(
        authenticate, name, password, workbench.workspace, limiter=workbench.logins
    )
    if user is None:
        workbench.throttle.failed(name, address)
        error = "Wrong user name or password."  # the same words for an unknown name
        return _form(request, workbench, target, status=401, error=error, name=name)
    workbench.throttle.succeeded(name, address)
    hours = workbench.settings.session_hours
    token, _ = open_session(workbench.catalog, user.name, timedelta(hours=hours))
    response = RedirectResponse(target, status_code=303)
    _set_cookie(request, response, COOKIE, token, "/", int(hours * 3600))
    _set_cookie(request, response, LOGIN_COOKIE, "", "/login", 0)  # used up
    return response


@router.post("/logout", summary="Log out: the session ends on the server")
def logout(
    request: Request,
    session: Session = Depends(require_user),
    workbench: Workbench = Depends(get_workbench),
) -> Response:
    close_session(workbench.catalog, session)
    response = RedirectResponse("/login?out=1", status_code=303)
    _set_cookie(request, response, COOKIE, "", "/", 0)
    return response


@public.get("/static/{path:path}", summary="The workbench's stylesheets, scripts and images")
def static(path: str) -> Response:
    """critic/static/PATH for a .css, .js, .svg or .png file (vendored ones included), read from
    the package; any other name, a '..' or a hidden file is a 404."""
    parts = path.split("/")
    kind = path.rpartition(".")[2]
    safe = len(parts) <= 4 and all(_SEGMENT.fullmatch(p) and ".." not in p for p in parts)
    file = resources.files("critic").joinpath("static", *parts) if safe and kind in _TYPES else None
    if file is None or not file.is_file():
        raise ApiError(404, "not_found", f"no static file {path[:80]!r}")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(file.read_bytes(), media_type=_TYPES[kind], headers=headers)


def _form(
    request: Request,
    workbench: Workbench,
    target: str,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    name: str = "",
) -> Response:
    """The login form, with a fresh `critic_login` token in the form and in its cookie."""
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status=status,
        title="Log in",
        login_token=token,
        target=target,
        error=error,
        notice=notice,
        name=name[:64],
        no_users=not workbench.catalog.users(),
    )
    _set_cookie(request, response, LOGIN_COOKIE, token, "/login", 3600)
    return response


def _set_cookie(
    request: Request, response: Response, key: str, value: str, path: str, max_age: int
) -> None:
    """HttpOnly (no script reads it), SameSite=Strict (no other site's request carries it), Secure
    when the page came over HTTPS."""
    response.set_cookie(
        key,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _same(sent: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))
