"""The local worker pool: start queued jobs, oldest first, while fewer than `max_running` run.
`critic jobs work` runs it in the foreground; the workbench server runs the same loop in a
background thread. Pools hold no state: the catalog is the queue, and a job is claimed with one
conditional UPDATE, so two pools (two servers, a server and `critic jobs work`) never start one
job twice, nor more than `max_running` between them.

With CRITIC_RAY_ADDRESS the pool submits jobs to the Ray cluster rather than running them here.
Ray then holds the jobs its nodes cannot take yet (PENDING) and starts them as resources free up,
so the limit is larger by default (RAY_MAX_RUNNING): it bounds how many jobs wait in Ray's queue
rather than in critic's, where a queued job is still cancelled without touching the cluster."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from critic.catalog import Catalog, open_catalog
from critic.errors import SettingsError
from critic.jobs.executor import executor_for
from critic.jobs.on_ray import ray_address
from critic.jobs.queue import refresh
from critic.jobs.record import JobRecord, timestamp
from critic.workspace import Workspace

__all__ = [
    "run_pending",
    "serve_forever",
    "max_running_from_env",
    "DEFAULT_MAX_RUNNING",
    "RAY_MAX_RUNNING",
]

DEFAULT_MAX_RUNNING = 1  # one job at a time: training takes both cores of the reference machine
RAY_MAX_RUNNING = 16  # jobs handed to a Ray cluster at once: its own queue holds what waits
_log = logging.getLogger("critic.jobs")


def max_running_from_env() -> int:
    """CRITIC_JOBS_MAX_RUNNING, else RAY_MAX_RUNNING when jobs go to Ray (CRITIC_RAY_ADDRESS),
    else DEFAULT_MAX_RUNNING."""
    text = os.environ.get("CRITIC_JOBS_MAX_RUNNING", "").strip()
    if not text:
        return RAY_MAX_RUNNING if ray_address() else DEFAULT_MAX_RUNNING
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(f"CRITIC_JOBS_MAX_RUNNING must be a whole number ≥ 1, got {text!r}")
    return int(text)


def run_pending(
    workspace: Workspace | None = None, max_running: int | None = None
) -> list[JobRecord]:
    """Start queued jobs while fewer than `max_running` (default: `max_running_from_env()`) run;
    the jobs started. Jobs whose process died unrecorded are marked failed first, which frees
    their places."""
    workspace = (workspace or Workspace.from_env()).ensure()
    max_running = max_running or max_running_from_env()
    refresh(workspace)
    catalog = open_catalog(workspace)
    started = []
    while (job := catalog.claim_job(timestamp(), max_running)) is not None:
        started.append(_start(catalog, job, workspace))
    return started


def _start(catalog: Catalog, job: JobRecord, workspace: Workspace) -> JobRecord:
    try:
        handle = executor_for(job.executor, workspace).start(job)
    except Exception as exc:  # recorded on the job, where its submitter looks; the pool goes on
        catalog.end_job(job.id, "failed", timestamp(), error=f"could not start: {exc}")
    else:
        catalog.set_job_handle(job.id, handle)
    return catalog.jobs(job_id=job.id)[0]


def serve_forever(
    workspace: Workspace | None = None,
    max_running: int | None = None,
    stop: threading.Event | None = None,
    *,
    interval: float = 1.0,
    on_start: Callable[[JobRecord], None] = lambda job: None,
    until_idle: bool = False,
) -> None:
    """Call `run_pending` every `interval` seconds until `stop` is set (or, with `until_idle`,
    until no job is queued or running). A failing round is logged on `critic.jobs` and the loop
    goes on: a background thread must not die of a catalog that was busy for a while."""
    workspace = (workspace or Workspace.from_env()).ensure()
    max_running = max_running or max_running_from_env()
    stop = stop or threading.Event()
    catalog = open_catalog(workspace)
    while not stop.is_set():
        try:
            for job in run_pending(workspace, max_running):
                on_start(job)
            if until_idle and not (catalog.jobs(state="queued") or catalog.jobs(state="running")):
                return
        except Exception:
            _log.exception("the job pool's round failed; trying again in %s s", interval)
        stop.wait(interval)
