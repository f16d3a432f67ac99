"""Every workbench route refuses an anonymous request, found by enumerating the app's routes (so a
page added later cannot forget); the workbench and the prediction API keep separate keys; an API
replica (--api-only) has no workbench and imports none of it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from critic.deploy import create_deployment
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.serve import ServeSettings, create_app
from critic.serve.workbench import PUBLIC_PATHS
from critic.serve.workbench.security import SAFE_METHODS
from tests.workbench.conftest import csrf_of, log_in


def _routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI ≥ 0.16x keeps them as
    included routers, resolved by `iter_route_contexts`; older ones list them flat)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI
        routes = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    return {(method, route.path) for route in routes for method in (route.methods or ())}


def workbench_routes(workspace) -> list[tuple[str, str]]:
    """(method, path) of every route the workbench adds to the API, less the open ones."""
    settings = ServeSettings(refresh_seconds=0)
    added = _routes(create_app(workspace, settings, workbench=True)) - _routes(
        create_app(workspace, settings)
    )
    return sorted((m, p) for m, p in added if p not in PUBLIC_PATHS)


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_the_workbench_has_pages_and_the_api_only_app_has_none(workspace):
    guarded = workbench_routes(workspace)
    assert ("GET", "/") in guarded and ("POST", "/logout") in guarded
    api_only = TestClient(create_app(workspace, ServeSettings(refresh_seconds=0)))
    assert api_only.get("/login").status_code == 404 and api_only.get("/").status_code == 404
    assert api_only.get("/healthz").status_code == 200


def test_every_workbench_route_refuses_an_anonymous_request(client, workspace):
    guarded = workbench_routes(workspace)
    assert len(guarded) >= 2
    for method, path in guarded:
        url = _fill(path)
        script = client.request(method, url, follow_redirects=False)
        assert script.status_code == 401, (method, path)
        assert script.json()["error"] == "login_required", (method, path)
        browser = client.request(
            method, url, headers={"accept": "text/html"}, follow_redirects=False
        )
        if method in SAFE_METHODS:  # a page: to the login, and back after it
            assert browser.status_code == 303, (method, path)
            assert browser.headers["location"].startswith("/login?next="), (method, path)
        else:
            assert browser.status_code == 401 and "Log in" in browser.text, (method, path)


def test_every_state_changing_route_needs_the_csrf_token(logged_in, workspace):
    unsafe = [(m, p) for m, p in workbench_routes(workspace) if m not in SAFE_METHODS]
    assert unsafe
    for method, path in unsafe:
        for headers in ({}, {"origin": "http://evil.example", "x-csrf-token": csrf_of(logged_in)}):
            response = logged_in.request(
                method, _fill(path), headers=headers, follow_redirects=False
            )
            assert response.status_code == 403, (method, path, headers)


@pytest.fixture
def deployed(workspace, tiny_dataset):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    return create_deployment("lin", name="lin").token


def test_the_workbench_and_the_prediction_api_keep_separate_keys(
    client, alice, deployed, workspace
):
    import base64

    basic = "Basic " + base64.b64encode(f"{deployed}:".encode()).decode()
    for header in (f"Bearer {deployed}", basic):  # a deployment token does not open the workbench
        for method, path in workbench_routes(workspace):
            response = client.request(
                method, _fill(path), headers={"authorization": header}, follow_redirects=False
            )
            assert response.status_code == 401, (method, path, header[:6])
    log_in(client)
    predict = "/v1/deployments/lin/predict"
    cookie_only = client.post(predict, json={"text": "a great film"})  # the session: no
    assert cookie_only.status_code == 401 and cookie_only.json()["error"] == "token_required"
    with_token = client.post(
        predict, json={"text": "a great film"}, headers={"authorization": f"Bearer {deployed}"}
    )
    assert with_token.status_code == 200 and with_token.json()["label"] in ("negative", "positive")


def test_the_home_page_lists_what_the_workspace_holds(client, alice, deployed):
    log_in(client)
    home = client.get("/")
    assert home.status_code == 200
    for count in ("versions", "experiments", "deployments"):
        assert f'<strong id="count-{count}">1</strong>' in home.text
    assert "tiny@1" in home.text and "<td>lin</td>" in home.text and "enabled" in home.text


def test_the_home_page_escapes_what_it_shows(client, alice, workspace):
    from critic.catalog import DeploymentRecord, open_catalog

    open_catalog(workspace).add_deployment(
        DeploymentRecord("d", "<script>x</script>", "best", "text", True, "h", "t", "t")
    )
    log_in(client)
    page = client.get("/").text
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_the_api_answers_json_even_to_a_browser(client):
    response = client.post("/v1/deployments/none/predict", headers={"accept": "text/html"})
    assert response.status_code == 404 and response.json()["error"] == "deployment_not_found"
    assert client.get("/healthz", headers={"accept": "text/html"}).json()["status"] == "ok"


def test_the_workbench_routes_are_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/login", "/logout"} & set(paths)


REPLICA = """
import json, os, sys
from fastapi.testclient import TestClient
from critic.serve import create_app_from_env
def workbench_modules():
    return sorted(m for m in sys.modules if m.startswith(("jinja2", "critic.serve.workbench", "critic.users")))
answers = {}
for flag in ("0", "1"):  # the replica first, before anything of the workbench is imported
    os.environ["CRITIC_WORKBENCH"] = flag
    client = TestClient(create_app_from_env())
    answers[flag] = {"login": client.get("/login").status_code, "loaded": workbench_modules()}
print(json.dumps(answers))
"""


def test_an_api_replica_serves_and_imports_no_workbench(workspace):
    out = subprocess.run(
        [sys.executable, "-c", REPLICA], capture_output=True, text=True, timeout=120, check=True
    )
    answers = json.loads(out.stdout.strip().splitlines()[-1])
    assert answers["0"] == {"login": 404, "loaded": []}
    assert answers["1"]["login"] == 200 and "jinja2" in answers["1"]["loaded"]


def test_critic_serve_starts_the_workbench_and_prints_the_first_password(
    workspace, monkeypatch, capsys
):
    from critic.users import authenticate
    from tests.test_cli import run

    started = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append(k))
    monkeypatch.delenv("CRITIC_WORKBENCH", raising=False)
    code, out, _ = run(monkeypatch, capsys, "serve", "--port", "8123")
    assert code == 0 and started and started[0]["host"] == "127.0.0.1"
    assert os.environ["CRITIC_WORKBENCH"] == "1"
    assert "workbench: http://127.0.0.1:8123/" in out
    password = re.search(r"user admin with the password (\S+)", out).group(1)
    assert authenticate("admin", password) is not None
    code, again, _ = run(monkeypatch, capsys, "serve", "--port", "8123")
    assert code == 0 and password not in again and "first start" not in again  # shown once
    code, out, _ = run(monkeypatch, capsys, "serve", "--api-only")
    assert code == 0 and os.environ["CRITIC_WORKBENCH"] == "0" and "workbench" not in out


def test_a_bug_in_a_page_is_a_page_for_a_browser_and_json_for_a_script(app, alice, monkeypatch):
    def broken(workspace=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr("critic.deploy.list_deployments", broken)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        log_in(client)
        page = client.get("/", headers={"accept": "text/html"})
        assert page.status_code == 500 and "the server log has the details" in page.text
        assert "RuntimeError" not in page.text and "Traceback" not in page.text
        script = client.get("/")
        assert script.status_code == 500 and script.json()["error"] == "internal_error"


@pytest.mark.parametrize(
    "path,status",
    [
        ("workbench.css", 200),
        ("vendor/uplot-1.6.32/uPlot.iife.min.js", 200),
        ("tester.html", 404),  # a page has its own route; static/ serves styles, scripts, images
        ("vendor/vendor.json", 404),
        ("../users.py", 404),
        ("%2e%2e/users.py", 404),
        (".hidden.css", 404),
        ("missing.css", 404),
    ],
)
def test_static_files_are_open_and_only_ours(client, path, status):
    response = client.get(f"/static/{path}")
    assert response.status_code == status, path
    if status == 200:
        assert response.headers["x-content-type-options"] == "nosniff"


def test_every_answer_says_its_server_time(logged_in):
    for path in ("/", "/login", "/no-such-page"):
        timing = logged_in.get(path).headers["server-timing"]
        assert re.fullmatch(r"app;dur=\d+\.\d", timing), (path, timing)


def test_the_workbench_warms_its_slow_pages_at_start(app, alice):
    from critic.serve.workbench import models

    models._card.cache_clear()
    with TestClient(app, base_url="http://testserver"):  # the lifespan starts the warming thread
        deadline = time.monotonic() + 60
        while models._card.cache_info().currsize < len(models._preset_names()):
            assert time.monotonic() < deadline, "the preset cards were not made in 60 s"
            time.sleep(0.05)
