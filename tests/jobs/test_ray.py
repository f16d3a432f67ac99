"""Jobs on a Ray cluster (critic.jobs.on_ray): a local Ray head started once for the session
(tests/ray_cluster.py) runs two tiny training jobs submitted through `critic jobs`; one is
cancelled (Ray's stop_job: the run ends "stopped"), the other's checkpoint and metrics land in the
catalog and a replica serves them. A runner Ray cannot start fails its job with Ray's message.
The catalog comes from the `workspace` fixture (SQLite, or PostgreSQL where parametrized): the
Ray job gets its URL through its runtime env."""

from __future__ import annotations

import base64
import os
import signal

import pytest

from critic.errors import SettingsError
from critic.experiments.store import get_experiment, list_experiments
from critic.jobs import get_job, list_jobs, logs, run_pending, submit
from critic.jobs.executor import default_executor
from critic.jobs.on_ray import STOP_WAIT, RayExecutor, resources_for, submission_id
from critic.jobs.pool import DEFAULT_MAX_RUNNING, RAY_MAX_RUNNING, max_running_from_env
from critic.jobs.queue import CANCEL_GRACE
from tests.conftest import run_cli
from tests.jobs.conftest import ended, wait_for

QUICK = ["--preset", "multi-hot-mlp", "--epochs", "2", "--batch-size", "16", "--seed", "1"]
SLOW = ["--preset", "multi-hot-mlp", "--epochs", "1000", "--early-stopping", "0"]
SLOW += ["--batch-size", "8"]
TEXT = "a wonderful film, I loved it"


@pytest.fixture
def on_ray(ray_cluster, monkeypatch):
    """New jobs go to the session's Ray head."""
    monkeypatch.setenv("CRITIC_RAY_ADDRESS", ray_cluster.address)
    monkeypatch.delenv("CRITIC_JOBS_MAX_RUNNING", raising=False)
    monkeypatch.delenv("CRITIC_RAY_PYTHON", raising=False)
    return ray_cluster


def critic(monkeypatch, capsys, *args) -> tuple[int, str]:
    """`critic ARGS` in-process: (exit code, stdout)."""
    code, out, _ = run_cli(monkeypatch, capsys, *args)
    return code, out


def ray_status(address: str, job_id: str) -> str:
    from ray.job_submission import JobSubmissionClient

    return str(JobSubmissionClient(address).get_job_status(submission_id(job_id)).value)


@pytest.mark.both_engines
def test_two_training_jobs_on_ray_one_cancelled_one_served(
    on_ray, workspace, tiny_dataset, monkeypatch, capsys
):
    ids = {}
    for name, options in (("slow", SLOW), ("quick", QUICK)):
        argv = ["jobs", "submit", "--", "train", "--dataset", tiny_dataset, "--name", name]
        code, out = critic(monkeypatch, capsys, *argv, *options)
        assert code == 0 and out.startswith("job-")
        ids[name] = out.strip()
    assert [j.executor for j in list_jobs(workspace)] == ["ray", "ray"]
    started = run_pending(workspace)  # both at once: Ray has 2 CPUs, each job asks for 1
    assert [j.id for j in started] == [ids["slow"], ids["quick"]]
    assert [j.handle for j in started] == [
        f"{submission_id(ids[n])}@{on_ray.address}" for n in ("slow", "quick")
    ]
    code, out = critic(monkeypatch, capsys, "jobs", "list")
    assert code == 0 and out.count(" ray ") == 2
    code, out = critic(monkeypatch, capsys, "jobs", "show", ids["slow"])
    assert code == 0 and f"runs on   ray ({submission_id(ids['slow'])}@" in out

    wait_for(lambda: _epochs(workspace, "slow") >= 1, 120, "the slow run's first epoch")
    assert ray_status(on_ray.address, ids["slow"]) == "RUNNING"
    code, out = critic(monkeypatch, capsys, "jobs", "cancel", ids["slow"])
    assert code == 0 and f"{ids['slow']}: cancelled" in out
    cancelled = get_job(ids["slow"], workspace)
    assert (cancelled.state, cancelled.exit_code) == ("cancelled", 130)  # Ctrl-C's, as locally
    assert ray_status(on_ray.address, ids["slow"]) == "STOPPED"
    slow = get_experiment("slow", workspace)
    assert slow.status == "stopped" and "--resume slow" in slow.record.error
    assert "cancelled: exit code 130" in logs(ids["slow"], tail=1, workspace=workspace)

    done = ended(workspace, ids["quick"], 180)
    assert (done.state, done.exit_code, done.error) == ("done", 0, None), done.error
    wait_for(  # the runner records the end, then exits; Ray says so a moment later
        lambda: ray_status(on_ray.address, ids["quick"]) == "SUCCEEDED", 30, "Ray's SUCCEEDED"
    )
    quick = get_experiment("quick", workspace)
    assert quick.status == "done" and quick.record.epochs_done == 2
    assert [e["epoch"] for e in quick.record.epochs] == [1, 2]  # metrics, from the catalog
    assert all(e["val_loss"] > 0 and 0 <= e["val_accuracy"] <= 1 for e in quick.record.epochs)
    text = logs(done.id, workspace=workspace)  # the runner's log, in the shared workspace
    assert f"critic train --dataset {tiny_dataset} --name quick" in text.splitlines()[0]
    assert "exit code 0" in text.splitlines()[-1]

    served = _served(workspace, "quick")
    predicted = _predicted(quick.checkpoint("best"))
    assert served == {**predicted, "deployment": "quick-best", "experiment": "quick"}


def _epochs(workspace, name: str) -> int:
    return next((e.record.epochs_done for e in list_experiments(workspace) if e.name == name), 0)


def _served(workspace, experiment: str) -> dict:
    """A deployment of the experiment's best checkpoint, asked once through a prediction replica
    (the API-only app on the same catalog and workspace)."""
    from fastapi.testclient import TestClient

    from critic.deploy import create_deployment
    from critic.serve import ServeSettings, create_app

    created = create_deployment(experiment, workspace=workspace)
    token = base64.b64encode(f"{created.token}:".encode()).decode()
    with TestClient(create_app(workspace, ServeSettings())) as replica:
        answer = replica.post(
            f"/v1/deployments/{created.deployment.name}/predict",
            json={"text": TEXT},
            headers={"Authorization": f"Basic {token}"},
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _predicted(checkpoint) -> dict:
    from critic.predictor import Predictor

    predictor = Predictor.from_checkpoint(checkpoint)
    (p,) = predictor.predict_proba([TEXT])
    return {
        "label": predictor.classes[int(p.argmax())],
        "probabilities": {c: float(v) for c, v in zip(predictor.classes, p)},
        "checkpoint": "best",
    }


@pytest.mark.both_engines
def test_a_runner_ray_cannot_start_fails_its_job_with_rays_log(
    on_ray, workspace, monkeypatch, tmp_path
):
    missing = tmp_path / "no-python"  # the nodes' interpreter, wrongly named
    monkeypatch.setenv("CRITIC_RAY_PYTHON", str(missing))
    job = submit("stats", ["data", "stats", "tiny"], workspace=workspace)
    (started,) = run_pending(workspace)
    assert started.state == "running" and started.handle.startswith(submission_id(job.id))
    failed = wait_for(
        lambda: (j := get_job(job.id, workspace)).finished and j, 60, "Ray to fail the job"
    )  # every lookup asks Ray about the running jobs
    assert (failed.state, failed.exit_code) == ("failed", None)
    assert ray_status(on_ray.address, job.id) == "FAILED"
    assert f"its Ray job {submission_id(job.id)} ended FAILED without the runner" in failed.error
    assert "exit code 127" in failed.error and f"{missing}: not found" in failed.error
    log = workspace.root / failed.log
    assert failed.error.splitlines()[-1] in log.read_text()  # said in the job's log too

    log.unlink()  # a pool whose host does not see the node's files: Ray's log is shown
    assert f"{missing}: not found" in logs(job.id, workspace=workspace)
    assert logs(job.id, tail=1, workspace=workspace).count("\n") == 0


def test_a_job_asks_ray_for_what_its_command_names():
    assert resources_for(["train", "--dataset", "d"]) == (1.0, 0.0)
    assert resources_for(["train", "--device", "cuda", "--threads", "4"]) == (4.0, 1.0)
    assert resources_for(["train", "--device=cuda:1", "--threads=0"]) == (1.0, 1.0)
    assert resources_for(["cv", "--device", "cpu"]) == (1.0, 0.0)
    assert STOP_WAIT == CANCEL_GRACE  # Ray's grace before SIGKILL is the local pool's


def test_the_ray_address_chooses_the_executor_and_the_limit(workspace, monkeypatch):
    pytest.importorskip("ray.job_submission", reason="ray is not installed")
    monkeypatch.delenv("CRITIC_JOBS_MAX_RUNNING", raising=False)
    monkeypatch.delenv("CRITIC_RAY_ADDRESS", raising=False)
    assert (default_executor(), max_running_from_env()) == ("local", DEFAULT_MAX_RUNNING)
    monkeypatch.setenv("CRITIC_RAY_ADDRESS", "http://127.0.0.1:1")  # nothing listens there
    assert (default_executor(), max_running_from_env()) == ("ray", RAY_MAX_RUNNING)
    job = submit("stats", ["data", "stats", "d"], workspace=workspace)
    assert job.executor == "ray"
    (started,) = run_pending(workspace)  # a cluster that does not answer: the job fails, in words
    assert started.state == "failed" and started.error.startswith("could not start: ")
    assert "http://127.0.0.1:1" in started.error
    monkeypatch.setenv("CRITIC_JOBS_MAX_RUNNING", "3")
    assert max_running_from_env() == 3


def test_without_ray_a_job_for_ray_is_refused_in_words(workspace, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "ray" else find_spec(n, *a)
    )
    monkeypatch.setenv("CRITIC_RAY_ADDRESS", "http://127.0.0.1:1")
    with pytest.raises(SettingsError, match=r"pip install 'critic\[cluster\]'"):
        submit("stats", ["data", "stats", "d"], workspace=workspace)
    with pytest.raises(SettingsError, match=r"pip install 'critic\[cluster\]'"):
        RayExecutor(workspace)
    monkeypatch.delenv("CRITIC_RAY_ADDRESS")
    assert submit("stats", ["data", "stats", "d"], workspace=workspace).executor == "local"


def test_the_runner_takes_sigint_as_it_takes_sigterm(workspace, tiny_dataset, monkeypatch):
    """A Ray cluster may stop jobs with SIGINT (RAY_JOB_STOP_SIGNAL=SIGINT): the runner and its
    command take it as a cancel, here on the local executor."""
    monkeypatch.delenv("CRITIC_RAY_ADDRESS", raising=False)
    argv = ["train", "--dataset", tiny_dataset, "--name", "interrupted", *SLOW]
    job = submit("train", argv, workspace=workspace)
    (started,) = run_pending(workspace)
    assert started.executor == "local"
    wait_for(lambda: _epochs(workspace, "interrupted") >= 1, 120, "a first epoch")
    os.killpg(int(started.handle.rpartition(":")[2]), signal.SIGINT)
    stopped = ended(workspace, job.id)
    assert (stopped.state, stopped.exit_code) == ("cancelled", 130)
    assert get_experiment("interrupted", workspace).status == "stopped"


def test_the_ray_head_listens_on_127_0_0_1_only(ray_cluster):
    from tests.ray_cluster import listening_addresses

    found = listening_addresses(ray_cluster.session)
    assert found and found <= {"127.0.0.1", "::1"}, found
