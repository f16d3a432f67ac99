"""The workbench's server runs the job pool: a job queued while it serves is started and ends."""

import time

from fastapi.testclient import TestClient

from critic.jobs import get_job, submit
from critic.serve import ServeSettings, create_app


def test_a_workbench_server_starts_queued_jobs(tiny_dataset, workspace):
    job = submit("train", ["train", "--dataset", "tiny", "--preset", "linear", "--name", "lin"])
    with TestClient(create_app(workspace, ServeSettings(), workbench=True)):
        deadline = time.monotonic() + 90
        while not get_job(job.id).finished and time.monotonic() < deadline:
            time.sleep(0.5)
    ended = get_job(job.id)
    assert ended.state == "done", ended.error


def test_an_api_replica_runs_no_pool(tiny_dataset, workspace):
    job = submit("train", ["train", "--dataset", "tiny", "--preset", "linear", "--name", "lin"])
    with TestClient(create_app(workspace, ServeSettings())):
        time.sleep(2)
    assert get_job(job.id).state == "queued"
