"""Drill: schemathesis generates requests from the server's OpenAPI schema (with a valid token, with
none, with a wrong one): no response is ≥ 500 and every 4xx is JSON {"error", "message"}.

CRITIC_FUZZ_EXAMPLES sets the generated requests per test (default 60; each is sent three times);
CRITIC_FUZZ_SEED makes a run random with that seed (unset: derandomized, the same requests on every
CI run). bench/fuzz.py sets both for the long run (10,000 requests and more)."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode

from critic.data import import_dataset
from critic.deploy import create_deployment
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.serve import ServeSettings, create_app
from tests.conftest import sentiment_rows

pytestmark = pytest.mark.drill("API fuzzing (schemathesis)")

EXAMPLES = int(os.environ.get("CRITIC_FUZZ_EXAMPLES", "60"))
SEED = os.environ.get("CRITIC_FUZZ_SEED")  # unset: derandomized, so CI sends the same requests


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from critic.workspace import Workspace

    home = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRITIC_HOME", str(home / "home"))
        source = home / "reviews.csv"
        source.write_text(
            "review,sentiment\n" + "".join(f'"{t}",{label}\n' for t, label in sentiment_rows(60))
        )
        ref = import_dataset("reviews", source, progress=False).version.ref
        train_experiment(build_config(ref, preset="linear"), name="lin")
        token = create_deployment("lin", name="one").token
        app = create_app(
            Workspace.from_env(),
            ServeSettings(max_body_bytes=20_000, max_batch=8, refresh_seconds=60),
        )
        yield app, token


def _operations(app) -> list:
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in api.get_all_operations()]


def _use_input_name(body, name: str) -> None:
    """The schema cannot know each deployment's field name: give a generated body the served one."""
    rows = body.get("rows") if isinstance(body, dict) else None
    for row in rows if isinstance(rows, list) else [body]:
        if isinstance(row, dict) and row and name not in row:
            row[name] = row.pop(next(iter(row)))


def test_every_operation_is_fuzzed(served):
    labels = {op.label for op in _operations(served[0])}
    assert {
        "POST /v1/deployments/{name}/predict",
        "GET /v1/deployments/{name}",
        "GET /healthz",
    } <= labels


ROUTES = ["POST /v1/deployments/{name}/predict", "GET /v1/deployments/{name}"]


# negative mode (requests that break the schema) needs something to break: the routes without
# parameters run positive only
@pytest.mark.parametrize(
    ("label", "mode"),
    [(r, m) for r in ROUTES for m in GenerationMode]
    + [("GET /healthz", GenerationMode.POSITIVE), ("GET /tester", GenerationMode.POSITIVE)],
)
def test_no_server_errors_and_json_errors(served, label, mode, record_property):
    """Each generated request is sent three times: with the deployment's token, with none, with a wrong one.
    (schemathesis's pytest plugin does not run on pytest 9, so its strategies are driven with hypothesis.)"""
    app, token = served
    (operation,) = [op for op in _operations(app) if op.label == label]
    sent = []

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        if case.path_parameters and len(sent) % 2:
            case.path_parameters["name"] = (
                "one"  # half the cases reach past the 404 to the body handling
            )
            _use_input_name(case.body, "review")
        for auth in (token, None, "critic_" + "x" * 43):
            response = case.call(headers={"Authorization": f"Bearer {auth}"} if auth else {})
            sent.append(response.status_code)
            assert response.status_code < 500, (case.as_curl_command(), response.text[:300])
            if 400 <= response.status_code < 500:
                body = response.json()
                assert set(body) == {"error", "message"} and body["message"], body

    try:
        (seed(int(SEED))(check) if SEED is not None else check)()
    finally:  # the requests sent count even when one of them failed
        record_property("cases", len(sent))
        record_property("statuses", dict(sorted(Counter(sent).items())))
    record_property("lost", 0)
