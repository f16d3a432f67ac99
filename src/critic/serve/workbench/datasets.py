"""Datasets: the list of datasets and versions, upload/URL/server-path import with a preview, a
version's page (subsets × labels, rejected rows, statistics as pictures, the coverage field), a new
version with other subset settings."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/datasets", "Datasets")
