"""`critic jobs`: critic commands run as jobs, outside the terminal that asks for them: queue one,
run the pool that starts them, list, show, follow their logs, cancel them."""

from __future__ import annotations

import sys
import time

import typer
from rich.console import Console
from rich.markup import escape

from critic.cli.base import App
from critic.cli.render import console, jobs_table, print_job, print_job_started

__all__ = ["app"]

app = App(
    no_args_is_help=True,
    help="Run train, evaluate and data commands as jobs: queue, run a pool, watch, cancel.",
)

_ID = typer.Argument(..., help="Job id (see `critic jobs list`).")


@app.command("list")
def jobs_list(
    state: str | None = typer.Option(
        None,
        "--state",
        help="Only the jobs in this state: queued, running, done, failed, cancelled.",
    ),
) -> None:
    """Every job, oldest first: state, kind, target, user, when it was queued, how long it ran."""
    from critic.jobs import list_jobs

    jobs = list_jobs(state=state)
    if jobs:
        console.print(jobs_table(jobs))
    else:
        console.print(
            f"no {state} jobs"
            if state
            else "no jobs yet: queue one with `critic jobs submit -- train ...`"
        )


@app.command("show")
def jobs_show(job_id: str = _ID) -> None:
    """One job: its command, state, times, exit code, log file, and why it failed."""
    from critic.jobs import get_job
    from critic.workspace import Workspace

    print_job(get_job(job_id), Workspace.from_env().root)


@app.command("logs")
def jobs_logs(
    job_id: str = _ID,
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing what the job writes until it ends."
    ),
    tail: int | None = typer.Option(None, "--tail", "-n", min=0, help="Only the last N lines."),
) -> None:
    """A job's log: the command's output between the runner's first and last lines."""
    from critic.jobs import logs, read_log

    if not follow:
        _write(logs(job_id, tail=tail))
        return
    text, offset, ended = read_log(job_id)
    if tail is not None:
        text = "".join(text.splitlines(keepends=True)[-tail:] if tail else [])
    while text or not ended:
        _write(text)
        if not text:
            time.sleep(0.5)
        text, offset, ended = read_log(job_id, offset)


def _write(text: str) -> None:
    sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")
    sys.stdout.flush()


@app.command("cancel")
def jobs_cancel(
    job_id: str = _ID,
    grace: float = typer.Option(
        10.0, "--grace", min=0, help="Seconds a running job has to stop before it is killed."
    ),
) -> None:
    """Cancel a job: SIGTERM (Ctrl-C to it: training stays resumable), SIGKILL after --grace."""
    from critic.jobs import cancel, get_job

    if (job := get_job(job_id)).finished:
        console.print(f"{job.id} has already ended: {job.state}")
        return
    job = cancel(job_id, grace=grace)
    console.print(f"{job.id}: [yellow]{job.state}[/]  {escape(job.command)}", soft_wrap=True)


@app.command("submit", context_settings={"ignore_unknown_options": True})
def jobs_submit(
    argv: list[str] = typer.Argument(
        ...,
        metavar="-- COMMAND...",
        help="The critic command, after `--`: train, evaluate, data import, data split or "
        "data stats with its options, e.g. -- train --dataset imdb --preset linear --name lin-1",
    ),
) -> None:
    """Queue a critic command as a job and print its id; a pool (`critic jobs work`) starts it."""
    from critic.jobs import kind_of, submit

    job = submit(kind_of(argv), argv)
    console.print(job.id, highlight=False)
    Console(stderr=True).print(
        f"queued: {escape(job.command)}\n"
        f"follow it with `critic jobs logs {job.id} --follow` once a pool (`critic jobs work`) runs",
        highlight=False,
        soft_wrap=True,
    )


@app.command("work")
def jobs_work(
    max_running: int | None = typer.Option(
        None,
        "--max-running",
        min=1,
        help="Jobs run at once (default: CRITIC_JOBS_MAX_RUNNING, else 1; on Ray, 16).",
    ),
    until_idle: bool = typer.Option(
        False, "--until-idle", help="Stop once no job is queued or running (default: on Ctrl-C)."
    ),
) -> None:
    """Start queued jobs, oldest first, every second (here, or on the Ray cluster at
    CRITIC_RAY_ADDRESS); stopping it leaves the running jobs running."""
    from critic.jobs import max_running_from_env, serve_forever
    from critic.jobs.on_ray import ray_address
    from critic.workspace import Workspace

    workspace = Workspace.from_env()
    max_running = max_running or max_running_from_env()
    where = f" (new jobs run on the Ray cluster at {ray_address()})" if ray_address() else ""
    console.print(
        f"job pool on {workspace.root}{where}: up to {max_running} at a time; "
        + ("it stops when the queue is empty" if until_idle else "Ctrl-C stops it")
    )
    try:
        serve_forever(workspace, max_running, on_start=print_job_started, until_idle=until_idle)
    except KeyboardInterrupt:
        console.print("pool stopped; the running jobs carry on (`critic jobs list`)")
