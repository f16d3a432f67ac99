"""GET /healthz (readiness) and /livez (liveness): what a load balancer asks a replica."""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import pytest

import critic
from critic.deploy import set_enabled
from critic.experiments.store import get_experiment
from tests.serve.conftest import PREDICT, TEXT, bearer, serve

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines

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


@contextmanager
def catalog_down(workspace, database, request):
    """The catalog out of reach for a moment: SQLite's file replaced by a folder (SQLite cannot
    open one); PostgreSQL's database closed to connections and its sessions ended."""
    if database is None:
        catalog = workspace.catalog_path
        moved = catalog.rename(catalog.with_name("moved.sqlite"))
        catalog.mkdir()
        try:
            yield
        finally:
            catalog.rmdir()
            moved.rename(catalog)
        return
    import psycopg

    name = database.rsplit("/", 1)[1]
    with psycopg.connect(request.getfixturevalue("postgres_server"), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_an_unreadable_catalog_makes_the_replica_unready_until_it_is_back(
    workspace, database, token, request
):
    with serve(workspace) as client:
        assert client.post(PREDICT, json=TEXT, headers=bearer(token)).status_code == 200
        with catalog_down(workspace, database, request):
            answer = client.get("/healthz")
            assert answer.status_code == 503 and answer.json()["reasons"] == [
                "catalog_unreachable: the catalog cannot be read (the server log says why)"
            ]
            assert client.get("/livez").json() == LIVE
        assert client.get("/healthz").json() == OK
