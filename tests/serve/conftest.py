"""A trained linear experiment `lin` on `tiny@1` deployed as `one` (input field `text`), and the
request helpers the serving tests share."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from critic.deploy import create_deployment
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.serve import ServeSettings, create_app

PREDICT = "/v1/deployments/one/predict"
TEXT = {"text": "a wonderful film, I loved it"}


@pytest.fixture
def token(workspace, tiny_dataset) -> str:
    """The token of the deployment `one` (experiment `lin`, checkpoint best)."""
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    return create_deployment("lin", name="one").token


def serve(workspace, *, workbench: bool = False, **settings) -> TestClient:
    """A client of a fresh app (its lifespan runs when entered: `with serve(...) as client`)."""
    app = create_app(workspace, ServeSettings(refresh_seconds=0, **settings), workbench=workbench)
    return TestClient(app)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
