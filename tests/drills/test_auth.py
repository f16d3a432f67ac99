"""Drill: authentication. Every way of sending a token, right and wrong; tokens of other, rotated,
disabled and deleted deployments; and no token in the server's logs or the catalog. (Timing of
wrong-token checks: bench/auth_timing.py.)"""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi.testclient import TestClient

from critic.data import import_dataset
from critic.deploy import create_deployment, delete_deployment, rotate_token, set_enabled
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.serve import ServeSettings, create_app
from tests.conftest import LiveServer, sentiment_rows, write_csv

pytestmark = pytest.mark.drill("auth")

URL = "/v1/deployments/one/predict"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def tokens(workspace, tmp_path):
    ref = import_dataset(
        "t", write_csv(tmp_path / "t.csv", sentiment_rows(40)), progress=False
    ).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    one, two = (
        create_deployment("lin", name="one").token,
        create_deployment("lin", name="two").token,
    )
    old = create_deployment("lin", name="three").token
    new = rotate_token("three").token
    return {"one": one, "two": two, "old": old, "new": new}


def _cases(t: dict) -> list[tuple[str, dict, int, str]]:
    one = t["one"]
    return [
        ("Basic, token as user", {"Authorization": f"Basic {_b64(one + ':')}"}, 200, ""),
        ("Basic, token as password", {"Authorization": f"Basic {_b64(':' + one)}"}, 200, ""),
        ("Bearer", {"Authorization": f"Bearer {one}"}, 200, ""),
        ("bearer in lower case, spaces around", {"Authorization": f"  bearer   {one}  "}, 200, ""),
        ("no Authorization header", {}, 401, "token_required"),
        (
            "Basic with nothing in it",
            {"Authorization": f"Basic {_b64(':')}"},
            401,
            "token_required",
        ),
        ("Bearer with nothing after it", {"Authorization": "Bearer "}, 401, "token_required"),
        (
            "Basic that is not base64",
            {"Authorization": "Basic !!!not-base64"},
            401,
            "token_malformed",
        ),
        (
            "Basic that is not UTF-8",
            {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:").decode()},
            401,
            "token_malformed",
        ),
        ("another scheme", {"Authorization": f"Digest {one}"}, 401, "token_malformed"),
        ("a wrong token", {"Authorization": "Bearer critic_" + "A" * 43}, 401, "token_invalid"),
        (
            "the token less its last character",
            {"Authorization": f"Bearer {one[:-1]}"},
            401,
            "token_invalid",
        ),
        (
            "the token and one more character",
            {"Authorization": f"Bearer {one}x"},
            401,
            "token_invalid",
        ),
        (
            "the token in another case",
            {"Authorization": f"Bearer {one.swapcase()}"},
            401,
            "token_invalid",
        ),
        (
            "another deployment's token",
            {"Authorization": f"Bearer {t['two']}"},
            403,
            "token_for_another_deployment",
        ),
        ("a rotated (old) token", {"Authorization": f"Bearer {t['old']}"}, 401, "token_invalid"),
        ("the token in the query string", {"_query": one}, 401, "token_required"),
    ]


def test_every_way_of_sending_a_token(tokens, workspace, record_property):
    client = TestClient(create_app(workspace, ServeSettings(refresh_seconds=0)))
    cases = _cases(tokens)
    for what, headers, status, code in cases:
        query = {"token": headers.pop("_query")} if "_query" in headers else None
        response = client.post(URL, data={"text": "a great film"}, headers=headers, params=query)
        assert response.status_code == status, (what, response.text)
        if code:
            assert response.json()["error"] == code, what
            assert ("WWW-Authenticate" in response.headers) == (status == 401), (
                what
            )  # a 401 says how to authenticate
    set_enabled("one", False)
    disabled = client.post(
        URL, data={"text": "x"}, headers={"Authorization": f"Bearer {tokens['one']}"}
    )
    assert disabled.status_code == 404 and "disabled" in disabled.json()["message"]
    delete_deployment("two")
    gone = client.post(
        "/v1/deployments/two/predict",
        data={"text": "x"},
        headers={"Authorization": f"Bearer {tokens['two']}"},
    )
    assert gone.status_code == 404
    record_property("cases", len(cases) + 2)
    record_property("lost", 0)


def test_tokens_are_never_logged_nor_stored(tokens, workspace, capfd, record_property):
    server = LiveServer(
        create_app(workspace, ServeSettings(refresh_seconds=0)), log_level="debug", access_log=True
    )
    try:
        for token in tokens.values():
            for auth in ({"auth": (token, "")}, {"headers": {"Authorization": f"Bearer {token}"}}):
                httpx.post(f"{server.url}{URL}", data={"text": "fine"}, timeout=10, **auth)
                httpx.get(f"{server.url}/v1/deployments/one", timeout=10, **auth)
    finally:
        server.stop()
    logs = "".join(capfd.readouterr())
    assert "POST /v1/deployments/one/predict" in logs  # the access log was on
    stored = b"".join(p.read_bytes() for p in workspace.root.rglob("*") if p.is_file())
    for token in tokens.values():
        assert token not in logs and token.encode() not in stored
    record_property("cases", 2 * 2 * len(tokens))
    record_property("lost", 0)
