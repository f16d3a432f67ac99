"""Defaults the CLI shows in its help, copied from the modules that own them because importing those
modules loads pandas, matplotlib or torch, and `critic --help` must start without them.
tests/cli/test_startup.py checks that each copy equals its original."""

from __future__ import annotations

__all__ = ["IMDB_URL", "COVERAGE_LENGTHS", "SUBSETS", "BASE_URL"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"  # critic.data.download.IMDB_URL
COVERAGE_LENGTHS = (128, 256, 512, 650, 1000)  # critic.data.stats.COVERAGE_LENGTHS
SUBSETS = ("train", "validation", "test")  # critic.data.split.SUBSETS
BASE_URL = (
    "http://127.0.0.1:8000"  # where `critic serve` listens by default (its --host and --port)
)
