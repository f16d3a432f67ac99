"""The prediction API: one route that classifies, one that describes a deployment. Each handler
reads the request, calls the deployment's predictor (the one text → prediction path; on ONNX
Runtime for a deployment whose runtime is onnx or onnx-int8), and answers.
With `"explain": true` (a form: `explain=1`) each prediction also carries its explanation
(`Predictor.explain`: the same probabilities, and a score per word); without it the answer is
what it always was.
Each prediction request to a deployment that exists is counted, answered or refused, with its
time and status (`Registry.stats`: the workbench's deployment page, and GET /metrics)."""

from __future__ import annotations

import time
from functools import partial

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter
from pydantic_core import to_json
from starlette.exceptions import HTTPException

from critic.catalog import DeploymentRecord
from critic.deploy import PREDICT_PATH
from critic.errors import ApiError, CriticError, http_status
from critic.predictor import answers
from critic.serve.auth import authorized_deployment, get_registry
from critic.serve.body import FORM_TYPES, PredictBody, read_body
from critic.serve.registry import Registry
from critic.serve.schemas import (
    ERRORS,
    BatchAnswer,
    DeploymentInfo,
    FormFields,
    PredictAnswer,
    PredictRequest,
)

__all__ = ["router", "REQUEST_MODELS"]

router = APIRouter(tags=["prediction"])
REQUEST_MODELS = TypeAdapter(
    PredictRequest
)  # its $defs join the OpenAPI components (see critic.serve.app)
_REF = "#/components/schemas/{model}"
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            **{kind: {"schema": FormFields.model_json_schema()} for kind in FORM_TYPES},
            "application/json": {
                "schema": {
                    k: v
                    for k, v in REQUEST_MODELS.json_schema(ref_template=_REF).items()
                    if k != "$defs"
                }
            },
        },
    }
}


async def counted(name: str, registry: Registry = Depends(get_registry)):
    """Times the request around the handler (its other dependencies included) and counts it in the
    deployment's statistics with the status it gets: an error when anything refused it. Unknown
    names are not counted (an attacker's made-up names would fill the memory)."""
    started, status = time.perf_counter(), 500  # 500 unless answered or refused (e.g. cancelled)
    try:
        yield
        status = 200
    except Exception as exc:
        status = _status_of(exc)
        raise
    finally:
        if name in registry.deployments:
            registry.stats.record(name, time.perf_counter() - started, status < 400, status)


def _status_of(exc: Exception) -> int:
    """The status the app's error handlers answer `exc` with (critic.serve.app)."""
    if isinstance(exc, ApiError | CriticError):
        return http_status(exc)[0]
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 422 if isinstance(exc, RequestValidationError) else 500


@router.post(
    PREDICT_PATH,
    summary="Classify one text (form or JSON) or a JSON batch",
    openapi_extra=_BODY,
    responses=ERRORS,
    dependencies=[Depends(counted, scope="function")],
    response_model_exclude_unset=True,  # no "explanation" key unless one was asked for
)
async def predict(
    request: Request,
    record: DeploymentRecord = Depends(authorized_deployment),
    registry: Registry = Depends(get_registry),
) -> PredictAnswer | BatchAnswer:
    predictor = registry.predictor(record)
    body = await read_body(request, record.input_name, registry.settings)
    # off the event loop, one at a time per worker (torch uses the worker's threads): health checks,
    # refusals and a deployment being disabled are answered while a long batch runs
    if body.explain:
        # an ONNX deployment explains through PyTorch (gradients), loaded at its first explain call
        explainer = partial(registry.explainer, record)
        found = await anyio.to_thread.run_sync(
            _explained, explainer, body, limiter=registry.limiter
        )
    else:
        probs = await anyio.to_thread.run_sync(
            predictor.predict_proba, body.texts, limiter=registry.limiter
        )
        found = answers(predictor.classes, probs)
    who = {
        "deployment": record.name,
        "experiment": record.experiment,
        "checkpoint": record.checkpoint,
    }
    if body.explain:
        # the explanation's own JSON, in the models' key order (tests/serve/test_explain_api.py
        # checks it against them), not validated again field by field: measured on IMDB reviews,
        # that saves ~0.3 ms of the ~1 ms an explanation adds to the linear model's answer
        return _Explained({**found[0], **who} if body.single else {"predictions": found, **who})
    if body.single:
        return PredictAnswer(**found[0], **who)
    return BatchAnswer(predictions=found, **who)


class _Explained(JSONResponse):
    """JSON written by pydantic-core's serializer: a review's few hundred spans take ~0.05 ms
    there, ~0.4 ms through json.dumps (JSONResponse's), a fifth of the linear model's answer."""

    def render(self, content) -> bytes:
        return to_json(content, inf_nan_mode="null")


def _explained(explainer, body: PredictBody) -> list[dict]:
    """`predict`'s answers with an "explanation" each (the same probabilities); `explainer()`
    gives the PyTorch predictor."""
    predictor = explainer()
    if body.explain_class is not None and body.explain_class not in predictor.classes:
        raise ApiError(
            422,
            "unknown_class",
            f"explain_class {body.explain_class[:80]!r} is not a class of this model; its classes "
            f"are {', '.join(predictor.classes)}",
        )
    return [e.answer() for e in predictor.explain(body.texts, body.explain_class)]


@router.get(
    "/v1/deployments/{name}",
    summary="What a deployment expects and answers",
    responses={s: ERRORS[s] for s in (401, 403, 404)},
)
async def describe(
    record: DeploymentRecord = Depends(authorized_deployment),
    registry: Registry = Depends(get_registry),
) -> DeploymentInfo:
    predictor = registry.predictor(record)
    manifest = predictor.manifest
    return DeploymentInfo(
        name=record.name,
        input_name=record.input_name,
        classes=predictor.classes,
        experiment=record.experiment,
        checkpoint=record.checkpoint,
        epoch=manifest.get("epoch"),
        model=manifest.get("config", {}).get("preset"),
        dataset=manifest.get("dataset"),
        predict_path=PREDICT_PATH.format(name=record.name),
        runtime=record.runtime,
    )
