"""What a load balancer and a scraper ask a replica, without a token and without a model call:
GET /healthz (readiness: can it answer every enabled deployment now?), GET /livez (liveness: is the
process answering at all?) and GET /metrics (Prometheus, unless CRITIC_METRICS=off)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

import critic
from critic.errors import ApiError
from critic.serve.auth import get_registry
from critic.serve.metrics import CONTENT_TYPE_LATEST
from critic.serve.registry import Registry
from critic.serve.schemas import Health, Live

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Readiness: the catalog is read and every enabled deployment's model is loaded",
    responses={503: {"model": Health, "description": "not ready: `reasons` says why"}},
)
def healthz(registry: Registry = Depends(get_registry)) -> Health:
    # a plain def: FastAPI runs it in a thread, so a slow catalog does not hold up the event loop
    reasons = registry.unready()
    if reasons:
        body = Health(status="unavailable", version=critic.__version__, reasons=reasons)
        return JSONResponse(body.model_dump(), status_code=503)
    enabled = sum(1 for r in registry.deployments.values() if r.enabled)
    return Health(status="ok", version=critic.__version__, deployments=enabled)


@router.get("/livez", summary="Liveness: the process answers (nothing else is checked)")
async def livez() -> Live:
    return Live(status="ok", version=critic.__version__)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(registry: Registry = Depends(get_registry)) -> Response:
    if registry.stats.metrics is None:
        raise ApiError(404, "metrics_off", "metrics are off on this server (CRITIC_METRICS=off)")
    return Response(registry.stats.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
