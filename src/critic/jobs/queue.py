"""The job queue: submit a critic command as a job, look jobs up, read their logs, cancel them.
The pages and `critic jobs` call these; the pool (critic.jobs.pool) starts what is queued.

A job's record is kept true by whoever sees it last: its runner records its end; a job whose
process is gone without having done so (SIGKILL, a machine that stopped) is marked failed, with
its log's last lines, by `refresh`, which every lookup calls first."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from critic.catalog import Catalog, open_catalog
from critic.errors import JobNotFound, SettingsError
from critic.jobs.commands import check_command, check_target, target_of
from critic.jobs.executor import default_executor, executor_for
from critic.jobs.logs import ERROR_LINES, JOBS, log_file, read_from
from critic.jobs.logs import tail as last_lines
from critic.jobs.record import STATES, JobRecord, new_job_id, timestamp
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = [
    "submit",
    "get_job",
    "list_jobs",
    "cancel",
    "refresh",
    "logs",
    "read_log",
    "CANCEL_GRACE",
]

CANCEL_GRACE = 10.0  # seconds between SIGTERM and SIGKILL: a training step and its clean-up fit
_START_GRACE = 60.0  # seconds a claimed job may wait for its pool to record the runner's handle


def submit(
    kind: str,
    argv: Sequence[str],
    *,
    target: str | None = None,
    user: str | None = None,
    workspace: Workspace | None = None,
) -> JobRecord:
    """Queue `critic ARGV...` (an allowed command of this kind, see critic.jobs.commands)."""
    workspace = (workspace or Workspace.from_env()).ensure()
    argv = check_command(kind, argv)
    target = target_of(kind, argv) if target is None else check_target(target)
    if user is not None:
        validate_name(user, "user name")
    catalog = open_catalog(workspace)
    (workspace.root / JOBS).mkdir(exist_ok=True)
    while True:  # a new id until one is free (ids of one second share 65,536 suffixes)
        job_id = new_job_id()
        record = JobRecord(
            id=job_id,
            kind=kind,
            argv=argv,
            state="queued",
            created=timestamp(),
            started=None,
            ended=None,
            executor=default_executor(),
            handle=None,
            log=log_file(job_id),
            exit_code=None,
            error=None,
            target=target,
            user=user,
        )
        if catalog.add_job(record):
            return record


def get_job(job_id: str, workspace: Workspace | None = None) -> JobRecord:
    workspace = workspace or Workspace.from_env()
    validate_name(job_id, "job id")
    refresh(workspace)
    found = open_catalog(workspace).jobs(job_id=job_id)
    if not found:
        raise JobNotFound(f"no job {job_id!r}; see `critic jobs list`")
    return found[0]


def list_jobs(workspace: Workspace | None = None, state: str | None = None) -> list[JobRecord]:
    """Every job (or those in one state), oldest first."""
    if state is not None and state not in STATES:
        raise SettingsError(f"no job state {state!r}; one of: {', '.join(STATES)}")
    workspace = workspace or Workspace.from_env()
    refresh(workspace)
    return open_catalog(workspace).jobs(state=state)


def cancel(
    job_id: str, *, workspace: Workspace | None = None, grace: float = CANCEL_GRACE
) -> JobRecord:
    """Cancel a job: a queued one at once; a running one is asked to stop (SIGTERM: Ctrl-C to
    the command), forced after `grace` seconds, and recorded cancelled once it is gone. A job that
    has ended already is returned as it is."""
    workspace = workspace or Workspace.from_env()
    catalog = open_catalog(workspace)
    job = get_job(job_id, workspace)
    if job.state == "queued" and catalog.end_job(job.id, "cancelled", timestamp(), was=("queued",)):
        return get_job(job.id, workspace)
    job = _with_handle(catalog, get_job(job.id, workspace))  # it may have started meanwhile
    if job.state == "running":
        if job.handle:
            executor_for(job.executor, workspace).cancel(job, grace)
        # the runner records "cancelled" itself when it sees SIGTERM; if it was killed first (or a
        # refresh took its end for a failure), the cancel is why it ended. A run that got to the
        # end at the same moment stays done.
        catalog.end_job(job.id, "cancelled", timestamp(), was=("running", "failed"))
    return get_job(job.id, workspace)


def _with_handle(catalog: Catalog, job: JobRecord, seconds: float = 10.0) -> JobRecord:
    """A running job once its pool has recorded where it runs (just claimed: a moment later)."""
    deadline = time.monotonic() + seconds
    while job.state == "running" and job.handle is None and time.monotonic() < deadline:
        time.sleep(0.05)
        job = catalog.jobs(job_id=job.id)[0]
    return job


def refresh(workspace: Workspace | None = None) -> list[JobRecord]:
    """Mark failed every running job whose process is gone without recording its end, and stop
    what is left of it; the jobs so marked."""
    workspace = workspace or Workspace.from_env()
    catalog = open_catalog(workspace)
    lost = []
    for job in catalog.jobs(state="running"):
        reason = _lost(job, workspace)
        if reason and _mark_lost(catalog, job, reason, workspace):
            lost.append(catalog.jobs(job_id=job.id)[0])
    return lost


def _lost(job: JobRecord, workspace: Workspace) -> str | None:
    """Why a running job is not running any more, or None when it is (or cannot be told)."""
    if job.handle is None:
        waited = datetime.now(UTC) - datetime.fromisoformat(job.started)
        return (
            "the pool that claimed it stopped before starting it"
            if waited.total_seconds() > _START_GRACE
            else None
        )
    try:
        executor = executor_for(job.executor, workspace)
    except SettingsError:
        return None  # another installation's executor: it keeps that job's record
    return None if executor.alive(job) else executor.why_gone(job)


def _mark_lost(catalog: Catalog, job: JobRecord, reason: str, workspace: Workspace) -> bool:
    path = workspace.root / job.log
    line = f"[critic job {timestamp()[:19]}] failed: {reason}"
    error = "\n".join(filter(None, [last_lines(path, ERROR_LINES - 1), line]))
    if not catalog.end_job(job.id, "failed", timestamp(), error=error):
        return False  # its end was recorded meanwhile
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")
    if job.handle:  # the command may outlive a killed runner: it must not go on unrecorded
        executor_for(job.executor, workspace).cancel(job, grace=0.0)
    return True


def logs(job_id: str, tail: int | None = None, workspace: Workspace | None = None) -> str:
    """A job's log so far ("" before it starts), or its last `tail` lines; while its runner has
    written none, what its executor kept (Ray's log of a runner that could not start)."""
    workspace = workspace or Workspace.from_env()
    job = get_job(job_id, workspace)
    path = workspace.root / job.log
    if not path.exists() and job.handle:
        lines = _engine_log(job, workspace).splitlines()
        return "\n".join(lines if tail is None else lines[-tail:] if tail else [])
    if tail is not None:
        return last_lines(path, tail)
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _engine_log(job: JobRecord, workspace: Workspace) -> str:
    try:
        return executor_for(job.executor, workspace).engine_log(job)
    except SettingsError:
        return ""  # another installation's executor


def read_log(
    job_id: str, offset: int = 0, workspace: Workspace | None = None
) -> tuple[str, int, bool]:
    """What a job's log gained from `offset` on, the offset to read from next, and whether the job
    has ended (then nothing more will come once the text is empty): a live view polls this."""
    workspace = workspace or Workspace.from_env()
    job = get_job(job_id, workspace)
    text, offset = read_from(workspace.root / job.log, offset, whole=job.finished)
    return text, offset, job.finished
