"""The deployments pages through TestClient: create (the token once, in the answer only), the list,
one deployment's page (URL, input name, examples, the tester link), the switch, rotate, delete with
its confirmation, the request figures after a few predictions, bad names and unknown deployments;
and the two keys kept apart (a workbench login does not open the prediction API, a deployment token
does not open the workbench)."""

from __future__ import annotations

import base64
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from critic.deploy import create_deployment, get_deployment, hash_token, list_deployments
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.serve.workbench.deployments import examples
from tests.workbench.conftest import csrf_of

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines

HTML = {"accept": "text/html"}
PREDICT = "/v1/deployments/{}/predict"


@pytest.fixture
def trained(workspace, tiny_dataset) -> str:
    """A finished linear experiment `lin` on tiny@1 (its text column: `text`)."""
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    return "lin"


def _create(client, **form):
    fields = {"csrf": csrf_of(client), "experiment": "lin", "checkpoint": "best", **form}
    return client.post("/deployments", data=fields, headers=HTML)


def _token_in(html: str) -> str:
    return re.search(r'id="token" type="text" readonly value="([^"]+)"', html).group(1)


def _predict(client, name: str, token: str | None, text: str = "a wonderful film"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(PREDICT.format(name), data={"text": text}, headers=headers)


def test_create_shows_the_token_once_and_it_works(logged_in, trained, workspace, caplog):
    form = logged_in.get("/deployments/new?experiment=lin")
    assert form.status_code == 200
    assert '<option value="lin" selected>' in form.text

    answer = _create(logged_in, name="web")
    assert answer.status_code == 201
    assert answer.headers["cache-control"] == "no-store"
    token = _token_in(answer.text)
    assert token.startswith("critic_") and "will not be shown" in answer.text
    assert 'id="copy-token"' in answer.text
    assert get_deployment("web", workspace).token_hash == hash_token(token)
    assert token not in caplog.text
    # the tester link carries the URL and input name, never the token
    link = re.search(r'id="test-deployment" href="([^"]+)"', answer.text).group(1)
    query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
    assert query == {
        "url": ["http://testserver/v1/deployments/web/predict"],
        "input": ["text"],
    }
    assert token not in link

    assert _predict(logged_in, "web", token).json()["label"] == "positive"
    # the page shows everything but the token
    page = logged_in.get("/deployments/web")
    assert page.status_code == 200 and token not in page.text
    assert "http://testserver/v1/deployments/web/predict" in page.text
    assert '<code id="input-name">text</code>' in page.text


def test_the_default_name_and_a_script_gets_json(logged_in, trained):
    answer = logged_in.post(
        "/deployments",
        data={"csrf": csrf_of(logged_in), "experiment": "lin", "checkpoint": "last"},
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["deployment"] == "lin-last" and body["token"].startswith("critic_")
    assert body["url"].endswith("/v1/deployments/lin-last/predict")
    assert _predict(logged_in, "lin-last", body["token"]).status_code == 200


def test_created_disabled_refuses_calls(logged_in, trained):
    token = _token_in(_create(logged_in, name="off", disabled="1").text)
    assert _predict(logged_in, "off", token).status_code == 404


def test_the_form_chooses_the_runtime(logged_in, trained, workspace):
    form = logged_in.get("/deployments/new?experiment=lin").text
    assert 'id="runtime-torch" checked' in form and 'id="runtime-onnx-int8"' in form
    token = _token_in(_create(logged_in, name="fast", runtime="onnx").text)
    assert get_deployment("fast", workspace).runtime == "onnx"
    assert _predict(logged_in, "fast", token).json()["label"] == "positive"
    assert '<code id="runtime">onnx</code>' in logged_in.get("/deployments/fast").text
    # int8 is for transformers: the form again, with what to do, and nothing made
    refused = _create(logged_in, name="small", runtime="onnx-int8")
    assert refused.status_code == 422 and "--runtime onnx or torch" in html.unescape(refused.text)
    assert 'id="runtime-onnx-int8" checked' in refused.text
    assert [d.name for d in list_deployments()] == ["fast"]


@pytest.mark.parametrize("name", ["../etc", "has space", "x" * 65, "new", "con"])
def test_a_bad_name_is_400_with_the_form_again(logged_in, trained, name):
    answer = _create(logged_in, name=name)
    assert answer.status_code == 400
    assert 'id="form-error"' in answer.text and 'id="create-form"' in answer.text
    assert list_deployments() == []
    script = logged_in.post(
        "/deployments", data={"csrf": csrf_of(logged_in), "experiment": "lin", "name": name}
    )
    assert script.status_code == 400 and script.json()["error"] == "invalid_name"


def test_refusals_in_words(logged_in, trained):
    csrf = csrf_of(logged_in)
    nothing = logged_in.post("/deployments", data={"csrf": csrf}, headers=HTML)
    assert nothing.status_code == 422 and "choose the experiment" in nothing.text
    unknown = _create(logged_in, experiment="ghost")
    assert unknown.status_code == 404 and "no experiment 'ghost'" in html.unescape(unknown.text)
    checkpoint = _create(logged_in, checkpoint="middle")
    assert checkpoint.status_code == 422 and "best" in checkpoint.text
    twice = (_create(logged_in, name="same"), _create(logged_in, name="same"))
    assert twice[0].status_code == 201 and twice[1].status_code in (400, 409, 422)
    assert 'id="form-error"' in twice[1].text


def test_unknown_deployment_is_404_and_a_bad_name_400(logged_in, trained):
    assert logged_in.get("/deployments/ghost").status_code == 404
    assert logged_in.get("/deployments/ghost", headers=HTML).status_code == 404
    assert logged_in.get("/deployments/ghost/stats").json()["error"] == "not_found"
    assert logged_in.get("/deployments/bad%20name").status_code == 400
    csrf = csrf_of(logged_in)
    for action, form in (
        ("enabled", {"enabled": "0"}),
        ("rotate", {}),
        ("delete", {"confirm": "ghost"}),
    ):
        answer = logged_in.post(f"/deployments/ghost/{action}", data={"csrf": csrf, **form})
        assert answer.status_code == 404, action


def test_the_list_counts_requests_and_the_stats_after_predictions(logged_in, trained, workspace):
    token = create_deployment("lin", name="one", workspace=workspace).token
    create_deployment("lin", name="two", workspace=workspace)
    for _ in range(3):
        assert _predict(logged_in, "one", token).status_code == 200
    assert _predict(logged_in, "one", "critic_wrong").status_code == 401
    assert _predict(logged_in, "one", None).status_code == 401
    assert _predict(logged_in, "nobody", token).status_code == 404  # not counted: no such name

    stats = logged_in.get("/deployments/one/stats").json()
    assert stats["requests"] == 5 and stats["errors"] == 2 and stats["answered"] == 3
    assert stats["window"] == 3 and 0 < stats["median_ms"] <= stats["p95_ms"] < 10_000
    assert stats["enabled"] is True
    assert logged_in.get("/deployments/two/stats").json()["requests"] == 0
    assert logged_in.get("/deployments/two/stats").json()["median_ms"] is None

    page = logged_in.get("/deployments")
    assert page.status_code == 200
    row = re.search(r'<tr data-name="one">.*?</tr>', page.text, re.S).group(0)
    assert '<td class="num">5</td>' in row and '<td class="num">2</td>' in row
    assert "http://testserver/v1/deployments/one/predict" in row
    one = logged_in.get("/deployments/one").text
    assert '<strong id="stat-requests">5</strong>' in one


def test_enable_switch_rotate_and_delete(logged_in, trained, workspace):
    old = create_deployment("lin", name="sw", workspace=workspace).token
    csrf = csrf_of(logged_in)
    off = logged_in.post(
        "/deployments/sw/enabled",
        data={"csrf": csrf, "enabled": "0"},
        headers=HTML,
        follow_redirects=False,
    )
    assert off.status_code == 303 and off.headers["location"] == "/deployments/sw"
    refused = _predict(logged_in, "sw", old)
    assert refused.status_code == 404 and "is disabled" in refused.json()["message"]
    assert 'aria-checked="false"' in logged_in.get("/deployments/sw").text
    assert (
        logged_in.post("/deployments/sw/enabled", data={"csrf": csrf, "enabled": "x"}).status_code
        == 422
    )
    on = logged_in.post("/deployments/sw/enabled", data={"csrf": csrf, "enabled": "1"})
    assert on.json() == {"redirect": "/deployments/sw"}
    assert _predict(logged_in, "sw", old).status_code == 200

    rotated = logged_in.post("/deployments/sw/rotate", data={"csrf": csrf}, headers=HTML)
    assert rotated.status_code == 200 and "no longer works" in rotated.text
    new = _token_in(rotated.text)
    assert new != old
    assert _predict(logged_in, "sw", old).status_code == 401
    assert _predict(logged_in, "sw", new).status_code == 200

    wrong = logged_in.post(
        "/deployments/sw/delete", data={"csrf": csrf, "confirm": "SW"}, headers=HTML
    )
    assert wrong.status_code == 400 and 'id="delete-error"' in wrong.text
    assert get_deployment("sw", workspace)
    gone = logged_in.post(
        "/deployments/sw/delete",
        data={"csrf": csrf, "confirm": "sw"},
        headers=HTML,
        follow_redirects=False,
    )
    assert gone.status_code == 303 and gone.headers["location"] == "/deployments?deleted=sw"
    assert list_deployments(workspace) == []
    assert _predict(logged_in, "sw", new).status_code == 404
    listed = logged_in.get("/deployments?deleted=sw").text
    assert 'id="deleted"' in listed and 'id="no-deployments"' in listed


def test_a_login_does_not_open_the_api_and_a_token_does_not_open_the_workbench(
    client, alice, trained, workspace
):
    token = create_deployment("lin", name="apart", workspace=workspace).token
    # a token, as Bearer or Basic, opens no workbench page and changes nothing
    for auth in (f"Bearer {token}", "Basic " + base64.b64encode(f"{token}:".encode()).decode()):
        for path in ("/deployments", "/deployments/apart", "/deployments/apart/stats"):
            answer = client.get(path, headers={"Authorization": auth}, follow_redirects=False)
            assert answer.status_code == 401 and answer.json()["error"] == "login_required"
        changed = client.post(
            "/deployments/apart/enabled",
            data={"enabled": "0"},
            headers={"Authorization": auth},
        )
        assert changed.status_code == 401
        assert get_deployment("apart", workspace).enabled
    # logged in to the workbench, the API still wants the deployment's token
    from tests.workbench.conftest import log_in

    assert log_in(client).status_code == 303
    assert client.get("/deployments/apart").status_code == 200  # the session works here
    refused = _predict(client, "apart", None)
    assert refused.status_code == 401 and refused.json()["error"] == "token_required"
    session = client.cookies.get("critic_session")
    bearer = _predict(client, "apart", session)
    assert bearer.status_code == 401 and bearer.json()["error"] == "token_invalid"
    assert client.get("/v1/deployments/apart").status_code == 401


def test_the_form_lists_only_finished_experiments(logged_in, trained, workspace):
    from critic.catalog import open_catalog

    assert '<option value="lin">' in logged_in.get("/deployments/new").text
    open_catalog(workspace).set_experiment_status("lin", "failed", "2026-12-02T00:00:00")
    page = logged_in.get("/deployments/new?experiment=lin").text
    assert 'id="no-experiments"' in page and "cannot be deployed yet: it is failed" in page
    ghost = html.unescape(logged_in.get("/deployments/new?experiment=ghost").text)
    assert ghost.count("no experiment 'ghost'") == 1


def test_examples_quote_any_input_name():
    found = {
        e["id"]: e["text"]
        for e in examples("http://h:1/v1/deployments/x/predict", "my review's", ["neg", "pos"])
    }
    assert found["curl-form"].startswith("curl -X POST -F 'my review'\"'\"'s=A fun")
    assert '-u "$CRITIC_TOKEN:"' in found["curl-form"]
    assert "-F 'my review'\"'\"'s=@review.txt'" in found["curl-file"]
    assert '-H "Authorization: Bearer $CRITIC_TOKEN"' in found["curl-bearer"]
    assert "'Content-Type: application/json'" in found["curl-json"]
    assert '"label": "pos"' in found["json-answer"]
    assert 'auth=(os.environ["CRITIC_TOKEN"], "")' in found["python"]
    compile(found["python"], "example", "exec")  # valid Python


def test_request_stats_are_bounded_and_thread_safe():
    import threading

    from critic.serve.registry import RequestStats

    stats = RequestStats()
    assert stats.summary("x")["median_ms"] is None

    def hammer(offset: int) -> None:
        for i in range(500):
            stats.record("x", (offset + i % 100 + 1) / 1000, ok=i % 10 != 0)

    threads = [threading.Thread(target=hammer, args=(0,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = stats.summary("x")
    assert s["requests"] == 2000 and s["errors"] == 200 and s["answered"] == 1800
    assert s["window"] == RequestStats.WINDOW  # the newest 1,000 answered only
    assert 1 <= s["median_ms"] <= s["p95_ms"] <= 100
    stats.forget("x")
    assert stats.summary("x")["requests"] == 0

    one = RequestStats()
    for ms in range(1, 101):
        one.record("y", ms / 1000, ok=True)
    assert one.summary("y")["p95_ms"] == pytest.approx(95)
    assert one.summary("y")["median_ms"] == pytest.approx(50.5)
