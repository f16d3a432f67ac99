"""Shared by the jobs tests: waiting on the catalog, no job process outliving its test, and the
session's Ray head (tests/ray_cluster.py) for the jobs that run on Ray."""

from __future__ import annotations

import time

import pytest

from critic.catalog import open_catalog
from critic.errors import CriticError
from critic.jobs import JobRecord, executor_for
from tests.ray_cluster import ray_cluster  # noqa: F401 - a fixture, for test_ray.py


@pytest.fixture(autouse=True)
def _no_job_left_running(workspace):
    """A test that fails half-way must not leave a training process behind (here or on Ray)."""
    yield
    if workspace.database or workspace.catalog_path.exists():
        for job in open_catalog(workspace).jobs(state="running"):
            try:
                executor_for(job.executor, workspace).cancel(job, grace=0.0)
            except CriticError:
                pass  # no handle, or a Ray head that is gone: no process to stop


def wait_for(condition, seconds: float = 60.0, what: str = "the condition"):
    """Poll `condition()` until it returns something true; that value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"waited {seconds:.0f} s for {what}"
        time.sleep(0.1)
    return value


def job(workspace, job_id: str) -> JobRecord:
    """The catalog's row as it is (no refresh)."""
    return open_catalog(workspace).jobs(job_id=job_id)[0]


def ended(workspace, job_id: str, seconds: float = 90.0) -> JobRecord:
    return wait_for(
        lambda: (j := job(workspace, job_id)).finished and j, seconds, f"{job_id} to end"
    )
