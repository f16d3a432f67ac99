"""k-fold cross-validation: the folds (disjoint, covering, stratified, seeded), each a real
experiment in the catalog scored on its held-out rows, the source's test subset untouched, the
summary's numbers, the refusals, and `critic cv`."""

import json
import statistics

import numpy as np
import pandas as pd
import pytest

from critic.catalog import open_catalog
from critic.data import import_dataset, list_versions, load_version
from critic.errors import DatasetNotFound, InvalidName, SettingsError
from critic.experiments.cv import CVSettings, assign_folds, cross_validate, load_cv
from critic.experiments.store import get_experiment
from critic.jobs.commands import check_command, kind_of, target_of
from tests.conftest import sentiment_rows
from tests.test_cli import run


@pytest.fixture
def with_test(workspace, tmp_path) -> str:
    """`reviews@1`: 60 train rows of three classes (20 each) and 12 rows of the source's own test."""
    rows = [(t, label, "train") for t, label in sentiment_rows(60, classes=3)]
    rows += [(t, label, "test") for t, label in sentiment_rows(12, classes=3, seed=1)]
    path = tmp_path / "reviews.csv"
    pd.DataFrame(rows, columns=["text", "label", "subset"]).to_csv(path, index=False)
    return import_dataset("reviews", path, subset_column="subset", progress=False).version.ref


def test_folds_are_disjoint_cover_every_row_stratified_and_seeded():
    labels = pd.Series(["a"] * 30 + ["b"] * 20 + ["c"] * 7)
    fold_of = assign_folds(labels, 5, seed=3)
    assert sorted(set(fold_of)) == [1, 2, 3, 4, 5]  # one fold per row: disjoint and covering
    per_fold = pd.crosstab(fold_of, labels)
    assert (per_fold.max() - per_fold.min()).max() <= 1  # every class spread evenly
    assert per_fold.sum().to_dict() == {"a": 30, "b": 20, "c": 7}
    assert np.array_equal(fold_of, assign_folds(labels, 5, seed=3))
    assert not np.array_equal(fold_of, assign_folds(labels, 5, seed=4))


def test_each_fold_is_an_experiment_scored_on_its_held_out_rows(workspace, with_test):
    events = []
    result = cross_validate(
        with_test, preset="linear", settings=CVSettings(folds=3, seed=7), log=events.append
    )
    source = load_version(with_test)
    pool = source.frame()
    pool, test = pool[pool["subset"] != "test"], pool[pool["subset"] == "test"]
    held_out = []
    catalog = open_catalog(workspace)
    for f in result.folds:
        version = load_version(f.dataset)
        frame = version.frame()
        assert set(frame["origin"]) == set(pool["origin"])  # every pool row, and no test row
        assert not set(frame["origin"]) & set(test["origin"])
        assert f.rows == {"train": 36, "validation": 4, "test": 20}
        counts = frame.loc[frame["subset"] == "test", "label"].value_counts()
        assert len(counts) == 3 and counts.max() - counts.min() <= 1  # stratified
        held_out.append(set(frame.loc[frame["subset"] == "test", "origin"]))
        experiment = get_experiment(f.experiment)
        assert experiment.status == "done" and experiment.record.dataset == f.dataset
        (evaluation,) = catalog.evaluations(f.experiment)
        assert evaluation["subset"] == "test" and evaluation["accuracy"] == f.accuracy
    assert [f.experiment for f in result.folds] == [f"cv-{result.name}-f{i}" for i in (1, 2, 3)]
    assert set.union(*held_out) == set(pool["origin"]) and sum(map(len, held_out)) == len(pool)
    assert [v.ref for v in list_versions(name="reviews")] == [with_test]  # the source is untouched
    assert [e["event"] for e in events if e["event"].startswith("fold")] == [
        "fold_start",
        "fold_end",
    ] * 3
    saved = load_cv(result.name)
    accuracies = [f.accuracy for f in result.folds]
    assert saved["status"] == "done" and saved["settings"] == {
        "folds": 3,
        "seed": 7,
        "validation_fraction": 0.1,
    }
    assert saved["summary"]["accuracy"] == {
        "mean": pytest.approx(statistics.fmean(accuracies)),
        "std": pytest.approx(statistics.pstdev(accuracies)),
    }
    assert (
        saved["config"]["dataset"] == with_test and saved["folds"][0] == result.folds[0].as_dict()
    )
    assert (result.folder / "folds.png").stat().st_size > 1000


def test_the_same_seed_gives_the_same_folds_and_numbers(workspace, tiny_dataset):
    first, second = (
        cross_validate(tiny_dataset, preset="linear", settings=CVSettings(folds=2), name=n)
        for n in ("one", "two")
    )
    assert [f.rows for f in first.folds] == [f.rows for f in second.folds]
    for a, b in zip(first.folds, second.folds, strict=True):  # the linear model's fits are in turn
        assert (a.accuracy, a.loss) == (b.accuracy, b.loss)
    for a, b in zip(first.folds, second.folds, strict=True):
        assert (
            load_version(a.dataset).record.fingerprint == load_version(b.dataset).record.fingerprint
        )


def test_refusals_are_clear(workspace, tiny_dataset, tmp_path):
    with pytest.raises(SettingsError, match="--folds must be 2 or more"):
        CVSettings(folds=1)
    with pytest.raises(SettingsError, match="--folds 50 needs 50 or more rows of every class"):
        cross_validate(tiny_dataset, preset="linear", settings=CVSettings(folds=50))
    with pytest.raises(DatasetNotFound, match="no dataset 'nope'"):
        cross_validate("nope", preset="linear")
    path = tmp_path / "one.csv"
    path.write_text("text,label\n" + "".join(f"review {i},good\n" for i in range(10)))
    import_dataset("one", path, progress=False)
    with pytest.raises(SettingsError, match="two or more classes"):
        cross_validate("one", preset="linear", settings=CVSettings(folds=2))
    cross_validate(tiny_dataset, preset="linear", settings=CVSettings(folds=2), name="mine")
    with pytest.raises(SettingsError, match="a cross-validation named 'mine' exists"):
        cross_validate(tiny_dataset, preset="linear", settings=CVSettings(folds=2), name="mine")
    assert not (
        workspace.root / "cv" / "tiny-linear-1"
    ).exists()  # refused before anything was made


def test_the_cv_command(workspace, monkeypatch, capsys, tiny_dataset):
    code, out, err = run(
        monkeypatch, capsys, "cv", "-d", "tiny", "-p", "linear", "--folds", "2", "-q"
    )
    assert code == 0, err
    assert "fold 1/2: training cv-tiny-linear-1-f1" in out and "fold 2/2: accuracy" in out
    assert "2-fold cross-validation tiny-linear-1 · tiny@1" in out and "± std" in out
    assert "cv-tiny-linear-1-f2" in out and "critic experiments compare cv-tiny-linear-1-f1" in out
    saved = json.loads((workspace.root / "cv" / "tiny-linear-1" / "cv.json").read_text())
    assert f"{saved['summary']['accuracy']['mean']:.2%}" in out
    code, out, err = run(monkeypatch, capsys, "cv", "-d", "tiny", "-p", "linear", "--folds", "1")
    assert code == 2 and err.strip() == "error: --folds must be 2 or more, got 1"
    code, out, err = run(monkeypatch, capsys, "cv", "-d", "tiny", "-p", "linear", "--epochs", "2")
    assert code == 2 and "does not use epochs" in err and len(err.strip().splitlines()) == 1


def test_cv_is_a_job_kind():
    argv = ["cv", "--dataset", "tiny@1", "--preset", "linear", "--name", "cv-1"]
    assert kind_of(argv) == "cv" and check_command("cv", argv) == tuple(argv)
    assert target_of("cv", argv) == "cv-1"
    with pytest.raises(InvalidName, match="invalid experiment name"):
        check_command("cv", ["cv", "--dataset", "tiny", "--name", "../x"])


def test_a_failed_fold_leaves_the_folds_done_in_cv_json(workspace, tiny_dataset, monkeypatch):
    import critic.experiments.cv as cv

    calls = []

    def evaluate_once(name, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(name, **kwargs)

    real = cv.evaluate
    monkeypatch.setattr(cv, "evaluate", evaluate_once)
    with pytest.raises(RuntimeError, match="disk full"):
        cross_validate(tiny_dataset, preset="linear", settings=CVSettings(folds=3), name="half")
    saved = load_cv("half")
    assert saved["status"] == "failed" and saved["error"] == "RuntimeError: disk full"
    assert [f["experiment"] for f in saved["folds"]] == ["cv-half-f1"]
