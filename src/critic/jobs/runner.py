"""`python -m critic.jobs.runner [--detach] JOB_ID`: run one claimed job's critic command, stream
its output to the job's log, and record in the catalog how it ended — done (exit code 0), failed
(another exit code, with the log's last lines) or cancelled (it was sent SIGTERM) — so the record
is right even when nobody is watching. Every executor runs this; `--detach` (the local executor's)
first forks into a new session whose parent is not the caller, and prints the runner's pid.

The command runs in a child process rather than in this one (through the CLI's `main`), because:
- the end is recorded even when the command dies outright (the kernel's OOM killer, a crash in a
  native library, `os._exit`): this process survives it and writes failed, the exit code (the
  signal's, negative) and the last lines;
- everything the command prints reaches the log, output of C libraries included, without
  redirecting this process's own descriptors;
- the library does not import the CLI (tests/test_architecture.py): the child runs `critic` as a
  user would. It costs one more interpreter start-up (~0.1 s), nothing next to a job.

Cancelling sends SIGTERM to the process group (runner and command; Ray's stop_job sends it to
both as well). The command takes it as Ctrl-C: a training run stops between steps and is left
"stopped" and resumable, as Ctrl-C leaves it, and checkpoints, written atomically, are never
half-visible. The runner forwards SIGTERM to the command as well, for executors that signal the
runner alone; the command acts on the first and ignores the rest, so its clean-up is not cut
short. SIGINT counts as SIGTERM for both (a Ray cluster may stop jobs with it:
RAY_JOB_STOP_SIGNAL=SIGINT)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from critic.catalog import open_catalog
from critic.jobs.logs import ERROR_LINES, tail
from critic.jobs.record import JobRecord, timestamp
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = ["run", "main"]


def command_source(job_id: str) -> str:
    """The `python -c` program of a job's command: `critic ARGV...`, SIGTERM taken as Ctrl-C.
    Its first line names the job, so the job's processes can be told from others by argv."""
    return (
        f"# critic job {validate_name(job_id, 'job id')}\n"
        "import signal, sys\n"
        "STOP = (signal.SIGTERM, signal.SIGINT)\n"
        "def _stop(signum, frame):\n"
        "    for s in STOP:  # once: the clean-up runs to its end\n"
        "        signal.signal(s, signal.SIG_IGN)\n"
        "    raise KeyboardInterrupt\n"
        "for s in STOP:\n"
        "    signal.signal(s, _stop)\n"
        "sys.argv[0] = 'critic'\n"
        "from critic.cli import main\n"
        "main()\n"
    )


class _Stop:
    """SIGTERM (and SIGINT) handler: remember that the job was asked to stop and pass SIGTERM on
    to the command."""

    def __init__(self):
        self.requested = False
        self.child: subprocess.Popen | None = None

    def __call__(self, signum, frame) -> None:
        self.requested = True
        if self.child is not None and self.child.returncode is None:
            os.kill(self.child.pid, signal.SIGTERM)  # not yet reaped: the pid is still the child's


def run(job_id: str, workspace: Workspace) -> int:
    """Run a job claimed by a pool (state "running"); 0 when it ended done."""
    catalog = open_catalog(workspace)
    (job,) = catalog.jobs(job_id=job_id) or [None]
    if job is None or job.state != "running":
        # cancelled (or never claimed) before it started; said where an engine's log keeps it (a
        # node that does not share the workspace or the catalog lands here too)
        print(
            f"{job_id}: not a running job in this catalog (CRITIC_HOME={workspace.root})",
            file=sys.stderr,
        )
        return 0
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    path = workspace.root / job.log
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(path, "ab", buffering=0) as log:
        _say(log, f"{job.id} on {socket.gethostname()} (pid {os.getpid()}): {job.command}")
        code = _run_command(job, log, stop)
        _say(log, _ending(code, stop.requested, time.monotonic() - start))
    state = "done" if code == 0 else "cancelled" if stop.requested else "failed"
    error = tail(path, ERROR_LINES) if state == "failed" else None
    catalog.end_job(job.id, state, timestamp(), exit_code=code, error=error)
    return 0 if state == "done" else 1


def _run_command(job: JobRecord, log, stop: _Stop) -> int:
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", command_source(job.id), *job.argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        _say(log, f"could not start the command: {exc}")
        return 127
    stop.child = child
    if stop.requested:  # asked to stop while it was being started
        child.send_signal(signal.SIGTERM)
    return child.wait()


def _ending(code: int, stopped: bool, seconds: float) -> str:
    how = f"killed by {_signal_name(-code)}" if code < 0 else f"exit code {code}"
    return f"{'cancelled: ' if stopped else ''}{how} after {seconds:.1f} s"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _say(log, line: str) -> None:
    log.write(f"[critic job {timestamp()[:19]}] {line}\n".encode())


def _detach() -> None:
    """Fork into a new session; the parent prints the runner's pid and exits, the runner goes on
    with no terminal and nothing of the caller's open (its output goes to the job's log)."""
    pid = os.fork()
    if pid:
        print(pid, flush=True)
        os._exit(0)
    os.setsid()  # runner pid = its process group's id = its session's id
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)  # the caller reads our pid until the pipe closes: it closes here


def main(args: list[str]) -> int:
    detach = args[:1] == ["--detach"]
    if len(args) != 1 + detach:
        print("usage: python -m critic.jobs.runner [--detach] JOB_ID", file=sys.stderr)
        return 2
    job_id = validate_name(args[-1], "job id")
    if detach:
        _detach()
    workspace = Workspace.from_env()
    try:
        return run(job_id, workspace)
    except Exception as exc:  # a bug here: record it where the job's readers look
        _record_crash(job_id, workspace, exc)
        raise


def _record_crash(job_id: str, workspace: Workspace, exc: Exception) -> None:
    import traceback

    from critic.jobs.logs import log_file

    path = workspace.root / log_file(job_id)
    with open(path, "a", encoding="utf-8") as log:
        log.write("[critic job] the runner failed:\n" + "".join(traceback.format_exception(exc)))
    open_catalog(workspace).end_job(
        job_id, "failed", timestamp(), error=tail(Path(path), ERROR_LINES)
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
