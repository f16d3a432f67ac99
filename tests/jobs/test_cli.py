"""`critic jobs`, in-process: submit, work, list, show, logs, cancel; refusals exit 2."""

from __future__ import annotations

import re

import pytest

from critic.jobs import list_jobs
from tests.conftest import run_cli

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines


run = run_cli  # critic ARGS in this process: (code, stdout, stderr)


def test_submit_work_list_show_logs(workspace, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "jobs", "list")
    assert code == 0 and "no jobs yet" in out
    ids = []
    for name in ("nosuch", "missing"):
        code, out, err = run(monkeypatch, capsys, "jobs", "submit", "--", "data", "split", name)
        assert code == 0 and out.startswith("job-") and f"critic data split {name}" in err
        ids.append(out.strip())
    code, out, _ = run(monkeypatch, capsys, "jobs", "list", "--state", "queued")
    assert code == 0 and all(i in out for i in ids) and "split" in out and "nosuch" in out

    code, out, _ = run(monkeypatch, capsys, "jobs", "work", "--until-idle", "--max-running", "1")
    assert code == 0 and "up to 1 at a time" in out
    assert all(f"started {i}" in out for i in ids)
    first, second = list_jobs(workspace)
    assert first.state == second.state == "failed"
    assert first.ended <= second.started  # one at a time

    code, out, _ = run(monkeypatch, capsys, "jobs", "list")
    assert code == 0 and out.count("failed") == 2
    code, out, _ = run(monkeypatch, capsys, "jobs", "show", ids[0])
    assert code == 0 and "critic data split nosuch" in out and "exit code 2" in out
    assert "no dataset 'nosuch'" in out and f"jobs/{ids[0]}.log" in out
    code, out, _ = run(monkeypatch, capsys, "jobs", "logs", ids[0], "--tail", "1")
    assert code == 0 and re.fullmatch(
        r"\[critic job [-0-9T:]+\] exit code 2 after [.0-9]+ s\n", out
    )
    code, out, _ = run(monkeypatch, capsys, "jobs", "logs", ids[1], "--follow")  # ended: returns
    assert code == 0 and "no dataset 'missing'" in out and "exit code 2" in out


def test_cancel_a_queued_job_and_refusals(workspace, monkeypatch, capsys):
    code, out, _ = run(
        monkeypatch, capsys, "jobs", "submit", "train", "--dataset", "d", "--name", "x"
    )
    assert code == 0  # without `--` too
    job_id = out.strip()
    code, out, _ = run(monkeypatch, capsys, "jobs", "cancel", job_id)
    assert code == 0 and f"{job_id}: cancelled" in out
    code, out, _ = run(monkeypatch, capsys, "jobs", "cancel", job_id)
    assert code == 0 and "has already ended: cancelled" in out
    code, _, err = run(monkeypatch, capsys, "jobs", "submit", "--", "predict", "x", "--file", "f")
    assert code == 2 and "a job runs one of" in err and "Traceback" not in err
    code, _, err = run(monkeypatch, capsys, "jobs", "submit", "--", "evaluate", "../x")
    assert code == 2 and "invalid experiment name" in err
    code, _, err = run(monkeypatch, capsys, "jobs", "show", "job-nope")
    assert code == 2 and "no job 'job-nope'" in err
    assert [j.state for j in list_jobs(workspace)] == ["cancelled"]
