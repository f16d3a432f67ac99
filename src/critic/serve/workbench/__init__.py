"""The workbench: the platform in the browser, behind a login. Server-rendered pages (Jinja2
templates in templates/, our own CSS and scripts in critic/static/), each a few lines over the
library functions the CLI calls.

    GET  /login, POST /login, GET /static/PATH    open (login.py)
    POST /logout                                  behind the guards (login.py)
    GET  /                                        the home page (home.py)
    /datasets, /models, /experiments, /sweeps, /evaluations, /deployments: one module each (see its doc)

Every route of a page module is mounted behind `require_user` and `require_csrf` (security.py) by
`install`, so a page cannot forget them. To add a page: a module here with `router = APIRouter()`
and `NAV = (PATH, LABEL)` (or None: not in the header), its templates extending base.html, and the
module in PAGES. A handler renders with `render(request, "page.html", title=..., **context)`; a
form in a template carries `<input type="hidden" name="csrf" value="{{ session.csrf }}">`, a
script sends the header X-CSRF-Token (read from `<meta name="csrf-token">` in base.html)."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Depends, FastAPI

from critic.serve.settings import ServeSettings
from critic.serve.workbench import (
    datasets,
    deployments,
    evaluations,
    experiments,
    home,
    login,
    models,
    sweeps,
)
from critic.serve.workbench.render import templates
from critic.serve.workbench.security import require_csrf, require_user
from critic.serve.workbench.state import Workbench
from critic.workspace import Workspace

__all__ = ["install", "warm", "PAGES", "GUARDS", "PUBLIC_PATHS"]

PAGES = (
    home,
    datasets,
    models,
    experiments,
    sweeps,
    evaluations,
    deployments,
)  # the page modules, in the header's order
GUARDS = [Depends(require_user), Depends(require_csrf)]
PUBLIC_PATHS = {"/login", "/static/{path:path}"}  # the workbench's only routes open to anyone


def install(app: FastAPI, workspace: Workspace, settings: ServeSettings) -> None:
    """Add the workbench to `app`: its state, the open login routes, and every page behind GUARDS."""
    nav = [page.NAV for page in PAGES if getattr(page, "NAV", None)]
    app.state.workbench = Workbench(workspace, settings, templates(), nav)
    app.include_router(login.public, include_in_schema=False)
    guarded = APIRouter(dependencies=GUARDS)
    guarded.include_router(login.router)
    for page in PAGES:
        guarded.include_router(page.router)
    app.include_router(guarded, include_in_schema=False)
    app.add_middleware(ServerTiming)


def warm() -> None:
    """Each page module's `warm()` (what its first request would otherwise wait for), in turn."""
    for page in PAGES:
        if hasattr(page, "warm"):
            try:
                page.warm()
            except Exception:  # noqa: BLE001 - the page will say what is wrong when it is opened
                logging.getLogger("critic.serve").exception("warming %s failed", page.__name__)


class ServerTiming:
    """Adds `Server-Timing: app;dur=MS` to every answer (browsers' developer tools show it, and
    bench/workbench.py reads it): the time from the request's arrival to its answer's headers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", f"app;dur={ms:.1f}".encode()),
                ]
            await send(message)

        await self.app(scope, receive, timed)
