"""`critic serve`: every enabled deployment behind one FastAPI app.

    POST /v1/deployments/{name}/predict   the text(s) → label and every class's probability
    GET  /v1/deployments/{name}           what the deployment expects and answers (token required)
    GET  /healthz                         liveness, no token
    GET  /tester                          the API tester page (static HTML + JS)
    GET  /docs                            OpenAPI documentation

The server keeps no state of its own beyond a cache of the catalog's deployments, re-read at most
every `refresh_seconds`, so enabling, disabling and rotating a token from the CLI take effect
within that time, in every worker process, without a restart. Models are loaded at start-up (and
once when a deployment appears), never per request; all prediction goes through `Predictor`.

Every error is JSON `{"error": CODE, "message": WHAT TO DO}` with a 4xx status."""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

import critic
from critic.catalog import Catalog, DeploymentRecord
from critic.deploy import PREDICT_PATH, hash_token, token_matches
from critic.errors import CriticError
from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from critic.workspace import Workspace

__all__ = ["ServeSettings", "create_app", "create_app_from_env", "PREDICT_PATH"]

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class ServeSettings:
    max_body_bytes: int = 1_000_000  # CRITIC_MAX_BODY_BYTES: a request body above this is refused (413)
    max_batch: int = 256  # CRITIC_MAX_BATCH: texts per JSON batch request
    refresh_seconds: float = 1.0  # CRITIC_REFRESH_SECONDS: how stale the deployment cache may be
    # CRITIC_TORCH_THREADS: torch threads per worker; `critic serve` sets cores ÷ workers, because
    # workers whose thread pools together exceed the cores spin against each other (measured: a Kim CNN
    # at 16 concurrent requests fell from 543 to 39 requests/s with 2 workers × 2 threads on 2 cores)
    torch_threads: int = 0

    @classmethod
    def from_env(cls) -> "ServeSettings":
        def number(key: str, default, kind):
            raw = os.environ.get(key)
            try:
                return kind(raw) if raw is not None else default
            except ValueError:
                raise CriticError(f"{key}={raw!r} is not a number") from None

        return cls(number("CRITIC_MAX_BODY_BYTES", cls.max_body_bytes, int), number("CRITIC_MAX_BATCH", cls.max_batch, int),
                   number("CRITIC_REFRESH_SECONDS", cls.refresh_seconds, float),
                   number("CRITIC_TORCH_THREADS", cls.torch_threads, int))


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


class Registry:
    """The deployments (from the catalog, cached) and one Predictor per (experiment, checkpoint)."""

    def __init__(self, workspace: Workspace, settings: ServeSettings):
        self.workspace, self.settings = workspace, settings
        self.catalog = Catalog(workspace.catalog_path)
        self.deployments: dict[str, DeploymentRecord] = {}
        self.owners: dict[str, str] = {}  # token hash → deployment name
        self.predictors: dict[tuple[str, str], Predictor] = {}
        self.broken: dict[tuple[str, str], str] = {}  # a checkpoint that failed to load → why
        self.loaded_at = float("-inf")
        self.lock = threading.Lock()
        self.limiter = anyio.CapacityLimiter(1)  # predictions at once in this worker

    def refresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.loaded_at < self.settings.refresh_seconds:
            return
        with self.lock:
            records = self.catalog.deployments()
            self.deployments = {r.name: r for r in records}
            self.owners = {r.token_hash: r.name for r in records}
            for r in records:
                if r.enabled:
                    self._load(r)
            self.loaded_at = time.monotonic()

    def _load(self, record: DeploymentRecord) -> None:
        key = (record.experiment, record.checkpoint)
        if key in self.predictors or key in self.broken:
            return
        try:
            folder = get_experiment(record.experiment, self.workspace).checkpoint(record.checkpoint)
            self.predictors[key] = Predictor.from_checkpoint(folder)
        except (CriticError, OSError, ValueError, KeyError) as exc:
            self.broken[key] = str(exc)

    def enabled(self, name: str) -> DeploymentRecord:
        self.refresh()
        record = self.deployments.get(name)
        if record is None or not record.enabled:
            state = "is disabled: enable it with `critic deploy enable " + name + "`" if record else "does not exist"
            raise ApiError(404, "deployment_not_found", f"deployment {name!r} {state}; see `critic deploy list`")
        return record

    def predictor(self, record: DeploymentRecord) -> Predictor:
        key = (record.experiment, record.checkpoint)
        if key not in self.predictors:
            raise ApiError(404, "model_unavailable", f"deployment {record.name!r} cannot load its model "
                                                     f"({self.broken.get(key, 'not loaded')}); redeploy a checkpoint that exists")
        return self.predictors[key]

    def authorize(self, request: Request, record: DeploymentRecord) -> None:
        token = _token(request)
        # a Bearer caller (the tester page) gets a Bearer challenge: a Basic one makes browsers pop up a login dialog
        bearer = request.headers.get("authorization", "").strip().lower().startswith("bearer")
        challenge = {"WWW-Authenticate": 'Bearer realm="critic"' if bearer else 'Basic realm="critic", charset="UTF-8"'}
        if token is None:
            raise ApiError(401, "token_required", "send the deployment's token: `curl -u \"TOKEN:\" ...` (HTTP Basic, the "
                                                  "token as user name) or the header `Authorization: Bearer TOKEN`", challenge)
        if token_matches(token, record.token_hash):  # SHA-256 digests compared with hmac.compare_digest
            return
        owner = self.owners.get(hash_token(token))  # whose token is it, to say 403 rather than 401
        if owner is None:
            raise ApiError(401, "token_invalid", "this token is not valid (rotated, mistyped, or deleted); use the token "
                                                 "printed by `critic deploy create` or `critic deploy rotate-token`", challenge)
        raise ApiError(403, "token_for_another_deployment", f"this token belongs to another deployment, not {record.name!r}")


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "token_malformed", "the Authorization header is not valid HTTP Basic; use `curl -u \"TOKEN:\"`",
                           {"WWW-Authenticate": 'Basic realm="critic"'}) from None
        return user or password or None
    raise ApiError(401, "token_malformed", f"unsupported Authorization scheme {scheme!r}; use Basic or Bearer",
                   {"WWW-Authenticate": 'Basic realm="critic"'})


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_big = ApiError(413, "body_too_large", f"the request body is over {limit:,} bytes; send shorter texts or smaller "
                                              f"batches (the limit is CRITIC_MAX_BODY_BYTES)")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def _texts(request: Request, input_name: str, settings: ServeSettings) -> tuple[list[str], bool]:
    """(texts, single?) from a form (multipart or urlencoded) or JSON body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (*FORM_TYPES, "application/json"):
        raise ApiError(415, "unsupported_media_type", f"send multipart/form-data or application/x-www-form-urlencoded with the "
                                                      f"field {input_name!r}, or application/json {{\"{input_name}\": \"...\"}}"
                                                      f" (got {kind or 'no content type'!r})")
    body = await _body(request, settings.max_body_bytes)
    if kind == "application/json":
        return _json_texts(body, input_name, settings)

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, receive).form()
    except Exception as exc:  # a malformed multipart body; python-multipart raises several types
        raise ApiError(422, "malformed_form", f"the form body could not be parsed ({exc}); `curl -F \"{input_name}=...\"` "
                                              f"sends a valid one") from None
    if input_name not in form:
        raise ApiError(422, "missing_field", f"the form has no field {input_name!r} (got {sorted(form.keys())}); send the text as "
                                             f"`-F \"{input_name}=...\"`")
    values = form.getlist(input_name)
    texts = [await _form_text(v, input_name) for v in values]
    return [_non_empty(t, input_name) for t in texts], len(texts) == 1


async def _form_text(value, input_name: str) -> str:
    if isinstance(value, UploadFile):  # curl -F "review=@file.txt"
        try:
            return (await value.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(422, "not_utf8", f"the file sent as {input_name!r} is not UTF-8 text") from None
    return value


def _json_texts(body: bytes, input_name: str, settings: ServeSettings) -> tuple[list[str], bool]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(422, "malformed_json", f"the body is not valid JSON ({exc.__class__.__name__}: {exc}); send "
                                              f"{{\"{input_name}\": \"...\"}}") from None
    if isinstance(data, dict) and "rows" in data:
        rows = data["rows"]
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise ApiError(422, "malformed_batch", f"\"rows\" must be a non-empty list of objects like {{\"{input_name}\": \"...\"}}")
        if len(rows) > settings.max_batch:
            raise ApiError(413, "batch_too_large", f"{len(rows):,} rows in one request; send at most {settings.max_batch:,} "
                                                   f"per request (the limit is CRITIC_MAX_BATCH)")
        return [_json_text(r, input_name, f"rows[{i}]") for i, r in enumerate(rows)], False
    if not isinstance(data, dict):
        raise ApiError(422, "malformed_json", f"send a JSON object {{\"{input_name}\": \"...\"}} or {{\"rows\": [...]}}")
    return [_json_text(data, input_name, "the body")], True


def _json_text(row: dict, input_name: str, where: str) -> str:
    if input_name not in row:
        raise ApiError(422, "missing_field", f"{where} has no field {input_name!r} (got {sorted(row)}); this deployment "
                                             f"reads its text from {input_name!r}")
    value = row[input_name]
    if not isinstance(value, str):
        raise ApiError(422, "not_text", f"{where}: {input_name!r} must be a string, got {type(value).__name__}")
    return _non_empty(value, input_name, where)


def _non_empty(text: str, input_name: str, where: str = "the request") -> str:
    if not text.strip():
        raise ApiError(422, "empty_text", f"{where}: {input_name!r} is empty; send the text to classify")
    return text


def create_app(workspace: Workspace | None = None, settings: ServeSettings | None = None) -> FastAPI:
    workspace = workspace or Workspace.from_env()
    settings = settings or ServeSettings.from_env()
    registry = Registry(workspace, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.torch_threads:
            import torch

            torch.set_num_threads(settings.torch_threads)
        registry.refresh(force=True)  # every enabled deployment's model is loaded before the first request
        yield

    app = FastAPI(title="critic", version=critic.__version__, lifespan=lifespan,
                  description="Text classifiers trained with critic. Authenticate with the deployment's token.")
    app.state.registry = registry
    app.openapi = lambda: _openapi(app)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: f"no such path {request.url.path!r}; predictions are POSTed to /v1/deployments/NAME/predict",
                   405: f"{request.method} is not allowed on {request.url.path!r}"}.get(exc.status_code, str(exc.detail))
        return _error(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", "; ".join(str(e.get("msg")) for e in exc.errors()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:  # a bug: say so, never show a trace
        return _error(500, "internal_error", "the server failed on this request; the server log has the details")

    @app.post(PREDICT_PATH, summary="Classify one text (form or JSON) or a JSON batch", openapi_extra=PREDICT_DOC,
              responses={200: {"description": "the label and every class's probability"}, **ERROR_DOCS})
    async def predict(name: str, request: Request) -> JSONResponse:
        record = registry.enabled(name)
        registry.authorize(request, record)
        predictor = registry.predictor(record)
        texts, single = await _texts(request, record.input_name, settings)
        # off the event loop, one at a time per worker (torch uses the worker's threads): health checks,
        # refusals and a deployment being disabled are answered while a long batch runs
        probs = await anyio.to_thread.run_sync(predictor.predict_proba, texts, limiter=registry.limiter)
        answers = [{"label": predictor.classes[int(p.argmax())],
                    "probabilities": {c: float(v) for c, v in zip(predictor.classes, p)}} for p in probs]
        who = {"deployment": record.name, "experiment": record.experiment, "checkpoint": record.checkpoint}
        return JSONResponse({**answers[0], **who} if single else {"predictions": answers, **who})

    @app.get("/v1/deployments/{name}", summary="What a deployment expects and answers",
             openapi_extra={"security": SECURITY}, responses={s: ERROR_DOCS[s] for s in (401, 403, 404)})
    async def describe(name: str, request: Request) -> JSONResponse:
        record = registry.enabled(name)
        registry.authorize(request, record)
        predictor = registry.predictor(record)
        manifest = predictor.manifest
        return JSONResponse({"name": record.name, "input_name": record.input_name, "classes": predictor.classes,
                             "experiment": record.experiment, "checkpoint": record.checkpoint,
                             "epoch": manifest.get("epoch"), "model": manifest.get("config", {}).get("preset"),
                             "dataset": manifest.get("dataset"), "predict_path": PREDICT_PATH.format(name=record.name)})

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> JSONResponse:
        registry.refresh()
        return JSONResponse({"status": "ok", "version": critic.__version__,
                             "deployments": sum(1 for r in registry.deployments.values() if r.enabled)})

    @app.get("/tester", response_class=HTMLResponse, summary="The API tester page")
    async def tester() -> HTMLResponse:
        return HTMLResponse(_tester_html())

    return app


# -- the OpenAPI description (/docs, /openapi.json): the routes read their bodies themselves, because
#    the text's field name is each deployment's own, so the schema is written out here ---------------

SECURITY = [{"token_basic": []}, {"token_bearer": []}]
_TEXT = {"type": "string", "minLength": 1, "description": "the text to classify"}
_FIELDS = {"type": "object", "additionalProperties": _TEXT, "minProperties": 1,
           "description": "the deployment's input field (see GET /v1/deployments/NAME: `input_name`, e.g. review) → the text"}
PREDICT_DOC = {
    "security": SECURITY,
    "requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": _FIELDS},
        "application/x-www-form-urlencoded": {"schema": _FIELDS},
        "application/json": {"schema": {"oneOf": [_FIELDS, {
            "type": "object", "required": ["rows"], "description": "a batch: at most CRITIC_MAX_BATCH rows",
            "properties": {"rows": {"type": "array", "minItems": 1, "items": _FIELDS}}}]}},
    }},
}
_ERROR = {"application/json": {"schema": {"type": "object", "required": ["error", "message"], "properties": {
    "error": {"type": "string", "description": "a stable code, e.g. token_invalid"},
    "message": {"type": "string", "description": "what went wrong and what to do"}}}}}
ERROR_DOCS = {status: {"description": what, "content": _ERROR} for status, what in {
    401: "no token, a malformed one, or one that is not valid", 403: "the token of another deployment",
    404: "no such deployment, or it is disabled", 413: "the body or the batch is over the limit",
    415: "a content type other than form or JSON", 422: "the body does not hold a non-empty text"}.items()}


def _openapi(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = {
            "token_basic": {"type": "http", "scheme": "basic", "description": "the token as the user name: curl -u \"TOKEN:\""},
            "token_bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer TOKEN"}}
        app.openapi_schema = schema
    return app.openapi_schema


def _tester_html() -> str:
    return resources.files("critic").joinpath("static/tester.html").read_text(encoding="utf-8")


def create_app_from_env() -> FastAPI:
    """The factory `critic serve` hands to uvicorn (each worker process builds its own app)."""
    return create_app()
