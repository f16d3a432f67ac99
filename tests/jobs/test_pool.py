"""The pool and the queue, with an executor that starts nothing (the Executor protocol at work):
at most max_running at once, oldest first, each job claimed once by pools that race, and a
running job whose process is gone marked failed with its log's last lines."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from critic.catalog import open_catalog
from critic.errors import JobNotFound, SettingsError
from critic.jobs import cancel, get_job, list_jobs, refresh, run_pending, submit
from critic.jobs.executor import EXECUTORS
from critic.jobs.pool import max_running_from_env
from critic.jobs.record import timestamp

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines

STATS = ["data", "stats", "tiny"]


class FakeExecutor:
    """Starts nothing; `dead` holds the handles whose process is gone."""

    name = "local"
    started: list[str] = []
    dead: set[str] = set()
    cancelled: list[str] = []

    def __init__(self, workspace):
        self.workspace = workspace

    def start(self, job):
        FakeExecutor.started.append(job.id)
        return f"fake:{job.id}"

    def alive(self, job):
        return job.handle not in FakeExecutor.dead

    def cancel(self, job, grace):
        FakeExecutor.cancelled.append(job.id)
        FakeExecutor.dead.add(job.handle)

    def why_gone(self, job):
        return f"its process ({job.handle}) ended without recording its end"

    def engine_log(self, job):
        return ""


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(EXECUTORS, "local", FakeExecutor)
    monkeypatch.setattr(FakeExecutor, "started", [])
    monkeypatch.setattr(FakeExecutor, "dead", set())
    monkeypatch.setattr(FakeExecutor, "cancelled", [])
    return FakeExecutor


def _running(workspace) -> list[str]:
    return [j.id for j in open_catalog(workspace).jobs(state="running")]


def test_the_pool_runs_at_most_max_running_oldest_first(workspace, fake):
    ids = [submit("stats", STATS, workspace=workspace).id for _ in range(5)]
    assert [j.id for j in run_pending(workspace, max_running=2)] == ids[:2]
    assert run_pending(workspace, max_running=2) == [] and _running(workspace) == ids[:2]
    catalog = open_catalog(workspace)
    catalog.end_job(ids[0], "done", timestamp(), exit_code=0)
    assert [j.id for j in run_pending(workspace, max_running=2)] == [ids[2]]
    assert _running(workspace) == [ids[1], ids[2]]
    assert [j.handle for j in list_jobs(workspace, state="running")] == [
        f"fake:{ids[1]}",
        f"fake:{ids[2]}",
    ]
    assert fake.started == ids[:3]


def test_max_running_comes_from_the_environment(workspace, fake, monkeypatch):
    monkeypatch.setenv("CRITIC_JOBS_MAX_RUNNING", "3")
    for _ in range(4):
        submit("stats", STATS, workspace=workspace)
    assert max_running_from_env() == 3 and len(run_pending(workspace)) == 3
    monkeypatch.setenv("CRITIC_JOBS_MAX_RUNNING", "0")
    with pytest.raises(SettingsError, match="CRITIC_JOBS_MAX_RUNNING"):
        run_pending(workspace)


CLAIMER = """
import sys
from critic.catalog import Catalog
from critic.jobs.record import timestamp
catalog, max_running = Catalog(sys.argv[1]), int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # all start together
while (job := catalog.claim_job(timestamp(), max_running)) is not None:
    print(job.id, flush=True)
"""


def _race(workspace, pools: int, max_running: int) -> list[list[str]]:
    """`pools` processes claim jobs at the same moment until none is left to them."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, workspace.database_url, str(max_running)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
        for _ in range(pools)
    ]
    for p in procs:
        assert p.stdout.readline() == "ready\n"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    return [p.communicate(timeout=120)[0].split() for p in procs]


def test_pools_that_race_claim_each_job_once(workspace):
    ids = [submit("stats", STATS, workspace=workspace).id for _ in range(150)]
    claimed = _race(workspace, pools=3, max_running=10_000)
    every = [job_id for ids_ in claimed for job_id in ids_]
    assert sorted(every) == sorted(ids)  # each once, none lost
    assert len(set(every)) == len(every)
    assert sum(1 for c in claimed if c) >= 2, "one pool took everything: the race never happened"


def test_pools_that_race_start_no_more_than_max_running_between_them(workspace):
    for _ in range(20):
        submit("stats", STATS, workspace=workspace)
    claimed = _race(workspace, pools=3, max_running=4)
    assert sum(map(len, claimed)) == 4 and len(_running(workspace)) == 4


def test_a_job_whose_process_is_gone_is_failed_with_its_last_log_lines(workspace, fake):
    job = submit("stats", STATS, workspace=workspace)
    run_pending(workspace)
    log = workspace.root / job.log
    log.write_text("".join(f"line {i}\n" for i in range(30)))
    assert refresh(workspace) == [] and get_job(job.id, workspace).state == "running"
    fake.dead.add(f"fake:{job.id}")
    lost = get_job(job.id, workspace)  # any lookup refreshes
    assert lost.state == "failed" and lost.exit_code is None and lost.ended
    lines = lost.error.splitlines()
    assert len(lines) == 20 and lines[0] == "line 11" and "ended without recording" in lines[-1]
    assert log.read_text().splitlines()[-1] == lines[-1]  # said in the log too
    assert fake.cancelled == [job.id]  # what was left of it is stopped


def test_a_job_claimed_by_a_pool_that_died_before_starting_it_fails_later(workspace, fake):
    job = submit("stats", STATS, workspace=workspace)
    catalog = open_catalog(workspace)
    long_ago = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert catalog.claim_job(long_ago, 1).id == job.id  # claimed; never started
    assert get_job(job.id, workspace).state == "failed"
    assert "stopped before starting it" in get_job(job.id, workspace).error
    fresh = submit("stats", STATS, workspace=workspace)
    catalog.claim_job(timestamp(), 1)
    assert get_job(fresh.id, workspace).state == "running"  # a moment old: left alone


def test_cancel_a_queued_and_a_running_job(workspace, fake):
    first, second = (submit("stats", STATS, workspace=workspace) for _ in range(2))
    run_pending(workspace, max_running=1)
    queued = cancel(second.id, workspace=workspace)
    assert (queued.state, queued.started, fake.cancelled) == ("cancelled", None, [])
    running = cancel(first.id, workspace=workspace, grace=0.0)
    assert running.state == "cancelled" and fake.cancelled == [first.id]
    assert cancel(first.id, workspace=workspace) == running  # ended: left as it is
    assert run_pending(workspace) == []  # nothing left to start


def test_a_job_that_cannot_start_is_failed_and_the_pool_goes_on(workspace, fake, monkeypatch):
    def broken(self, job):
        raise OSError("no such interpreter")

    monkeypatch.setattr(FakeExecutor, "start", broken)
    job = submit("stats", STATS, workspace=workspace)
    (started,) = run_pending(workspace)
    assert started.state == "failed" and "no such interpreter" in started.error
    assert get_job(job.id, workspace).state == "failed"


def test_unknown_jobs_and_states_are_refused(workspace):
    with pytest.raises(JobNotFound, match="no job 'job-1'"):
        get_job("job-1", workspace)
    with pytest.raises(SettingsError, match="no job state"):
        list_jobs(workspace, state="paused")
