"""GET /healthz (readiness) and /livez (liveness): what a load balancer asks a replica."""

from __future__ import annotations

import shutil

import critic
from critic.deploy import set_enabled
from critic.experiments.store import get_experiment
from tests.serve.conftest import PREDICT, TEXT, bearer, serve

OK = {"status": "ok", "version": critic.__version__, "deployments": 1, "reasons": []}
LIVE = {"status": "ok", "version": critic.__version__}


def test_a_replica_with_its_models_loaded_is_ready(workspace, token):
    with serve(workspace) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 200 and answer.json() == OK
        assert client.get("/livez").json() == LIVE


def test_a_deployment_whose_model_files_are_gone_makes_the_replica_unready(workspace, token):
    shutil.rmtree(get_experiment("lin").checkpoint("best"))
    with serve(workspace) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "unavailable",
            "version": critic.__version__,
            "deployments": None,
            "reasons": [
                "model_unavailable: deployment 'one' has no model loaded (the server log says why)"
            ],
        }
        assert str(workspace.root) not in answer.text  # no server path for an anonymous caller
        assert client.get("/livez").status_code == 200
        set_enabled("one", False)  # a disabled deployment is nobody's to answer
        assert client.get("/healthz").json() == {**OK, "deployments": 0}


def test_an_unreadable_catalog_makes_the_replica_unready_until_it_is_back(workspace, token):
    catalog = workspace.catalog_path
    with serve(workspace) as client:
        assert client.post(PREDICT, json=TEXT, headers=bearer(token)).status_code == 200
        moved = catalog.rename(catalog.with_name("moved.sqlite"))
        catalog.mkdir()  # SQLite cannot open a directory
        try:
            answer = client.get("/healthz")
            assert answer.status_code == 503 and answer.json()["reasons"] == [
                "catalog_unreachable: the catalog cannot be read (the server log says why)"
            ]
            assert client.get("/livez").json() == LIVE
        finally:
            catalog.rmdir()
            moved.rename(catalog)
        assert client.get("/healthz").json() == OK
