"""Models: the presets as a gallery (block graph, parameters, published and measured accuracy) and the
canvas (palette, wiring, settings panel, live shape checks), saving the TOML graph spec `critic
train --config` reads."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/models", "Models")
