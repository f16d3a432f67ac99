"""Liveness for load balancers and scripts: no token, no model call."""

from __future__ import annotations

from fastapi import APIRouter, Depends

import critic
from critic.serve.auth import get_registry
from critic.serve.registry import Registry
from critic.serve.schemas import Health

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz(registry: Registry = Depends(get_registry)) -> Health:
    return Health(status="ok", version=critic.__version__, deployments=registry.enabled_count())
