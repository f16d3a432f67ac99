"""Where jobs run: one small interface, so that a cluster engine can replace the local pool
without touching the pages and commands that submit, list and cancel jobs.

Every executor runs the same thing, the runner (`python -m critic.jobs.runner JOB_ID`, see
critic.jobs.runner), which runs the job's critic command, writes its log and records its end in
the catalog itself. So an executor only has to start a runner somewhere, say whether it is still
there (and, when it is gone unrecorded, why), and stop it. A job records the name of its executor,
so it is watched and cancelled by the one that started it, whatever the default is now.

    local  LocalExecutor (critic.jobs.local): a detached process group on this host
    ray    RayExecutor (critic.jobs.on_ray): a Ray job on the cluster at CRITIC_RAY_ADDRESS;
           the default for new jobs when that is set (ray, the `cluster` extra, is imported only
           when a Ray job is started or looked at)"""

from __future__ import annotations

from typing import Protocol

from critic.errors import SettingsError
from critic.jobs.local import LocalExecutor
from critic.jobs.on_ray import RayExecutor, check_installed, ray_address
from critic.jobs.record import JobRecord
from critic.workspace import Workspace

__all__ = ["Executor", "EXECUTORS", "executor_for", "default_executor"]


class Executor(Protocol):
    name: str  # recorded in the job's row

    def start(self, job: JobRecord) -> str:
        """Start the job's runner and return the handle that finds it again (e.g. "host:pid")."""
        ...

    def alive(self, job: JobRecord) -> bool:
        """Whether the job's runner is still there; True when this executor cannot tell."""
        ...

    def cancel(self, job: JobRecord, grace: float) -> None:
        """Ask the job to stop (the command sees it as Ctrl-C), force it after `grace` seconds,
        and return when nothing of it is left."""
        ...

    def why_gone(self, job: JobRecord) -> str:
        """Why a runner that is no longer alive ended without recording its end, in words for the
        job's error: a line, then what the engine kept of its output when the runner wrote no log."""
        ...

    def engine_log(self, job: JobRecord) -> str:
        """The job's output as the engine kept it, shown when the runner's log file is missing
        ("" when that file is all there is)."""
        ...


# name → constructor taking the workspace
EXECUTORS: dict[str, type] = {"local": LocalExecutor, "ray": RayExecutor}


def default_executor() -> str:
    """The executor new jobs go to: "ray" when CRITIC_RAY_ADDRESS names a cluster (refused at
    once when ray is not installed), else "local"."""
    if ray_address() is None:
        return "local"
    check_installed()
    return "ray"


def executor_for(name: str, workspace: Workspace) -> Executor:
    if name not in EXECUTORS:
        raise SettingsError(
            f"this job runs on the {name!r} executor, which this installation does not have "
            f"(it has: {', '.join(EXECUTORS)})"
        )
    return EXECUTORS[name](workspace)
