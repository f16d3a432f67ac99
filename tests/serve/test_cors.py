"""CORS: a page on another site may call the prediction API (/v1) when its origin is configured;
other origins, a server without the setting, and the workbench's pages get no CORS header."""

from __future__ import annotations

import sys

import pytest

from critic import cli
from critic.errors import SettingsError
from critic.serve import ServeSettings
from tests.serve.conftest import PREDICT, TEXT, bearer, serve

TESTER = "https://tester.example"
ELSEWHERE = "https://evil.example"
ALLOW = "access-control-allow-origin"


def preflight(client, url: str, origin: str, method: str = "POST"):
    return client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_a_configured_origin_may_call_the_prediction_api(workspace, token):
    with serve(workspace, cors_origins=(TESTER,)) as client:
        answer = preflight(client, PREDICT, TESTER)
        assert answer.status_code == 200 and answer.headers[ALLOW] == TESTER
        assert "POST" in answer.headers["access-control-allow-methods"]
        allowed = answer.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert "access-control-allow-credentials" not in answer.headers  # no cookie, ever
        sent = client.post(PREDICT, json=TEXT, headers={**bearer(token), "Origin": TESTER})
        assert sent.status_code == 200 and sent.headers[ALLOW] == TESTER
        assert sent.json()["label"] in ("negative", "positive")
        # a refusal reaches the page too, so it can say what went wrong
        refused = client.post(PREDICT, json=TEXT, headers={**bearer("bad"), "Origin": TESTER})
        assert refused.status_code == 401 and refused.headers[ALLOW] == TESTER
        described = client.get("/v1/deployments/one", headers={**bearer(token), "Origin": TESTER})
        assert described.status_code == 200 and described.headers[ALLOW] == TESTER


def test_another_origin_is_refused_in_json(workspace, token):
    with serve(workspace, cors_origins=(TESTER,)) as client:
        answer = preflight(client, PREDICT, ELSEWHERE)
        assert answer.status_code == 400 and ALLOW not in answer.headers
        assert answer.json()["error"] == "cors_refused"
        assert "CRITIC_CORS_ORIGINS" in answer.json()["message"]
        sent = client.post(PREDICT, json=TEXT, headers={**bearer(token), "Origin": ELSEWHERE})
        assert ALLOW not in sent.headers  # answered, but the browser keeps it from the page
        assert preflight(client, PREDICT, TESTER, method="DELETE").status_code == 400


def test_cors_is_off_by_default(workspace, token):
    with serve(workspace) as client:
        answer = preflight(client, PREDICT, TESTER)
        assert answer.status_code == 405 and ALLOW not in answer.headers
        assert answer.json()["error"] == "method_not_allowed"
        sent = client.post(PREDICT, json=TEXT, headers={**bearer(token), "Origin": TESTER})
        assert sent.status_code == 200 and ALLOW not in sent.headers


@pytest.mark.parametrize("path", ["/", "/login", "/logout", "/deployments", "/healthz", "/tester"])
def test_the_workbench_never_answers_cors(workspace, path):
    client = serve(workspace, workbench=True, cors_origins=(TESTER,))  # no lifespan: no job pool
    answer = preflight(client, path, TESTER)
    assert ALLOW not in answer.headers and answer.status_code != 200
    page = client.get(path, headers={"Origin": TESTER}, follow_redirects=False)
    assert ALLOW not in page.headers


def test_origins_are_checked_and_written_as_browsers_send_them(monkeypatch):
    monkeypatch.setenv("CRITIC_CORS_ORIGINS", " HTTPS://Tester.Example:443/ ,http://localhost:5173")
    assert ServeSettings.from_env().cors_origins == (TESTER, "http://localhost:5173")
    for bad, words in [
        ("*", "wildcard"),
        ("https://*.example", "wildcard"),
        ("https://tester.example/page", "path"),
        ("tester.example", "not an origin"),
        ("null", "not an origin"),
        ("ftp://tester.example", "not an origin"),
    ]:
        monkeypatch.setenv("CRITIC_CORS_ORIGINS", bad)
        with pytest.raises(SettingsError, match=f"CRITIC_CORS_ORIGINS.*{words}"):
            ServeSettings.from_env()


def _serve_cli(monkeypatch, *args) -> int:
    monkeypatch.setattr(sys, "argv", ["critic", "serve", "--api-only", *args])
    try:
        cli.main()
    except SystemExit as exc:
        return exc.code or 0
    return 0


def test_critic_serve_takes_cors_origins(workspace, monkeypatch, capsys):
    import uvicorn

    for key in ("CRITIC_CORS_ORIGINS", "CRITIC_WORKBENCH", "CRITIC_TORCH_THREADS"):
        monkeypatch.setenv(key, "1")  # restored after the test, whatever `critic serve` sets
    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    origins = ["--cors-origin", "https://Tester.example", "--cors-origin", "http://localhost:5173"]
    assert _serve_cli(monkeypatch, *origins) == 0 and started
    assert ServeSettings.from_env().cors_origins == (TESTER, "http://localhost:5173")
    assert f"{TESTER}, http://localhost:5173" in capsys.readouterr().out
    assert _serve_cli(monkeypatch, "--cors-origin", "*") == 2 and len(started) == 1
    assert "wildcard" in capsys.readouterr().err
    assert _serve_cli(monkeypatch, "--host", "0.0.0.0") == 0  # /metrics open beyond loopback
    assert "CRITIC_METRICS=off" in " ".join(capsys.readouterr().out.split())
