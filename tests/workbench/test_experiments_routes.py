"""The experiments pages through TestClient: the list (with queued jobs), the New form's defaults,
checks and refusals, the job it queues, the live page's JSON, cancel, resume and compare. Jobs are
queued here but never run (no pool): runs are made with the library where a test needs one."""

from __future__ import annotations

import json
import time

import pytest

from critic.catalog import open_catalog
from critic.experiments.canvas import save_graph
from critic.experiments.events import EVENTS_FILE
from critic.jobs import get_job, list_jobs
from critic.serve.workbench.experiments import status_of
from tests.workbench.conftest import csrf_of

TINY_GRAPH = {
    "encoder": {"kind": "words", "max_words": 200, "sequence_length": 16},
    "model": {
        "blocks": [
            {"type": "Embedding", "dim": 4},
            {"type": "GlobalMaxPool1D"},
            {"type": "Output"},
        ]
    },
    "train": {"epochs": 1, "batch_size": 16},
}


@pytest.fixture(autouse=True)
def no_pool(monkeypatch):
    """No job pool in these apps: a queued job stays queued (nothing races the assertions, no
    training process outlives a test)."""
    monkeypatch.setenv("CRITIC_JOBS_POOL", "0")


@pytest.fixture
def form(logged_in, tiny_dataset):
    """A valid New form for the tiny graph on tiny@1 (every field as a browser sends it)."""
    save_graph("tiny", TINY_GRAPH)
    return {
        "csrf": csrf_of(logged_in),
        "dataset": tiny_dataset,
        "model": "graph:tiny",
        "name": "",
        "epochs": "1",
        "batch_size": "16",
        "optimizer": "adam",
        "learning_rate": "0.01",
        "weight_decay": "0",
        "early_stopping": "0",
        "checkpoint_metric": "val_loss",
        "class_weight": "none",
        "seed": "0",
        "device": "cpu",
    }


def _train(workspace, name: str = "done-1", epochs: int = 1, lr: float = 0.01):
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    save_graph("tiny", TINY_GRAPH, workspace)
    config = build_config(
        "tiny",
        config_file=workspace.graphs / "tiny.toml",
        train={"epochs": epochs, "learning_rate": lr},
    )
    return train_experiment(config, name=name, workspace=workspace)


def test_an_empty_list_says_how_to_start(logged_in):
    page = logged_in.get("/experiments")
    assert page.status_code == 200
    assert "No experiment yet" in page.text and 'href="/experiments/new"' in page.text


def test_the_new_form_lists_versions_presets_graphs_and_fills_the_defaults(form, logged_in):
    page = logged_in.get("/experiments/new?model=graph:tiny")
    assert page.status_code == 200
    assert 'value="tiny@1"' in page.text
    assert 'value="preset:kim-cnn"' in page.text and 'value="graph:tiny"' in page.text
    assert 'name="batch_size" value="16"' in page.text  # the graph's own [train] table


def test_defaults_of_a_preset_and_of_the_linear_model(logged_in):
    kim = logged_in.get("/experiments/defaults", params={"model": "preset:kim-cnn"}).json()
    assert kim["train"]["batch_size"] == "1024" and kim["train"]["epochs"] == "5"
    assert not kim["linear"] and "learning_rate" in kim["applies"]
    linear = logged_in.get("/experiments/defaults", params={"model": "preset:linear"}).json()
    assert linear["linear"] and linear["applies"] == ["checkpoint_metric"]
    bad = logged_in.get("/experiments/defaults", params={"model": "preset:nope"})
    assert bad.status_code == 422 and "choose a model" in bad.json()["message"]


def test_run_queues_a_named_train_job_and_redirects_to_its_page(form, logged_in, workspace):
    answer = logged_in.post("/experiments/new", data=form, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"] == "tiny-1" and body["redirect"] == "/experiments/tiny-1"
    job = get_job(body["job"], workspace)
    assert job.state == "queued" and job.target == "tiny-1" and job.user == "alice"
    assert job.argv[:3] == ("train", "--dataset", "tiny@1")
    assert "--learning-rate=0.01" in job.argv and str(workspace.graphs / "tiny.toml") in job.argv
    # the page of a queued run, before the run has made the experiment
    page = logged_in.get("/experiments/tiny-1")
    assert page.status_code == 200 and "Queued" in page.text
    live = logged_in.get("/experiments/tiny-1/events").json()
    assert live["status"] == "queued" and live["events"] == [] and not live["ended"]
    assert live["job"]["id"] == job.id
    # the list shows it; a second run gets the next free name
    assert "tiny-1" in logged_in.get("/experiments").text
    second = logged_in.post("/experiments/new", data=form).json()
    assert second["name"] == "tiny-2"
    # the job page of a named job is its experiment's page
    moved = logged_in.get(f"/experiments/jobs/{job.id}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/experiments/tiny-1"


@pytest.mark.parametrize(
    "field,value,status,words",
    [
        ("name", "../evil", 400, "invalid experiment name"),
        ("name", "new", 422, "is a page of the workbench"),
        ("learning_rate", "fast", 422, "learning rate must be a number"),
        ("learning_rate", "-1", 422, "learning_rate must be > 0"),
        ("epochs", "0", 422, "epochs and batch_size must be at least 1"),
        ("optimizer", "adamx", 422, "optimizer must be one of"),
        ("class_weight", "heavy", 422, "--class-weight takes"),
        ("device", "tpu", 422, "device must be auto, cpu or cuda"),
        ("dataset", "nope@3", 404, "no dataset"),
        ("model", "graph:missing", 404, "no saved graph"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_queued(
    form, logged_in, workspace, field, value, status, words
):
    answer = logged_in.post(
        "/experiments/new", data={**form, field: value}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == status, answer.text
    assert words in answer.json()["message"]
    assert list_jobs(workspace) == []


def test_a_taken_name_is_refused(form, logged_in, workspace):
    assert logged_in.post("/experiments/new", data={**form, "name": "mine"}).status_code == 200
    again = logged_in.post("/experiments/new", data={**form, "name": "mine"})
    assert again.status_code == 422 and "exists or is queued" in again.json()["message"]


def test_the_linear_model_takes_only_its_own_settings(form, logged_in, workspace):
    linear = {"csrf": form["csrf"], "dataset": "tiny@1", "model": "preset:linear"}
    ok = logged_in.post("/experiments/new", data={**linear, "checkpoint_metric": "val_accuracy"})
    assert ok.status_code == 200, ok.text
    refused = logged_in.post("/experiments/new", data={**linear, "epochs": "3"})
    assert refused.status_code == 422 and "linear model" in refused.json()["message"]


def test_run_needs_the_csrf_token(form, logged_in, workspace):
    answer = logged_in.post("/experiments/new", data={**form, "csrf": "forged"})
    assert answer.status_code == 403
    assert list_jobs(workspace) == []


def test_cancel_a_queued_run(form, logged_in, workspace):
    name = logged_in.post("/experiments/new", data=form).json()["name"]
    headers = {"X-CSRF-Token": form["csrf"]}
    answer = logged_in.post(f"/experiments/{name}/cancel", headers=headers)
    assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
    assert logged_in.get(f"/experiments/{name}/events").json()["status"] == "cancelled"
    row = logged_in.get("/experiments?status=cancelled").text
    assert name in row and "status-cancelled" in row
    again = logged_in.post(f"/experiments/{name}/cancel", headers=headers)
    assert again.status_code == 409


def test_a_finished_run_its_events_settings_and_compare(logged_in, workspace, tiny_dataset):
    _train(workspace, "first", lr=0.01)
    _train(workspace, "second", epochs=2, lr=0.05)
    page = logged_in.get("/experiments/first")
    assert page.status_code == 200 and "train.learning_rate" in page.text
    assert 'href="/evaluations?experiment=first"' in page.text
    assert 'href="/deployments/new?experiment=first"' in page.text
    live = logged_in.get("/experiments/second/events").json()
    kinds = [e["event"] for e in live["events"]]
    assert kinds.count("epoch_end") == 2 and "batch" in kinds and kinds[-1] == "end"
    assert live["status"] == "done" and live["ended"] and live["job"] is None
    size = (workspace.experiments / "second" / EVENTS_FILE).stat().st_size
    assert live["offset"] == size
    assert logged_in.get(f"/experiments/second/events?offset={size}").json()["events"] == []
    listed = logged_in.get("/experiments").text
    assert 'value="first"' in listed and "2 / 2" in listed
    compared = logged_in.get("/experiments/compare?names=first&names=second")
    assert compared.status_code == 200
    assert "train.learning_rate" in compared.text and "train.epochs" in compared.text
    assert "train.seed" not in compared.text  # the same in both: only with ?all=1
    assert "train.seed" in logged_in.get("/experiments/compare?names=first&names=second&all=1").text
    data = compared.text.split('id="compare-data">')[1].split("</script>")[0]
    curves = json.loads(data)
    assert [c["name"] for c in curves] == ["first", "second"]
    assert [e["epoch"] for e in curves[1]["epochs"]] == [1, 2]
    one = logged_in.get("/experiments/compare?names=first", headers={"Accept": "application/json"})
    assert one.status_code == 422
    # a done run is not resumed without more epochs; with more, it is queued
    headers = {"X-CSRF-Token": csrf_of(logged_in)}
    assert logged_in.post("/experiments/first/resume", headers=headers).status_code == 422
    more = logged_in.post("/experiments/first/resume", data={"epochs": "3"}, headers=headers)
    assert more.status_code == 200, more.text
    assert get_job(more.json()["job"], workspace).argv == (
        "train",
        "--resume",
        "first",
        "--epochs=3",
    )


def test_resume_a_stopped_run(logged_in, workspace, tiny_dataset):
    _train(workspace, "halted")
    open_catalog(workspace).set_experiment_status("halted", "stopped", "2026-01-01")
    page = logged_in.get("/experiments/halted").text
    assert 'id="resume-form"' in page
    headers = {"X-CSRF-Token": csrf_of(logged_in)}
    answer = logged_in.post("/experiments/halted/resume", headers=headers)
    assert answer.status_code == 200 and answer.json()["redirect"] == "/experiments/halted"
    assert logged_in.get("/experiments/halted/events").json()["status"] == "queued"
    twice = logged_in.post("/experiments/halted/resume", headers=headers)
    assert twice.status_code == 422 and "running or queued" in twice.json()["message"]


def test_unknown_experiments_and_jobs_are_404(logged_in):
    assert logged_in.get("/experiments/nobody").status_code == 404
    assert logged_in.get("/experiments/nobody/events").status_code == 404
    assert logged_in.get("/experiments/jobs/job-20260101-000000-abcd").status_code == 404
    assert logged_in.get("/experiments/..%2Fx/events").status_code in (400, 404)


def test_the_list_answers_fast_with_100_experiments(logged_in, workspace):
    """100 experiments in the catalog (records only): the list reads the catalog, no files."""
    from critic.catalog import ExperimentRecord

    catalog = open_catalog(workspace)
    config = {"train": {"epochs": 5}, "model": {"blocks": []}}
    for i in range(100):
        catalog.add_experiment(
            ExperimentRecord(
                f"e{i}",
                "tiny@1",
                "kim-cnn.v1",
                "done",
                "2026-01-01T00:00:00+00:00",
                "2026-01-01T00:00:00+00:00",
                0,
                None,
                0.0,
                None,
                f"experiments/e{i}",
                config,
            )
        )
        metrics = {"epoch": 1, "val_loss": 0.5, "val_accuracy": 0.8}
        catalog.record_epoch(f"e{i}", 1, metrics, 1, 1.0, "2026-01-01T00:00:01+00:00")
    logged_in.get("/experiments")  # warm
    times = []
    for _ in range(5):
        start = time.perf_counter()
        page = logged_in.get("/experiments")
        times.append(time.perf_counter() - start)
    assert page.status_code == 200 and page.text.count('name="names"') == 100
    assert sorted(times)[2] < 0.3, times


def test_status_joins_the_record_and_the_job():
    class E:
        def __init__(self, status):
            self.status = status

    class J:
        def __init__(self, state):
            self.state = state

    assert status_of(None, J("queued")) == "queued"
    assert status_of(None, J("running")) == "running"
    assert status_of(None, J("failed")) == "failed"
    assert status_of(E("running"), J("running")) == "running"
    assert status_of(E("stopped"), J("cancelled")) == "cancelled"
    assert status_of(E("stopped"), None) == "stopped"
    assert status_of(E("killed"), None) == "failed"
    assert status_of(E("done"), J("cancelled")) == "done"
    assert status_of(E("failed"), J("queued")) == "queued"


def test_an_unnamed_train_job_has_a_page_of_its_own(logged_in, workspace, tiny_dataset):
    from critic.jobs import submit

    job = submit("train", ["train", "--dataset", "tiny", "--preset", "linear"], workspace=workspace)
    assert job.target is None
    page = logged_in.get(f"/experiments/jobs/{job.id}")
    assert page.status_code == 200 and job.id in page.text and "Queued" in page.text
    live = logged_in.get(f"/experiments/jobs/{job.id}/events").json()
    assert live["status"] == "queued" and live["name"] is None
    assert f"/experiments/jobs/{job.id}" in logged_in.get("/experiments").text
    other = submit("stats", ["data", "stats", "tiny"], workspace=workspace)
    assert logged_in.get(f"/experiments/jobs/{other.id}").status_code == 404


def test_a_plain_form_post_is_answered_with_the_page(form, logged_in):
    """Without scripts a browser posts the form itself: it is sent on to the run's page."""
    answer = logged_in.post(
        "/experiments/new", data=form, headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/experiments/tiny-1"


def test_run_again_opens_the_form_with_the_same_model_and_data(form, logged_in):
    name = logged_in.post("/experiments/new", data=form).json()["name"]
    headers = {"X-CSRF-Token": form["csrf"]}
    logged_in.post(f"/experiments/{name}/cancel", headers=headers)
    page = logged_in.get(f"/experiments/{name}").text
    assert 'href="/experiments/new?model=graph%3Atiny&amp;dataset=tiny%401"' in page
    again = logged_in.get("/experiments/new?model=graph%3Atiny&dataset=tiny%401").text
    assert '<option value="graph:tiny" selected>' in again


def test_a_run_without_an_events_file_is_drawn_from_its_epochs(logged_in, workspace, tiny_dataset):
    """A run trained before events.jsonl existed: its finished epochs come from the catalog."""
    _train(workspace, "old", epochs=2)
    (workspace.experiments / "old" / EVENTS_FILE).unlink()
    live = logged_in.get("/experiments/old/events").json()
    assert live["events"] == [] and [e["epoch"] for e in live["history"]] == [1, 2]
    assert sum(e["best"] for e in live["history"]) == 1
    assert "history" not in logged_in.get("/experiments/old/events?offset=5").json()
