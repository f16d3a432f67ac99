"""Jobs: critic commands (train, evaluate, data import, ...) run outside the request that asked
for them, recorded in the catalog, run by a pool of workers through a small executor interface.

    record.py    JobRecord and its states
    commands.py  what a job may run (an allow-list of critic commands) and what it targets
    queue.py     submit, get_job, list_jobs, cancel, refresh, logs, read_log
    pool.py      run_pending and serve_forever: start queued jobs, max_running at a time
    executor.py  the Executor protocol and the executors by name
    local.py     LocalExecutor: a detached process group on this host
    runner.py    `python -m critic.jobs.runner JOB_ID`: runs one job and records its end
    logs.py      the log files under $CRITIC_HOME/jobs/
"""

from critic.jobs.commands import COMMANDS, kind_of
from critic.jobs.executor import Executor, default_executor, executor_for
from critic.jobs.local import LocalExecutor
from critic.jobs.pool import max_running_from_env, run_pending, serve_forever
from critic.jobs.queue import cancel, get_job, list_jobs, logs, read_log, refresh, submit
from critic.jobs.record import STATES, JobRecord

__all__ = [
    "JobRecord",
    "STATES",
    "COMMANDS",
    "kind_of",
    "submit",
    "get_job",
    "list_jobs",
    "cancel",
    "refresh",
    "logs",
    "read_log",
    "run_pending",
    "serve_forever",
    "max_running_from_env",
    "Executor",
    "LocalExecutor",
    "executor_for",
    "default_executor",
]
