"""The app factory: routers for the prediction API, health and pages; the deployments' models
loaded at start-up (lifespan); every error answered as JSON `{"error": CODE, "message": WHAT TO
DO}` with its status, never a stack trace."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import critic
from critic.errors import ApiError
from critic.serve import api, health, pages
from critic.serve.registry import Registry
from critic.serve.settings import ServeSettings
from critic.workspace import Workspace

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("critic.serve")


def create_app(
    workspace: Workspace | None = None, settings: ServeSettings | None = None
) -> FastAPI:
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
    _add_error_handlers(app)
    app.openapi = lambda: _openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """The factory `critic serve` hands to uvicorn (each worker process builds its own app)."""
    return create_app()


@asynccontextmanager
async def _lifespan(app: FastAPI):
    registry: Registry = app.state.registry
    if registry.settings.torch_threads:
        import torch

        torch.set_num_threads(registry.settings.torch_threads)
    registry.refresh(
        force=True
    )  # every enabled deployment's model is loaded before the first request
    yield


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {
            404: f"no such path {request.url.path!r}; predictions are POSTed to /v1/deployments/NAME/predict",
            405: f"{request.method} is not allowed on {request.url.path!r}",
        }.get(exc.status_code, str(exc.detail))
        return _error(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", "; ".join(str(e.get("msg")) for e in exc.errors()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # a bug: its traceback goes to the server log (to be found and fixed), never to the client
        log.exception(
            "%s %s failed: a bug in critic", request.method, request.url.path, exc_info=exc
        )
        return _error(
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
