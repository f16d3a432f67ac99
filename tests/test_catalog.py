"""The catalog on both engines (SQLite, the default, and PostgreSQL by CRITIC_DATABASE_URL): every
kind of row written and read back the same, the schema's version checks and `critic db`, eight
processes importing and training at once against PostgreSQL, an unreachable database as one
clear line, and a workspace moved to another root (paths are relative to it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from critic.catalog import (
    SCHEMA_VERSION,
    Catalog,
    DatasetRecord,
    DeploymentRecord,
    ExperimentRecord,
    JobRecord,
    open_catalog,
)
from critic.catalog.engines import display_url, engine_for
from critic.catalog.schema import MIGRATIONS, statements
from critic.errors import CatalogUnavailable, CatalogVersionError, SettingsError
from critic.workspace import Workspace
from tests.conftest import sentiment_rows, write_csv
from tests.services import free_port

pytestmark = pytest.mark.both_engines


def _experiment(name: str) -> ExperimentRecord:
    return ExperimentRecord(
        name, "d@1", "linear.v1", "running", "t0", "t0", 0, None, 0.0, None, f"experiments/{name}",
        {"seed": 1},
    )  # fmt: skip


def _job(job_id: str, created: str) -> JobRecord:
    return JobRecord(
        job_id, "train", ("train", "--dataset", "d"), "queued", created, None, None, "local",
        None, f"jobs/{job_id}.log", None, None, "exp", "ann",
    )  # fmt: skip


def test_every_kind_of_row_is_read_back_as_written(workspace):
    catalog = open_catalog(workspace.ensure())
    with catalog.transaction() as conn:
        version = catalog.next_dataset_version(conn, "d")
        catalog.insert_dataset(
            conn, DatasetRecord("d", version, "t0", "fp", 10, 1, "datasets/d/1", {"k": [1, 2]})
        )
    assert catalog.dataset("d").manifest == {"k": [1, 2]} and catalog.dataset("d", 1).rows == 10
    catalog.add_experiment(_experiment("e"))
    with pytest.raises(SettingsError, match="exists"):
        catalog.add_experiment(_experiment("e"))
    catalog.record_epoch("e", 1, {"val_loss": 0.5}, 1, 1.25, "t1")
    catalog.record_epoch("e", 1, {"val_loss": 0.4}, 1, 1.5, "t1")  # a resumed epoch replaces
    catalog.set_experiment_status("e", "done", "t2", owner="host:1")
    (e,) = catalog.experiments("e")
    assert (e.status, e.epochs, e.seconds, e.owner, e.config) == (
        "done", ({"val_loss": 0.4},), 1.5, "host:1", {"seed": 1},
    )  # fmt: skip
    for accuracy in (0.8, 0.9):  # the latest evaluation per key replaces the earlier one
        catalog.record_evaluation("e", "best", "test", 1, "t3", {"accuracy": accuracy}, "p", "d@1")
    assert [(r["dataset"], r["accuracy"]) for r in catalog.evaluations("e")] == [("d@1", 0.9)]
    catalog.add_deployment(DeploymentRecord("dep", "e", "best", "text", True, "h1", "t", "t"))
    assert catalog.update_deployment("dep", "t4", enabled=False, token_hash="h2")
    assert not catalog.update_deployment("nope", "t4", enabled=False)
    (dep,) = catalog.deployments("dep")
    assert (dep.enabled, dep.token_hash, dep.updated) == (False, "h2", "t4")
    assert catalog.delete_deployment("dep") and catalog.deployments() == []
    assert catalog.add_job(_job("j1", "2026-01-01T00:00:00.001")) and not catalog.add_job(
        _job("j1", "x")
    )
    catalog.add_job(_job("j2", "2026-01-01T00:00:00.002"))
    claimed = catalog.claim_job("s", max_running=1)
    assert claimed.id == "j1" and claimed.argv == ("train", "--dataset", "d")
    assert catalog.claim_job("s", max_running=1) is None  # one runs already
    assert catalog.end_job("j1", "done", "e", exit_code=0) and not catalog.end_job(
        "j1", "failed", "e"
    )
    assert [j.state for j in catalog.jobs()] == ["done", "queued"]
    assert catalog.add_first_user("ann", "hash", True, "t") and not catalog.add_first_user(
        "bob", "hash", False, "t"
    )
    catalog.add_session("tok", "ann", "csrf", "2026-01-01", "2026-01-02")
    assert catalog.session("tok", "2026-01-01T12")["user"] == "ann"
    assert catalog.set_password("ann", "other") and catalog.session("tok", "2026-01-01T12") is None
    assert catalog.counts()["experiments"] == 1


def test_a_catalog_newer_than_the_code_is_refused_with_what_to_do(workspace):
    catalog = open_catalog(workspace.ensure())
    with catalog.transaction() as conn:
        catalog.engine.set_schema_version(conn, SCHEMA_VERSION + 1)
    with pytest.raises(CatalogVersionError, match="newer than this critic's .*upgrade critic"):
        open_catalog(workspace)
    done = subprocess.run(
        [sys.executable, "-m", "critic.cli", "data", "list"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "newer" in done.stderr


def test_an_older_catalog_is_upgraded_by_critic_db_upgrade(workspace, database):
    catalog = Catalog(workspace.ensure().database_url, check=False)
    with catalog.transaction() as conn:  # a catalog as critic left it at schema 7
        for step in MIGRATIONS[:7]:
            for statement in statements(step):
                conn.execute(statement)
        catalog.engine.set_schema_version(conn, 7)
        conn.execute(
            "INSERT INTO experiments (name, dataset, model, status, created, updated, path, config)"
            " VALUES ('lin', 'imdb@1', 'linear.v1', 'done', 't', 't', 'experiments/lin', '{}')"
        )
    if database:  # shared: refused until upgraded on purpose (old servers may still read it)
        with pytest.raises(CatalogVersionError, match="critic db upgrade"):
            open_catalog(workspace)
        cli = [sys.executable, "-m", "critic.cli", "db"]
        status = subprocess.run([*cli, "status"], capture_output=True, text=True, check=True)
        assert "schema     7 (older: run `critic db upgrade`" in status.stdout
        done = subprocess.run([*cli, "upgrade"], capture_output=True, text=True, check=True)
        assert f"schema 7 → {SCHEMA_VERSION}" in done.stdout
    # SQLite upgrades itself on open (one user's file)
    assert open_catalog(workspace).experiments("lin")[0].status == "done"
    assert open_catalog(workspace).schema_version() == SCHEMA_VERSION


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # SQLite: test_concurrency
def test_eight_processes_importing_and_training_at_once_lose_nothing(workspace, database, tmp_path):
    files = [
        write_csv(tmp_path / f"{i}.csv", [(f"p{i} {t}", y) for t, y in sentiment_rows(60, seed=i)])
        for i in range(8)
    ]
    script = (
        "import sys\n"
        "from critic.data import import_dataset\n"
        "from critic.experiments.configure import build_config\n"
        "from critic.experiments.run import train_experiment\n"
        "v = import_dataset('same', sys.argv[1], progress=False).version\n"
        "train_experiment(build_config(v.ref, preset='linear'), name='lin-' + sys.argv[2])\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(f), str(i)], env=env)
        for i, f in enumerate(files)
    ]
    assert [p.wait(timeout=600) for p in procs] == [0] * 8
    catalog = open_catalog(workspace)
    versions = catalog.datasets("same")
    assert sorted(v.version for v in versions) == list(range(1, 9))
    assert len({v.fingerprint for v in versions}) == 8  # each process's own file, whole
    experiments = {e.name: e for e in catalog.experiments()}
    assert sorted(experiments) == [f"lin-{i}" for i in range(8)]
    assert all(e.status == "done" for e in experiments.values())
    assert sorted(e.dataset for e in experiments.values()) == sorted(v.ref for v in versions)


def test_a_workspace_moved_to_another_root_still_finds_every_file(workspace, tmp_path):
    from critic.data import import_dataset
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from critic.experiments.store import get_experiment
    from critic.predictor import Predictor

    ref = import_dataset(
        "t", write_csv(tmp_path / "t.csv", sentiment_rows(40)), progress=False
    ).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    moved = tmp_path / "elsewhere"
    shutil.move(workspace.root, moved)  # another node's mount point of the shared folder
    other = Workspace.at(moved)
    folder = get_experiment("lin", other).checkpoint("best")
    assert folder.is_relative_to(moved)
    assert Predictor.from_checkpoint(folder).predict(["a great film"])


def test_an_unreachable_database_is_one_line_without_the_password(workspace, monkeypatch):
    url = f"postgresql://critic:s3cret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(CatalogUnavailable, match="cannot reach the catalog database") as caught:
        Catalog(url)
    assert "s3cret" not in str(caught.value) and "critic:***@127.0.0.1" in str(caught.value)
    monkeypatch.setenv("CRITIC_DATABASE_URL", url)
    done = subprocess.run(
        [sys.executable, "-m", "critic.cli", "experiments", "list"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "s3cret" not in done.stderr


def test_catalog_urls_are_checked_and_shown_without_passwords():
    assert display_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert display_url("sqlite:////tmp/c.sqlite") == "sqlite:////tmp/c.sqlite"
    with pytest.raises(SettingsError, match="postgresql://user:password@host:port/database"):
        engine_for("mysql://h/db")


def test_processes_opening_a_new_catalog_at_once_create_it_once(database, tmp_path):
    """Each opener waits for the write lock, then finds the schema another one made (not its
    session's stale view of it), so no migration step runs twice."""
    import threading

    url = database or f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def open_it() -> None:
        start.wait()
        try:
            Catalog(url)
        except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and Catalog(url).schema_version() == SCHEMA_VERSION


def test_a_sqlite_catalog_where_a_file_blocks_its_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SettingsError, match="cannot make the catalog's folder"):
        Catalog(tmp_path / "file" / "catalog.sqlite")
