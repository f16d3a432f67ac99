"""The workbench's Sweeps page through the ASGI client: the list, the New form (each preset's example
space, refusals in words naming the setting), a sweep created with its trials queued as jobs, its
page as the trials end (best, importances, pictures, links to the experiments), its state as
JSON, its pictures, cancel. The trials are run in this process by the function each trial's job
runs, so no pool is needed (CRITIC_JOBS_POOL=0)."""

from __future__ import annotations

import pytest

from critic.experiments.sweep_trial import run_trial
from critic.jobs import list_jobs
from tests.workbench.conftest import csrf_of

SPACE = "[model.C]\nfloat = [0.03, 3.0]\nlog = true\n\n[model.ngram_max]\nint = [1, 2]\n"


@pytest.fixture(autouse=True)
def _no_pool(monkeypatch):
    monkeypatch.setenv("CRITIC_JOBS_POOL", "0")  # the jobs stay queued: this test runs the trials


def _post(client, url: str, **form):
    return client.post(url, data=form, headers={"X-CSRF-Token": csrf_of(client)})


def test_a_sweep_from_the_form_to_its_best_trial(logged_in, workspace, tiny_dataset):
    client = logged_in
    empty = client.get("/sweeps")
    assert empty.status_code == 200 and "No sweep yet" in empty.text
    assert '<a href="/sweeps" aria-current="page">Sweeps</a>' in empty.text  # in the header

    form = client.get("/sweeps/new")
    assert form.status_code == 200
    assert 'option value="kim-cnn" data-space="[train.learning_rate]' in form.text
    assert (
        '<textarea id="space" name="space"' in form.text
        and "[model.C]\nfloat = [0.03, 3.0]" in form.text
    )

    fields = {"dataset": tiny_dataset, "preset": "linear", "trials": "3", "name": "wb1"}
    bad = _post(client, "/sweeps/new", **fields, space="[model.C]\nfloat = [3.0, 0.03]\n")
    assert bad.status_code == 422 and bad.json() == {
        "error": "invalid_settings",
        "message": "the search space: [model.C]: low must be below high, got [3.0, 0.03]",
    }
    bad = _post(client, "/sweeps/new", **fields, space="[train.epochs]\nint = [1, 3]\n")
    assert bad.status_code == 422 and "does not use train.epochs" in bad.json()["message"]
    bad = _post(client, "/sweeps/new", **{**fields, "trials": "many"}, space=SPACE)
    assert (
        bad.status_code == 422 and bad.json()["message"] == "trials is a whole number, got 'many'"
    )
    bad = _post(client, "/sweeps/new", **{**fields, "name": "new"}, space=SPACE)
    assert bad.status_code == 422 and "is a page of the workbench" in bad.json()["message"]

    made = _post(client, "/sweeps/new", **fields, space=SPACE)
    assert made.status_code == 200 and made.json() == {
        "name": "wb1",
        "jobs": 3,
        "redirect": "/sweeps/wb1",
    }
    jobs = [j for j in list_jobs(workspace) if j.kind == "trial"]
    assert [(j.argv, j.target, j.user, j.state) for j in jobs] == [
        (("sweep", "trial", "wb1"), "wb1", "alice", "queued")
    ] * 3
    waiting = client.get("/sweeps/wb1")
    assert waiting.status_code == 200 and "No trial has started yet" in waiting.text
    assert client.get("/sweeps/wb1/state").json() == {
        "name": "wb1",
        "status": "queued",
        "finished": False,
        "trials": {"complete": 0, "pruned": 0, "failed": 0, "running": 0, "queued": 3},
        "best": None,
    }

    rows = [run_trial("wb1", workspace=workspace) for _ in range(3)]  # what each job runs
    best = min(rows, key=lambda r: (r.value, r.number))
    page = client.get("/sweeps/wb1")
    assert page.status_code == 200
    assert (
        f'<a href="/experiments/{best.experiment}"><strong>{best.experiment}</strong></a>'
        in page.text
    )
    assert f'<strong id="best-value">{best.value:.4f}</strong>' in page.text
    assert page.text.count('<tr data-state="complete">') == 3
    assert '<meter min="0" max="1" value="' in page.text  # importances, after 3 complete trials
    for picture in ("history", "epochs", "settings", "importances"):
        assert f'src="/sweeps/wb1/plots/{picture}.png"' in page.text
    assert "[model.C]\nfloat = [0.03, 3.0]\nlog = true" in page.text  # the space, as given
    assert client.get("/sweeps/wb1/state").json()["trials"]["complete"] == 3

    png = client.get("/sweeps/wb1/plots/history.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    missing = client.get("/sweeps/wb1/plots/nope.png")
    assert missing.status_code == 404 and missing.json()["error"] == "no_plot"

    listed = client.get("/sweeps")
    assert '<a href="/sweeps/wb1">wb1</a>' in listed.text and "3 complete" in listed.text

    cancelled = _post(client, "/sweeps/wb1/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = _post(client, "/sweeps/wb1/cancel")
    assert again.status_code == 409 and again.json()["error"] == "not_running"


def test_a_missing_or_unsafe_sweep_is_refused(logged_in):
    missing = logged_in.get("/sweeps/nope")
    assert missing.status_code == 404 and missing.json() == {
        "error": "not_found",
        "message": "no sweep 'nope'; see `critic sweep list`",
    }
    assert logged_in.get("/sweeps/..%2Fx").status_code in (400, 404)
    assert logged_in.get("/sweeps/a%20b/state").json()["error"] == "invalid_name"
    page = logged_in.get("/sweeps/nope", headers={"accept": "text/html"})
    assert page.status_code == 404 and "no sweep" in page.text
