"""The Ray executor: each job's runner is a Ray job, submitted through Ray's Job Submission API to
the cluster whose dashboard CRITIC_RAY_ADDRESS names (`http://HEAD:8265`; Ray also takes its
`ray://HEAD:10001` client address or the cluster's `HEAD:6379`). Ray picks the node, queues what
its nodes cannot take yet, and keeps the job's status and output; critic's catalog stays the
record that `critic jobs` and the pages read.

A Ray job here is the same runner the local pool starts (`python -m critic.jobs.runner JOB_ID`),
run on a node with the workspace's settings in its environment (runtime_env env_vars): the
workspace root, which on a cluster is a filesystem mounted at the same path on every node, the
catalog's URL, and every other CRITIC_* setting of the process that starts it. The runner writes
the job's log into that workspace and records the job's end in the catalog itself, so Ray only
has to say whether the job is still there:

    critic job state   Ray status                     what happens
    running            PENDING, RUNNING               alive
    done/failed/...    SUCCEEDED, FAILED, STOPPED     the runner recorded the end; nothing to do
    running            SUCCEEDED, FAILED, STOPPED     the runner never ran or died: refresh marks
                                                      the job failed with Ray's message and logs

Its handle is "SUBMISSION_ID@ADDRESS": the submission id is derived from the job id and the
address is the one it went to, so any process finds it again, whatever CRITIC_RAY_ADDRESS says
there. Cancel is Ray's stop_job: SIGTERM to the runner and its command (the command takes it as
Ctrl-C: a training run is left stopped and resumable), SIGKILL after STOP_WAIT seconds.

ray is the `cluster` extra: it is imported only here, inside the functions that talk to Ray."""

from __future__ import annotations

import functools
import importlib.util
import os
import shlex
import time
from collections.abc import Sequence

from critic.errors import CriticError, SettingsError
from critic.jobs.commands import command_options
from critic.jobs.logs import ERROR_LINES
from critic.jobs.record import JobRecord
from critic.workspace import Workspace

__all__ = [
    "RayExecutor",
    "ray_address",
    "check_installed",
    "submission_id",
    "resources_for",
    "ADDRESS",
    "PYTHON",
    "STOP_WAIT",
]

ADDRESS = "CRITIC_RAY_ADDRESS"  # the cluster new jobs go to; unset: the local pool runs them
PYTHON = "CRITIC_RAY_PYTHON"  # the interpreter on the nodes that has critic (default: `python`)
# seconds Ray leaves a stopped job before SIGKILL (RAY_JOB_STOP_WAIT_TIME_S, Ray's default 3 s):
# as the local pool's CANCEL_GRACE, time for a training step and its clean-up to finish
STOP_WAIT = 10
REQUEST_TIMEOUT = 10.0  # seconds for one call to the dashboard: an unreachable head must not hang
ENDED = ("SUCCEEDED", "FAILED", "STOPPED")  # Ray's statuses of a job that is over
_SETTLE = 20.0  # seconds past STOP_WAIT for Ray to report a stopped job's end
_NO_RAY = "jobs on a Ray cluster need Ray: pip install 'critic[cluster]'"


def ray_address() -> str | None:
    """CRITIC_RAY_ADDRESS, or None when it is unset or empty."""
    return os.environ.get(ADDRESS, "").strip() or None


def check_installed() -> None:
    """Refuse at once, in words, when ray is not installed (found without importing it)."""
    if importlib.util.find_spec("ray") is None:
        raise SettingsError(_NO_RAY)


def submission_id(job_id: str) -> str:
    """The Ray submission id of a critic job: its id, marked as critic's in Ray's job list."""
    return f"critic-{job_id}"


def resources_for(argv: Sequence[str]) -> tuple[float, float]:
    """(CPUs, GPUs) a job's command asks of Ray: `--threads N` reserves N CPUs (else 1; Ray also
    sets OMP_NUM_THREADS to it), and `--device cuda` or `cuda:N` one GPU. A device named only in a
    --config file is not seen here: name it on the command line."""
    options = dict(command_options(argv))
    threads = options.get("--threads", "")
    cpus = float(threads) if threads.isdigit() and int(threads) > 0 else 1.0
    gpus = 1.0 if options.get("--device", "").startswith("cuda") else 0.0
    return cpus, gpus


class RayExecutor:
    name = "ray"

    def __init__(self, workspace: Workspace):
        check_installed()
        self.workspace = workspace

    def start(self, job: JobRecord) -> str:
        address = ray_address()
        if address is None:
            raise SettingsError(
                f"set {ADDRESS} to the Ray dashboard's address (http://HEAD:8265) to run jobs on Ray"
            )
        cpus, gpus = resources_for(job.argv)
        python = os.environ.get(PYTHON, "").strip() or "python"
        sid = _client(address).submit_job(
            entrypoint=f"{shlex.quote(python)} -m critic.jobs.runner {job.id}",
            submission_id=submission_id(job.id),
            runtime_env={"env_vars": self._environment()},
            entrypoint_num_cpus=cpus,
            entrypoint_num_gpus=gpus,
            metadata={"critic_job": job.id, "critic_command": job.command[:500]},
        )
        return f"{sid}@{address}"

    def alive(self, job: JobRecord) -> bool:
        try:
            details = _details(job)
        except (OSError, RuntimeError):
            return True  # the cluster does not answer: it cannot tell
        return details is not None and details.status not in ENDED

    def cancel(self, job: JobRecord, grace: float) -> None:
        """stop_job, then wait until Ray reports the job over; Ray's own grace before SIGKILL is
        STOP_WAIT (set when the job started), whatever `grace` asks."""
        sid, address = _parse(job.handle)
        try:
            details = _details(job)
            if details is None or details.status in ENDED:
                return
            _client(address).stop_job(sid)
            deadline = time.monotonic() + max(grace, STOP_WAIT) + _SETTLE
            while (details := _details(job)) is not None and details.status not in ENDED:
                if time.monotonic() >= deadline:
                    return  # Ray is slow to say so; the caller records the cancel all the same
                time.sleep(0.2)
        except OSError as exc:
            raise CriticError(
                f"the Ray cluster at {address} does not answer ({exc}); cancel job {job.id} "
                "once it is back"
            ) from exc

    def why_gone(self, job: JobRecord) -> str:
        sid, address = _parse(job.handle)
        try:
            details = _details(job)
        except (OSError, RuntimeError) as exc:
            return f"its Ray job {sid} cannot be looked up at {address}: {exc}"
        if details is None:
            return f"the Ray cluster at {address} has no job {sid} (restarted?)"
        message = (details.message or "").strip().splitlines()[:1]
        said = f"its Ray job {sid} ended {details.status} without the runner recording its end"
        lines = [": ".join([said, *message])]
        if not (self.workspace.root / job.log).exists():  # Ray's output is all there is
            lines += self.engine_log(job).splitlines()[-(ERROR_LINES // 2) :]
        return "\n".join(lines)

    def engine_log(self, job: JobRecord) -> str:
        """Ray's log of the job: what its runner printed before it could write the job's own."""
        sid, address = _parse(job.handle)
        try:
            return _client(address).get_job_logs(sid)
        except (OSError, RuntimeError):
            return ""

    def _environment(self) -> dict[str, str]:
        settings = {k: v for k, v in os.environ.items() if k.startswith("CRITIC_")}
        settings.pop("CRITIC_DATABASE_URL", None)  # the workspace's own, below
        return {
            **settings,
            "CRITIC_HOME": str(self.workspace.root),
            **({"CRITIC_DATABASE_URL": self.workspace.database} if self.workspace.database else {}),
            "PYTHONUNBUFFERED": "1",  # the log shows each line when it is printed
            "COLUMNS": "120",  # rich draws its tables for a log file this wide
            "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT),  # read by the job's supervisor
        }


def _parse(handle: str | None) -> tuple[str, str]:
    sid, at, address = (handle or "").partition("@")
    if not sid or not at or not address:
        raise SettingsError(f"not a Ray job handle: {handle!r}")
    return sid, address


def _details(job: JobRecord):
    """Ray's JobDetails of a job (status, message), or None when the cluster has no such job."""
    sid, address = _parse(job.handle)
    try:
        return _client(address).get_job_info(sid)
    except RuntimeError as exc:
        if "status code 404" in str(exc):  # Ray's SDK says "Request failed with status code 404"
            return None
        raise


@functools.lru_cache(maxsize=8)
def _client(address: str):
    """A JobSubmissionClient for one address, made once per process: making one asks the cluster
    for its version twice, and every lookup of a running job asks for its status."""
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise SettingsError(_NO_RAY) from exc

    class Client(JobSubmissionClient):
        def _do_request(self, method, endpoint, **kwargs):
            kwargs.setdefault("timeout", REQUEST_TIMEOUT)  # Ray's SDK sets none
            return super()._do_request(method, endpoint, **kwargs)

    return Client(address)
