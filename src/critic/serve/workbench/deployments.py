"""Deployments: create from an experiment and checkpoint, enable/disable, rotate the token (shown
once), delete; the page with URL, curl/JSON/httpx examples, request count and latency, and the
tester filled in."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/deployments", "Deployments")
