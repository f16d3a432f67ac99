"""GET /metrics: the prediction requests counted by `counted` (api.py), seen by Prometheus."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from critic.deploy import set_enabled
from critic.errors import SettingsError
from critic.serve import ServeSettings
from critic.serve.metrics import BUCKETS, CONTENT_TYPE_LATEST, ServeMetrics
from critic.serve.registry import RequestStats
from tests.serve.conftest import PREDICT, TEXT, bearer, serve


def samples(client) -> dict[tuple, float]:
    """(sample name, sorted label pairs) → value, from GET /metrics."""
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"] == CONTENT_TYPE_LATEST
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_answers_refusals_and_a_disabled_deployment_are_counted(workspace, token):
    with serve(workspace) as client:
        for _ in range(2):
            assert client.post(PREDICT, json=TEXT, headers=bearer(token)).status_code == 200
        assert client.post(PREDICT, json=TEXT, headers=bearer("critic_wrong")).status_code == 401
        assert client.post(PREDICT, json={"other": "x"}, headers=bearer(token)).status_code == 422
        set_enabled("one", False)
        assert client.post(PREDICT, json=TEXT, headers=bearer(token)).status_code == 404
        found = samples(client)
        stats = client.app.state.registry.stats.summary("one")
    requests = "critic_prediction_requests_total"
    assert found[(requests, (("deployment", "one"), ("status", "2xx")))] == 2
    assert found[(requests, (("deployment", "one"), ("status", "4xx")))] == 3
    assert not any(k[0] == requests and ("status", "5xx") in k[1] for k in found)
    # the histogram: the answered ones, in every bucket up to +Inf
    assert found[("critic_prediction_seconds_count", (("deployment", "one"),))] == 2
    les = [
        dict(labels)["le"] for name, labels in found if name == "critic_prediction_seconds_bucket"
    ]
    assert les == [str(float(b)) for b in BUCKETS] + ["+Inf"]
    assert found[("critic_prediction_seconds_bucket", (("deployment", "one"), ("le", "+Inf")))] == 2
    # the workbench's figures are the same measurement
    assert (stats["requests"], stats["errors"], stats["answered"]) == (5, 3, 2)


def test_made_up_names_never_become_labels_and_no_token_shows(workspace, token):
    with serve(workspace) as client:
        for name in ("made-up", "x" * 200, "one%00"):
            url = f"/v1/deployments/{name}/predict"
            assert client.post(url, json=TEXT, headers=bearer(token)).status_code == 404
        assert client.get("/v1/deployments/nobody").status_code == 404
        text = client.get("/metrics").text
        assert client.post(PREDICT, json=TEXT, headers=bearer(token)).status_code == 200
        after = client.get("/metrics").text
    assert "critic_prediction_requests_total{" not in text  # nothing counted yet
    assert "made-up" not in after and "nobody" not in after and "x" * 200 not in after
    assert 'critic_prediction_requests_total{deployment="one",status="2xx"} 1.0' in after
    assert token not in after


def test_each_app_counts_in_its_own_registry(workspace, token):
    with serve(workspace) as first, serve(workspace) as second:
        assert first.post(PREDICT, json=TEXT, headers=bearer(token)).status_code == 200
        assert "critic_prediction_requests_total{" in first.get("/metrics").text
        assert "critic_prediction_requests_total{" not in second.get("/metrics").text
    assert (
        REGISTRY.get_sample_value(
            "critic_prediction_requests_total", {"deployment": "one", "status": "2xx"}
        )
        is None
    )


def test_metrics_can_be_switched_off(workspace, token, monkeypatch):
    with serve(workspace, metrics=False) as client:
        answer = client.get("/metrics")
        assert answer.status_code == 404 and answer.json()["error"] == "metrics_off"
        assert client.post(PREDICT, json=TEXT, headers=bearer(token)).status_code == 200
        assert client.app.state.registry.stats.summary("one")["requests"] == 1
    for raw, expected in (("off", False), ("0", False), ("ON", True), ("", True)):
        monkeypatch.setenv("CRITIC_METRICS", raw)
        assert ServeSettings.from_env().metrics is expected
    monkeypatch.setenv("CRITIC_METRICS", "maybe")
    with pytest.raises(SettingsError, match="CRITIC_METRICS"):
        ServeSettings.from_env()


def test_a_forgotten_deployment_leaves_no_series():
    metrics = ServeMetrics()
    stats = RequestStats(metrics)
    stats.record("gone", 0.002, ok=True, status=200)
    stats.record("gone", 0.001, ok=False, status=401)
    stats.record("kept", 0.001, ok=False)  # the status defaults to 500
    stats.forget("gone")
    text = metrics.exposition().decode()
    assert 'deployment="gone"' not in text
    assert 'critic_prediction_requests_total{deployment="kept",status="5xx"} 1.0' in text
