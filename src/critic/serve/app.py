"""The app factory: routers for the prediction API, health and pages, and with `workbench=True` the
workbench (critic.serve.workbench, imported only then); CORS on the prediction API for the origins
CRITIC_CORS_ORIGINS names (cors.py); the deployments' models loaded at start-up (lifespan); every
error answered as JSON `{"error": CODE, "message": WHAT TO DO}` with its status, never a stack
trace (a browser in the workbench gets the same as a page)."""

from __future__ import annotations

import logging
import os
import threading
from contextlib import asynccontextmanager, contextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import critic
from critic.errors import ApiError, CriticError, http_status
from critic.serve import api, cors, health, pages
from critic.serve.registry import Registry
from critic.serve.settings import ServeSettings
from critic.workspace import Workspace

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("critic.serve")


def create_app(
    workspace: Workspace | None = None,
    settings: ServeSettings | None = None,
    *,
    workbench: bool = False,
) -> FastAPI:
    """The prediction API, health and the tester; with `workbench`, the workbench's pages too
    (`critic serve` turns it on unless --api-only)."""
    registry = Registry(workspace or Workspace.from_env(), settings or ServeSettings.from_env())
    app = FastAPI(
        title="critic",
        version=critic.__version__,
        lifespan=_lifespan,
        description="Text classifiers trained with critic. Authenticate with the deployment's token.",
    )
    app.state.registry = registry
    for router in (api.router, health.router, pages.router):
        app.include_router(router)
    if workbench:
        from critic.serve.workbench import install  # templates and pages: not for an API replica

        install(app, registry.workspace, registry.settings)
    cors.install(app, registry.settings.cors_origins)  # last: the outermost middleware
    _add_error_handlers(app)
    app.openapi = lambda: _openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """The factory `critic serve` hands to uvicorn (each worker process builds its own app); the
    workbench is served when CRITIC_WORKBENCH=1 (set by `critic serve` unless --api-only)."""
    return create_app(workbench=os.environ.get("CRITIC_WORKBENCH") == "1")


@asynccontextmanager
async def _lifespan(app: FastAPI):
    registry: Registry = app.state.registry
    if registry.settings.torch_threads:
        import torch

        torch.set_num_threads(registry.settings.torch_threads)
    registry.refresh(
        force=True
    )  # every enabled deployment's model is loaded before the first request
    with _warm_pages(app), _job_pool(app, registry.workspace):
        yield


@contextmanager
def _warm_pages(app: FastAPI):
    """With the workbench, its pages' slow first steps (the Models gallery imports torch to count
    each preset's parameters) done in a background thread at start, not in a person's first
    request. Joined at shutdown: a process must not exit while a thread is importing torch (its
    C++ runtime aborts)."""
    if getattr(app.state, "workbench", None) is None:
        yield
        return
    from critic.serve.workbench import warm

    thread = threading.Thread(target=warm, name="critic-warm-pages", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=60)


@contextmanager
def _job_pool(app: FastAPI, workspace: Workspace):
    """With the workbench, this process also runs the local job pool (critic.jobs) in a thread, so
    what the pages queue starts; jobs run in processes of their own and outlive the server.
    CRITIC_JOBS_POOL=0 leaves it to another process (e.g. `critic jobs work`)."""
    if getattr(app.state, "workbench", None) is None or os.environ.get("CRITIC_JOBS_POOL") == "0":
        yield
        return
    from critic.jobs.pool import serve_forever

    stop = threading.Event()
    thread = threading.Thread(target=serve_forever, args=(workspace, None, stop), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _answer(
    request: Request, status: int, code: str, message: str, headers: dict | None = None
) -> Response:
    """The error as a page for a browser in the workbench, else as JSON."""
    if getattr(request.app.state, "workbench", None) is not None:
        from critic.serve.workbench.render import page_error

        try:
            page = page_error(request, status, code, message, headers)
        except Exception:  # the error page failed too: the JSON answer still says what happened
            log.exception("the error page for %s %s failed", request.method, request.url.path)
            page = None
        if page is not None:
            return page
    return _error(status, code, message, headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _answer(request, exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(CriticError)
    async def critic_error(request: Request, exc: CriticError) -> Response:
        # a library function a route called refused its input: the user can fix it
        status, code = http_status(exc)
        return _answer(request, status, code, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {
            404: f"no such path {request.url.path!r}; predictions are POSTed to /v1/deployments/NAME/predict",
            405: f"{request.method} is not allowed on {request.url.path!r}",
        }.get(exc.status_code, str(exc.detail))
        return _answer(request, exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        message = "; ".join(str(e.get("msg")) for e in exc.errors())
        return _answer(request, 422, "invalid_request", message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # a bug: its traceback goes to the server log (to be found and fixed), never to the client
        log.exception(
            "%s %s failed: a bug in critic", request.method, request.url.path, exc_info=exc
        )
        return _answer(
            request,
            500,
            "internal_error",
            "the server failed on this request; the server log has the details",
        )


def _openapi(app: FastAPI) -> dict:
    """FastAPI's generated schema, plus the models of the prediction body (declared by hand on the
    route, because one route reads a form or JSON) in its components."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        defs = api.REQUEST_MODELS.json_schema(ref_template="#/components/schemas/{model}").get(
            "$defs", {}
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs)
        app.openapi_schema = schema
    return app.openapi_schema
