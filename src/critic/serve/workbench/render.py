"""Pages from templates: Jinja2 with autoescape (a name or a message from the catalog is text,
never markup), the header's user, CSRF token and pages filled in, and the headers every page
carries (no framing, no inline script, no caching of a logged-in page). Errors reach a browser as
a page in words, and a script as the API's JSON (`page_error`)."""

from __future__ import annotations

import functools
import hashlib
from http import HTTPStatus
from importlib import resources
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import critic
from critic.serve.workbench.security import wants_html

__all__ = ["render", "page_error", "templates", "static_url", "PAGE_HEADERS"]

PAGE_HEADERS = {
    # scripts and styles only from our own files (static/): no inline script, no CDN
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("critic.serve.workbench", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt variable fails the page's test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=static_url, version=critic.__version__)
    env.filters["when"] = lambda iso: (iso or "")[:16].replace("T", " ")
    return env


@functools.cache
def static_url(name: str) -> str:
    """/static/NAME?v=DIGEST (NAME may be `vendor/uplot-1.6.32/uPlot.min.css`): a changed file
    gets a new URL, so it may be cached long."""
    data = resources.files("critic").joinpath("static", *name.split("/")).read_bytes()
    return f"/static/{name}?v={hashlib.sha256(data).hexdigest()[:12]}"


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """The page `template` with `context`, plus what every page uses: the session (or None), the
    pages of the header, the current path."""
    workbench = request.app.state.workbench
    html = workbench.templates.get_template(template).render(
        session=getattr(request.state, "session", None),
        nav=workbench.nav,
        current=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def page_error(
    request: Request, status: int, code: str, message: str, headers: dict | None = None
) -> Response | None:
    """A browser's answer to an error in the workbench: a redirect to the login for a page opened
    logged out, else the error page. None (answer JSON) for a script, or outside the workbench."""
    if getattr(request.app.state, "workbench", None) is None or not wants_html(request):
        return None
    ours = getattr(request.state, "workbench", False)
    if not ours and not (status == 404 and not request.url.path.startswith("/v1/")):
        return None
    if not ours:
        message = f"There is no page at {request.url.path[:200]!r}."
    if status == 401 and code == "login_required" and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    response = render(
        request,
        "error.html",
        status=status,
        title=_phrase(status),
        status_code=status,
        code=code,
        message=message,
    )
    for key, value in (headers or {}).items():
        if key.lower() != "www-authenticate":  # a Basic challenge would pop up a login dialog
            response.headers[key] = value
    return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
