"""Jobs run for real by the local executor: detached runners, logs, ends recorded by the runner,
cancel through the process group, and a SIGKILLed runner found out by the next lookup."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from critic.experiments.store import get_experiment, list_experiments
from critic.jobs import cancel, get_job, logs, run_pending, submit
from tests.jobs.conftest import ended, job, wait_for

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines

SLOW = [
    "--preset",
    "multi-hot-mlp",
    "--epochs",
    "1000",
    "--early-stopping",
    "0",
    "--batch-size",
    "8",
]


def _pid(job_record) -> int:
    return int(job_record.handle.rpartition(":")[2])


def _members(group: int) -> list[int]:
    """Live processes of a process group (a zombie is not one)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        state, _, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state not in "ZX":
            found.append(int(entry.name))
    return found


def test_a_train_job_runs_detached_and_ends_done(workspace, tiny_dataset):
    submitted = submit(
        "train",
        ["train", "--dataset", tiny_dataset, "--preset", "linear", "--name", "lin-1"],
        workspace=workspace,
    )
    (started,) = run_pending(workspace)
    assert started.id == submitted.id and started.state == "running"
    runner = _pid(started)
    stat = Path(f"/proc/{runner}/stat").read_text()
    ppid, group, session = map(int, stat[stat.rindex(")") + 2 :].split()[1:4])
    assert ppid != os.getpid() and group == session == runner != os.getpgrp()  # not our child

    done = ended(workspace, submitted.id)
    assert (done.state, done.exit_code, done.error) == ("done", 0, None)
    assert done.started <= done.ended and done.seconds() > 0
    assert get_experiment("lin-1", workspace).status == "done"
    text = logs(done.id, workspace=workspace)
    lines = text.splitlines()
    assert lines[0].endswith(f"critic train --dataset {tiny_dataset} --preset linear --name lin-1")
    assert "checkpoint best" in text and "exit code 0" in lines[-1]
    assert logs(done.id, tail=1, workspace=workspace) == lines[-1]


def test_a_failing_command_ends_failed_with_its_last_log_lines(workspace):
    submitted = submit("split", ["data", "split", "nosuch"], workspace=workspace)
    run_pending(workspace)
    failed = ended(workspace, submitted.id)
    assert (failed.state, failed.exit_code) == ("failed", 2)
    assert "no dataset 'nosuch'" in failed.error and "exit code 2" in failed.error
    assert failed.error.splitlines() == logs(failed.id, workspace=workspace).splitlines()[-20:]


def test_cancel_stops_the_process_group_and_leaves_the_run_resumable(workspace, tiny_dataset):
    from critic.experiments.run import resume_experiment

    argv = ["train", "--dataset", tiny_dataset, "--name", "slow", *SLOW]
    submitted = submit("train", argv, workspace=workspace)
    (started,) = run_pending(workspace)
    wait_for(
        lambda: any(e.record.epochs_done for e in list_experiments(workspace)),
        what="a first epoch",
    )
    group = _pid(started)
    assert len(_members(group)) >= 2  # the runner and its command

    cancelled = cancel(submitted.id, workspace=workspace, grace=30.0)
    assert (cancelled.state, cancelled.exit_code) == ("cancelled", 130)  # Ctrl-C's status
    assert _members(group) == []
    assert "cancelled: exit code 130" in logs(submitted.id, tail=1, workspace=workspace)
    experiment = get_experiment("slow", workspace)
    assert experiment.status == "stopped" and "--resume slow" in experiment.record.error
    done = experiment.record.epochs_done
    assert done < 1000
    resumed = resume_experiment("slow", workspace=workspace, epochs=done + 1)
    assert resumed.status == "done" and resumed.record.epochs_done == done + 1


def test_a_job_whose_runner_was_killed_is_failed_when_next_looked_at(workspace, tiny_dataset):
    argv = ["train", "--dataset", tiny_dataset, "--name", "killed", *SLOW]
    submitted = submit("train", argv, workspace=workspace)
    (started,) = run_pending(workspace)
    group = _pid(started)
    wait_for(lambda: len(_members(group)) >= 2, what="the command to start")
    os.kill(group, signal.SIGKILL)  # the runner only: its command goes on, unrecorded
    wait_for(lambda: group not in _members(group), what="the runner to die")
    assert job(workspace, submitted.id).state == "running"  # nobody has looked yet

    lost = get_job(submitted.id, workspace)
    assert lost.state == "failed" and lost.exit_code is None
    assert f"its process ({started.handle}) ended without recording its end" in lost.error
    assert lost.error.splitlines()[0].endswith(" ".join(argv))  # the log's lines before it
    wait_for(lambda: _members(group) == [], 30, "the orphaned command to be stopped")
