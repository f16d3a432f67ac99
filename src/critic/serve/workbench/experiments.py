"""Experiments: the list (status, progress, best validation figures), a new experiment queued as a
job, the live page (curves, ETA, samples/s, log, settings), cancel, resume, compare."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/experiments", "Experiments")
