"""Evaluation: for an experiment's checkpoint and a subset (or another dataset version with the same
classes), the metric cards, confusion matrix, per-class table, history, calibration, ROC/PR and the
error browser; an evaluation run as a job."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/evaluations", "Evaluation")
