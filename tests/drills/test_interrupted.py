"""Drill: work killed with SIGKILL half-way. An import killed at any moment leaves no half-written
version visible and the next import works; a process killed in the middle of catalog writes leaves a
catalog that passes SQLite's integrity check and reads back whole. (Downloads cut half-way and a
training run killed mid-epoch are drilled in tests/data/test_download.py and tests/test_experiment.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from critic.data import import_dataset, list_versions
from critic.deploy import create_deployment, list_deployments
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from tests.conftest import sentiment_rows, write_csv
from tests.drills.conftest import integrity

pytestmark = pytest.mark.drill("interrupted work")

IMPORT = "import sys; from critic.data import import_dataset; import_dataset('big', sys.argv[1], progress=False)"
CATALOG_WRITES = """
from critic.deploy import rotate_token, set_enabled
i = 0
while True:  # killed from outside
    set_enabled("d", i % 2 == 0)
    rotate_token("d")
    i += 1
    if i == 5:
        print("writing", flush=True)
"""


def _run_and_kill(code: str, args: list[str], env: dict, after: float) -> bool:
    """Start `python -c code args`, SIGKILL it `after` seconds later; True if it was still running."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + after
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return alive


def _kill_while_writing(env: dict, after: float) -> bool:
    """SIGKILL the catalog writer `after` seconds after its 5th round of writes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CATALOG_WRITES], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "writing\n"
    time.sleep(after)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return alive


def test_an_import_killed_at_any_moment_leaves_no_partial_version(
    workspace, tmp_path, record_property
):
    source = write_csv(tmp_path / "big.csv", sentiment_rows(60_000))
    env = {**os.environ, "CRITIC_HOME": str(workspace.root)}
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", IMPORT, str(source)], env=env, check=True)
    whole = time.monotonic() - start  # python start-up, read, split, write, catalog
    (reference,) = list_versions()
    kills = 0
    for fraction in (0.2, 0.4, 0.6, 0.75, 0.85, 0.9, 0.95):
        source.write_text(
            source.read_text() + f"another review {fraction},positive\n"
        )  # new content, a new version
        kills += _run_and_kill(IMPORT, [str(source)], env, whole * fraction)
        assert integrity(workspace.catalog_path) == "ok"
        for version in list_versions():  # whatever the catalog lists is whole
            assert len(version.frame()) == version.manifest["rows"]["total"]
    assert kills >= 3, "the import finished before most kills: make the file bigger"
    visible = [v.ref for v in list_versions()]
    latest = import_dataset("big", source, progress=False).version
    assert latest.ref not in visible[:-1] and len(latest.frame()) == 60_000 + 7
    assert len(reference.frame()) == 60_000
    record_property("cases", kills)
    record_property("lost", 0)


def test_catalog_writes_killed_leave_a_readable_catalog(workspace, tmp_path, record_property):
    ref = import_dataset(
        "t", write_csv(tmp_path / "t.csv", sentiment_rows(40)), progress=False
    ).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    create_deployment("lin", name="d")
    env = {**os.environ, "CRITIC_HOME": str(workspace.root)}
    for after in (0.0, 0.05, 0.1, 0.15, 0.2):
        assert _kill_while_writing(env, after)
        assert integrity(workspace.catalog_path) == "ok"
        (record,) = list_deployments()
        assert record.name == "d" and len(record.token_hash) == 64 and record.experiment == "lin"
    record_property("cases", 5)
    record_property("lost", 0)
