import base64
import json
import logging

import pytest
from fastapi.testclient import TestClient

import critic.serve.api
from critic.data import import_dataset
from critic.deploy import create_deployment, delete_deployment, rotate_token, set_enabled
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from critic.serve import ServeSettings, create_app
from tests.conftest import sentiment_rows

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines

TEXT = "a wonderful film, I loved it"


def _basic(user: str, password: str = "") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def served(workspace, tmp_path):
    """Dataset with a `review` column, a linear experiment, deployments `one` (best) and `two` (last)."""
    source = tmp_path / "reviews.csv"
    source.write_text(
        "review,sentiment\n" + "".join(f'"{t}",{label}\n' for t, label in sentiment_rows(80))
    )
    ref = import_dataset("reviews", source, progress=False).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    one, two = (
        create_deployment("lin", name="one"),
        create_deployment("lin", checkpoint="last", name="two"),
    )
    app = create_app(workspace, ServeSettings(max_body_bytes=4000, max_batch=3, refresh_seconds=0))
    with TestClient(app) as client:
        yield client, one.token, two.token


def _expected(text: str, checkpoint: str = "best") -> dict:
    predictor = Predictor.from_checkpoint(get_experiment("lin").checkpoint(checkpoint))
    (p,) = predictor.predict_proba([text])
    return {
        "label": predictor.classes[int(p.argmax())],
        "probabilities": {c: float(v) for c, v in zip(predictor.classes, p)},
    }


URL = "/v1/deployments/one/predict"
WHO = {"deployment": "one", "experiment": "lin", "checkpoint": "best"}


def test_form_urlencoded_and_json_answer_what_critic_predict_answers(served):
    client, token, _ = served
    expected = {**_expected(TEXT), **WHO}
    assert expected["label"] == "positive" and set(expected["probabilities"]) == {
        "negative",
        "positive",
    }
    multipart = client.post(
        URL, files={"review": (None, TEXT)}, headers=_basic(token)
    )  # curl -F "review=..." -u "TOKEN:"
    assert multipart.status_code == 200 and multipart.json() == expected
    urlencoded = client.post(
        URL, data={"review": TEXT}, headers=_basic("", token)
    )  # token as the password
    assert urlencoded.status_code == 200 and urlencoded.json() == expected
    single = client.post(URL, json={"review": TEXT}, headers={"Authorization": f"Bearer {token}"})
    assert single.status_code == 200 and single.json() == expected
    assert list(single.json()) == [
        "label",
        "probabilities",
        "deployment",
        "experiment",
        "checkpoint",
    ]
    refused = client.post(
        URL, json={"review": TEXT}, headers={"Authorization": "Bearer critic_wrong"}
    )
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    batch = client.post(
        URL, json={"rows": [{"review": TEXT}, {"review": "dull and awful"}]}, headers=_basic(token)
    )
    assert batch.status_code == 200
    assert batch.json() == {"predictions": [_expected(TEXT), _expected("dull and awful")], **WHO}
    assert list(batch.json()) == ["predictions", "deployment", "experiment", "checkpoint"]
    upload = client.post(
        URL, files={"review": ("review.txt", TEXT.encode(), "text/plain")}, headers=_basic(token)
    )
    assert upload.status_code == 200 and upload.json() == expected


@pytest.mark.parametrize(
    "send,status,code",
    [
        (lambda c, t: c.post(URL, data={"text": TEXT}, headers=_basic(t)), 422, "missing_field"),
        (lambda c, t: c.post(URL, json={"text": TEXT}, headers=_basic(t)), 422, "missing_field"),
        (
            lambda c, t: c.post(
                URL, json={"rows": [{"review": TEXT}, {"text": "x"}]}, headers=_basic(t)
            ),
            422,
            "missing_field",
        ),
        (lambda c, t: c.post(URL, data={"review": "   "}, headers=_basic(t)), 422, "empty_text"),
        (lambda c, t: c.post(URL, json={"review": ""}, headers=_basic(t)), 422, "empty_text"),
        (lambda c, t: c.post(URL, json={"review": 5}, headers=_basic(t)), 422, "not_text"),
        (
            lambda c, t: c.post(
                URL, content=b"{not json", headers={**_basic(t), "Content-Type": "application/json"}
            ),
            422,
            "malformed_json",
        ),
        (
            lambda c, t: c.post(
                URL, content=TEXT.encode(), headers={**_basic(t), "Content-Type": "text/plain"}
            ),
            415,
            "unsupported_media_type",
        ),
        (
            lambda c, t: c.post(URL, data={"review": "x" * 5000}, headers=_basic(t)),
            413,
            "body_too_large",
        ),
        (
            lambda c, t: c.post(URL, json={"rows": [{"review": "a"}] * 4}, headers=_basic(t)),
            413,
            "batch_too_large",
        ),
        (lambda c, t: c.post(URL, data={"review": TEXT}), 401, "token_required"),
        (
            lambda c, t: c.post(URL, data={"review": TEXT}, headers=_basic("critic_wrong")),
            401,
            "token_invalid",
        ),
        (
            lambda c, t: c.post(URL, data={"review": TEXT}, headers={"Authorization": "Basic %%%"}),
            401,
            "token_malformed",
        ),
        (
            lambda c, t: c.post(
                "/v1/deployments/nope/predict", data={"review": TEXT}, headers=_basic(t)
            ),
            404,
            "deployment_not_found",
        ),
        (lambda c, t: c.get(URL, headers=_basic(t)), 405, "method_not_allowed"),
        (lambda c, t: c.get("/nowhere"), 404, "not_found"),
    ],
)
@pytest.mark.drill("bad HTTP requests")
def test_errors_are_json_with_a_status_and_a_message(served, send, status, code):
    client, token, _ = served
    response = send(client, token)
    body = response.json()
    assert (
        response.status_code == status
        and set(body) == {"error", "message"}
        and body["error"] == code
    )
    assert "Traceback" not in body["message"] and len(body["message"]) > 20
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    if code == "missing_field":
        assert "'review'" in body["message"]


@pytest.mark.drill("auth")
def test_tokens_belong_to_one_deployment_and_rotate_disable_delete_apply_at_once(served, workspace):
    client, one, two = served
    assert client.post(URL, data={"review": TEXT}, headers=_basic(two)).status_code == 403
    assert (
        client.post(
            "/v1/deployments/two/predict", data={"review": TEXT}, headers=_basic(two)
        ).json()["checkpoint"]
        == "last"
    )
    new = rotate_token("one").token
    assert client.post(URL, data={"review": TEXT}, headers=_basic(one)).status_code == 401
    assert client.post(URL, data={"review": TEXT}, headers=_basic(new)).status_code == 200
    set_enabled("one", False)
    disabled = client.post(URL, data={"review": TEXT}, headers=_basic(new))
    assert disabled.status_code == 404 and "disabled" in disabled.json()["message"]
    set_enabled("one", True)
    assert client.post(URL, data={"review": TEXT}, headers=_basic(new)).status_code == 200
    delete_deployment("two")
    assert (
        client.post(
            "/v1/deployments/two/predict", data={"review": TEXT}, headers=_basic(two)
        ).status_code
        == 404
    )
    stored = b"".join(p.read_bytes() for p in workspace.root.glob("catalog.sqlite*"))
    assert all(t.encode() not in stored for t in (one, two, new))


def test_describe_health_tester_and_docs(served):
    client, token, _ = served
    info = client.get("/v1/deployments/one", headers=_basic(token))
    assert (
        info.status_code == 200
        and info.json()["input_name"] == "review"
        and info.json()["classes"] == ["negative", "positive"]
    )
    assert client.get("/v1/deployments/one").status_code == 401
    assert client.get("/healthz").json()["status"] == "ok"
    page = client.get("/tester")
    assert (
        page.status_code == 200
        and "Play" in page.text
        and "critic_" not in page.text.replace("critic_...", "")
    )
    assert client.get(
        "/docs"
    ).status_code == 200 and "/v1/deployments/{name}/predict" in json.dumps(
        client.get("/openapi.json").json()
    )


def test_a_bug_is_a_json_500_and_its_traceback_is_logged(served, monkeypatch, caplog):
    client, token, _ = served

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the answer")

    monkeypatch.setattr(critic.serve.api, "answers", broken)
    with TestClient(client.app, raise_server_exceptions=False) as fresh:
        with caplog.at_level(logging.ERROR, logger="critic.serve"):
            response = fresh.post(URL, json={"review": TEXT}, headers=_basic(token))
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "the server failed on this request; the server log has the details",
    }
    (record,) = [r for r in caplog.records if r.name == "critic.serve"]
    assert record.levelno == logging.ERROR and f"POST {URL}" in record.getMessage()
    assert record.exc_info[0] is RuntimeError
    assert "a bug in the answer" not in response.text
