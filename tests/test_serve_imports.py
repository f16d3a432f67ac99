"""Serving imports no training code: a server worker loads the Predictor's dependencies and
nothing of training, plotting or data import (checked in a fresh interpreter)."""

import json
import subprocess
import sys

from critic.data import import_dataset
from critic.deploy import create_deployment
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from tests.conftest import sentiment_rows, write_csv

NEVER = [
    "critic.train",
    "critic.experiments.run",
    "critic.experiments.configure",
    "critic.data.stats",
    "critic.data.importer",
    "critic.plots",
    "matplotlib",
    "gensim",
    "sklearn",
]  # pandas: the linear model looks n-grams up with it

SERVE_ONE_REQUEST = """
import json, sys
from fastapi.testclient import TestClient
from critic.serve import create_app
token, never = sys.argv[1], json.loads(sys.argv[2])
with TestClient(create_app()) as client:
    answer = client.post("/v1/deployments/lin-best/predict", json={"text": "a wonderful film"},
                         headers={"Authorization": "Bearer " + token})
print(json.dumps({"status": answer.status_code, "label": answer.json().get("label"),
                  "loaded": [m for m in never if m in sys.modules]}))
"""


def test_a_server_answers_without_importing_training_code(workspace, tmp_path):
    ref = import_dataset(
        "tiny", write_csv(tmp_path / "tiny.csv", sentiment_rows(60)), progress=False
    ).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    token = create_deployment("lin").token
    out = subprocess.run(
        [sys.executable, "-c", SERVE_ONE_REQUEST, token, json.dumps(NEVER)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"status": 200, "label": result["label"], "loaded": []} and result[
        "label"
    ] in (
        "negative",
        "positive",
    )
