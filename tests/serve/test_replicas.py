"""Prediction replicas: two `critic serve` processes on one PostgreSQL catalog and one workspace
folder. A deployment created on one answers on the other; a token rotated on one is refused by
both within the refresh interval (CRITIC_REFRESH_SECONDS, 1 s by default); a deployment disabled
or deleted on one stops answering on both."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from critic.data import import_dataset
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.users import add_user
from tests.conftest import sentiment_rows, write_csv
from tests.services import free_port

# the replicas share a PostgreSQL catalog (a fresh database per test)
pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

PASSWORD = "correct horse battery staple"
TEXT = {"text": "a wonderful film, I loved every minute"}
REFRESH = 1.0  # seconds: the default CRITIC_REFRESH_SECONDS, the bound a change takes to spread
SLACK = 0.75  # on top: the request that sees the change, on a busy 2-core CI machine


@contextmanager
def replica(*args: str):
    """`critic serve` in a child process on a free 127.0.0.1 port; its base URL once it is live."""
    port = free_port()
    env = {**os.environ, "CRITIC_REFRESH_SECONDS": str(REFRESH)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "critic.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/livez", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the replica did not start: {proc.stderr.read()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _logged_in(url: str) -> tuple[httpx.Client, str]:
    """A workbench session on one replica, and its CSRF token."""
    client = httpx.Client(base_url=url, timeout=30, headers={"Accept": "application/json"})
    login = client.get("/login", headers={"Accept": "text/html"}).text
    csrf = re.search(r'name="csrf" value="([^"]*)"', login).group(1)
    form = {"csrf": csrf, "name": "alice", "password": PASSWORD}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    home = client.get("/", headers={"Accept": "text/html"}).text
    return client, re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)


def _predict(url: str, token: str) -> int:
    return httpx.post(
        f"{url}/v1/deployments/d/predict", json=TEXT, auth=(token, ""), timeout=30
    ).status_code


def _until(check, seconds: float) -> float:
    """Seconds until check() holds, polling every 50 ms; fails after `seconds`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "the change did not reach every replica"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def replicas(workspace, tmp_path):
    rows = write_csv(tmp_path / "t.csv", sentiment_rows(60))
    ref = import_dataset("t", rows, progress=False).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    add_user("alice", PASSWORD, admin=True, workspace=workspace)
    with ExitStack() as stack:
        a = stack.enter_context(replica())  # the workbench and the API
        b = stack.enter_context(replica("--api-only"))  # the API only, as behind a balancer
        yield a, b


def test_a_deployment_made_on_one_replica_answers_on_the_other(replicas, record_property):
    a, b = replicas
    client, csrf = _logged_in(a)
    created = client.post("/deployments", data={"csrf": csrf, "experiment": "lin", "name": "d"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    seen = _until(lambda: _predict(b, token) == 200, REFRESH + SLACK)
    record_property("create_spread_seconds", round(seen, 3))
    answer = httpx.post(f"{b}/v1/deployments/d/predict", json=TEXT, auth=(token, ""), timeout=30)
    assert answer.json()["label"] in ("positive", "negative")
    assert 'deployment="d"' in httpx.get(f"{b}/metrics", timeout=10).text

    rotated = client.post("/deployments/d/rotate", data={"csrf": csrf})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["token"]
    gone = _until(
        lambda: _predict(a, token) in (401, 403) and _predict(b, token) in (401, 403),
        REFRESH + SLACK,
    )
    record_property("rotate_spread_seconds", round(gone, 3))
    assert _predict(b, new) == 200 and _predict(a, new) == 200

    assert client.post("/deployments/d/enabled", data={"csrf": csrf, "enabled": "0"}).is_success
    _until(lambda: _predict(b, new) == 404, REFRESH + SLACK)
    assert httpx.get(f"{b}/healthz", timeout=10).json()["deployments"] == 0
    assert client.post("/deployments/d/delete", data={"csrf": csrf, "confirm": "d"}).is_success
    _until(lambda: _predict(b, new) == 404 and _predict(a, new) == 404, REFRESH + SLACK)
