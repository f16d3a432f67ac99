"""Drill: names that become paths. Every operation that takes a dataset, experiment or deployment
name refuses unsafe ones with InvalidName, before touching the disk or the catalog."""

from __future__ import annotations

import pytest

from critic.data import SplitSettings, import_dataset, load_version, resplit
from critic.deploy import (
    create_deployment,
    delete_deployment,
    get_deployment,
    rotate_token,
    set_enabled,
)
from critic.errors import InvalidName
from critic.evaluate import evaluate
from critic.experiments.configure import build_config
from critic.experiments.run import resume_experiment, train_experiment
from critic.experiments.store import get_experiment
from tests.conftest import sentiment_rows, write_csv
from tests.drills.conftest import snapshot

pytestmark = pytest.mark.drill("names that become paths")

NAMES = [
    "../x",
    "..",
    ".",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "C:\\x",
    "",
    ".hidden",
    "x" * 65,
    "nul",
    "CON.txt",
    "com1",
    "a\x00b",
    "tab\tname",
    "new\nline",
    "a..b",
    " lead",
    "ｘ／y",
    "-dash",
]


@pytest.fixture
def home(workspace, tmp_path):
    ref = import_dataset(
        "t", write_csv(tmp_path / "t.csv", sentiment_rows(40)), progress=False
    ).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    create_deployment("lin", name="d")
    return tmp_path


OPERATIONS = {
    "import dataset": lambda n, tmp: import_dataset(
        n, write_csv(tmp / "x.csv", sentiment_rows(10)), progress=False
    ),
    "load dataset": lambda n, tmp: load_version(n),
    "resplit dataset": lambda n, tmp: resplit(n, SplitSettings(validation_fraction=0.5)),
    "train experiment": lambda n, tmp: train_experiment(build_config("t", preset="linear"), name=n),
    "show experiment": lambda n, tmp: get_experiment(n),
    "resume experiment": lambda n, tmp: resume_experiment(n),
    "evaluate experiment": lambda n, tmp: evaluate(n),
    "deploy experiment": lambda n, tmp: create_deployment(n, name="ok"),
    "name a deployment": lambda n, tmp: create_deployment("lin", name=n),
    "show deployment": lambda n, tmp: get_deployment(n),
    "disable deployment": lambda n, tmp: set_enabled(n, False),
    "rotate token": lambda n, tmp: rotate_token(n),
    "delete deployment": lambda n, tmp: delete_deployment(n),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_unsafe_names_are_refused_everywhere(home, workspace, operation, record_property):
    before = snapshot(workspace)
    for name in NAMES:
        with pytest.raises(InvalidName):
            OPERATIONS[operation](name, home)
        assert snapshot(workspace) == before, (operation, name)
    record_property("cases", len(NAMES))
    record_property("lost", 0)
