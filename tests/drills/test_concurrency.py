"""Drill: things at once. Two processes importing one name make two whole versions; a deployment
disabled while a request is being answered finishes that request and refuses the next ones; a new
catalog opened while another connection holds its lock waits instead of failing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from critic.catalog.engines import SQLiteEngine
from critic.data import import_dataset, list_versions
from critic.deploy import create_deployment, set_enabled
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.predictor import Predictor
from critic.serve import ServeSettings, create_app
from tests.conftest import LiveServer, sentiment_rows, write_csv
from tests.drills.conftest import integrity

pytestmark = pytest.mark.drill("concurrency")

IMPORT = "import sys; from critic.data import import_dataset; import_dataset('same', sys.argv[1], progress=False)"


def test_two_processes_importing_one_name_make_two_whole_versions(
    workspace, tmp_path, record_property
):
    files = [
        write_csv(
            tmp_path / f"{i}.csv", [(f"process {i} {t}", y) for t, y in sentiment_rows(20_000)]
        )
        for i in range(2)
    ]
    env = {**os.environ, "CRITIC_HOME": str(workspace.root)}
    procs = [subprocess.Popen([sys.executable, "-c", IMPORT, str(f)], env=env) for f in files]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    versions = list_versions()
    assert (
        sorted(v.ref for v in versions) == ["same@1", "same@2"]
        and integrity(workspace.catalog_path) == "ok"
    )
    firsts = sorted(v.frame()["text"].str.split().str[1].unique().tolist()[0] for v in versions)
    assert firsts == ["0", "1"] and all(len(v.frame()) == 20_000 for v in versions)
    record_property("lost", 0)


def test_disabling_a_deployment_finishes_in_flight_requests_and_refuses_new_ones(
    workspace, tmp_path, monkeypatch, record_property
):
    ref = import_dataset(
        "t", write_csv(tmp_path / "t.csv", sentiment_rows(40)), progress=False
    ).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    token = create_deployment("lin", name="d").token
    entered, release = threading.Event(), threading.Event()
    original = Predictor.predict_proba

    def slow(self, texts, *args, **kwargs):  # a long batch: holds until the test lets it go
        entered.set()
        assert release.wait(30)
        return original(self, texts, *args, **kwargs)

    monkeypatch.setattr(Predictor, "predict_proba", slow)
    server = LiveServer(create_app(workspace, ServeSettings(refresh_seconds=0)))
    url = f"{server.url}/v1/deployments/d/predict"
    answers = {}
    try:
        in_flight = threading.Thread(
            target=lambda: answers.update(
                first=httpx.post(url, data={"text": "a great film"}, auth=(token, ""), timeout=60)
            )
        )
        in_flight.start()
        assert entered.wait(30)
        set_enabled("d", False)
        refused = httpx.post(
            url, data={"text": "another"}, auth=(token, ""), timeout=10
        )  # answered while the first runs
        assert refused.status_code == 404 and "disabled" in refused.json()["message"]
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        release.set()
        in_flight.join(30)
        first = answers["first"]
        assert first.status_code == 200 and set(first.json()["probabilities"]) == {
            "negative",
            "positive",
        }
    finally:
        release.set()
        server.stop()
    record_property("lost", 0)


def test_a_new_catalog_waits_for_a_lock_instead_of_failing(tmp_path):
    # Two processes switching one new catalog to WAL at once: SQLite tells one "database is locked"
    # without waiting. Here another connection holds the lock for a moment; opening must wait it out.
    path = tmp_path / "catalog.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    started = time.monotonic()
    SQLiteEngine._use_wal(conn)
    assert (
        conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        and time.monotonic() - started >= 0.4
    )
    conn.close()
    holder.close()
