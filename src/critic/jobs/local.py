"""The local executor: each job's runner is a process of this host, in a session and process
group of its own, detached from whoever started it.

`start` launches `python -m critic.jobs.runner --detach JOB_ID`, which forks once more and exits:
the runner's parent is then not the caller (a web server, `critic jobs work`, a test) but the
system's, so the caller may stop, restart or crash without taking the job along, and has no child
to reap. Its handle is "host:pid"; the pid is also the id of the process group that holds the
runner and the command it runs (and anything that command starts), so `cancel` reaches them all.

Processes are read from /proc on Linux: a zombie counts as gone (a detached runner's new parent
may be slow to reap it), and a process counts as the job's only when its command line names the
job, so a reused pid is never taken for it. Elsewhere, plain signal-0 probes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from critic.errors import SettingsError
from critic.jobs.record import JobRecord
from critic.workspace import Workspace

__all__ = ["LocalExecutor"]

_PROC = Path("/proc")
_KILL_WAIT = 10.0  # seconds for the kernel to take a SIGKILLed group away


class LocalExecutor:
    name = "local"

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    def start(self, job: JobRecord) -> str:
        launched = subprocess.run(
            [sys.executable, "-m", "critic.jobs.runner", "--detach", job.id],
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            start_new_session=True,  # not in the caller's process group: its Ctrl-C is not ours
        )
        pid = launched.stdout.strip()
        if launched.returncode != 0 or not pid.isdigit():
            raise RuntimeError(
                f"the job runner did not start (exit code {launched.returncode}): "
                f"{launched.stderr.strip()[-500:]}"
            )
        return f"{socket.gethostname()}:{pid}"

    def alive(self, job: JobRecord) -> bool:
        host, pid = _parse(job.handle)
        if host != socket.gethostname():
            return True  # another host's job: only that host can tell
        return _is_job(pid, job.id)

    def cancel(self, job: JobRecord, grace: float) -> None:
        host, group = _parse(job.handle)
        if host != socket.gethostname():
            raise SettingsError(f"job {job.id} runs on {host}: cancel it there")
        if not any(_is_job(pid, job.id) for pid in _members(group)):
            return  # nothing of it is left (and the group id may belong to someone else now)
        _signal_group(group, signal.SIGTERM)
        if not _gone(group, grace):
            _signal_group(group, signal.SIGKILL)
            _gone(group, _KILL_WAIT)

    def why_gone(self, job: JobRecord) -> str:
        return f"its process ({job.handle}) ended without recording its end: killed, or its machine stopped"

    def engine_log(self, job: JobRecord) -> str:
        return ""  # the runner's log file is all there is

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "CRITIC_HOME": str(self.workspace.root),
            "PYTHONUNBUFFERED": "1",  # the log shows each line when it is printed
            "COLUMNS": "120",  # rich draws its tables for a log file this wide
        }


def _parse(handle: str | None) -> tuple[str, int]:
    host, _, pid = (handle or "").rpartition(":")
    if not host or not pid.isdigit():
        raise SettingsError(f"not a local job handle: {handle!r}")
    return host, int(pid)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a live process; None when it is gone or a zombie."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    state, _, group = text[text.rindex(")") + 2 :].split()[:3]  # the name may hold spaces
    return None if state in ("Z", "X") else (state, int(group))


def _is_job(pid: int, job_id: str) -> bool:
    """Whether `pid` is a live process of this job: its runner or its command, named in argv."""
    if not _PROC.is_dir():
        return _probe(os.kill, pid)
    try:
        argv = (_PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return _stat(pid) is not None and any(job_id.encode() in word for word in argv)


def _members(group: int) -> list[int]:
    """The live processes of a process group."""
    if not _PROC.is_dir():
        return [group] if _probe(os.killpg, group) else []
    found = []
    for entry in os.scandir(_PROC):
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == group:
            found.append(int(entry.name))
    return found


def _probe(kill, pid: int) -> bool:
    try:
        kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass  # gone meanwhile


def _gone(group: int, seconds: float) -> bool:
    """Wait up to `seconds` for the group to have no live process; whether it has none."""
    deadline = time.monotonic() + seconds
    while _members(group):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
