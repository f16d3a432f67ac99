"""critic.evaluations: saved evaluations found again (listed from the catalog, loaded, their errors
filtered, sorted and paged, re-read when the file changes) and what may be evaluated (the same-
classes rule, the checks `evaluate` makes before it predicts)."""

from __future__ import annotations

import random
import shutil

import pandas as pd
import pytest

from critic.errors import (
    DatasetNotFound,
    EvaluationNotFound,
    ExperimentNotFound,
    InvalidName,
    SettingsError,
)
from critic.evaluations import (
    MAX_PAGE_SIZE,
    check_evaluable,
    evaluable_versions,
    list_evaluations,
    load_evaluation,
    read_errors,
    same_classes,
)
from tests.conftest import sentiment_rows, write_csv


def _int_labelled(n: int, seed: int) -> list[tuple[str, str]]:
    """Labels 0 / 1 (read back as text, never as numbers), a fifth of them flipped."""
    rng = random.Random(seed)
    rows = []
    for text, label in sentiment_rows(n, seed=seed):
        value = int(label == "positive")
        rows.append((text, str(1 - value if rng.random() < 0.2 else value)))
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from critic.data import SplitSettings, import_dataset
    from critic.evaluate import evaluate
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    root = tmp_path_factory.mktemp("evaluations") / "home"
    src = root.parent
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRITIC_HOME", str(root))
        split = SplitSettings(test_fraction=0.3)
        import_dataset(
            "ints", write_csv(src / "a.csv", _int_labelled(200, 1)), split=split, progress=False
        )
        import_dataset(
            "more", write_csv(src / "b.csv", _int_labelled(60, 2)), split=split, progress=False
        )
        three = write_csv(src / "c.csv", sentiment_rows(60, classes=3))
        import_dataset("three", three, split=split, progress=False)
        import_dataset("notest", write_csv(src / "d.csv", _int_labelled(40, 3)), progress=False)
        train_experiment(build_config("ints@1", preset="linear"), name="lin")
        evaluate("lin", subset="all", progress=False)
    return root


@pytest.fixture
def ws(trained, workspace):
    shutil.copytree(trained, workspace.root, dirs_exist_ok=True)
    return workspace


def test_same_classes_is_the_same_set():
    assert same_classes(["a", "b"], ["b", "a"])
    assert not same_classes(["a", "b"], ["a", "b", "c"]) and not same_classes(["a"], ["a", "b"])


def test_evaluations_are_listed_and_loaded(ws):
    listed = list_evaluations(ws)
    assert {(e.experiment, e.checkpoint, e.dataset, e.subset) for e in listed} == {
        ("lin", "best", "ints@1", "validation"),
        ("lin", "best", "ints@1", "test"),
    }
    test = load_evaluation("lin", "best", "ints@1", "test", ws)
    assert test.summary["accuracy"] == test.metrics()["accuracy"] and test.folder.is_dir()
    assert list(test.metrics()["per_class"]) == ["0", "1"]
    with pytest.raises(EvaluationNotFound, match="critic evaluate lin --checkpoint last"):
        load_evaluation("lin", "last", "ints@1", "test", ws)
    with pytest.raises(ExperimentNotFound):
        load_evaluation("nobody", "best", "ints@1", "test", ws)
    with pytest.raises(SettingsError, match="no checkpoint 'worst'"):
        load_evaluation("lin", "worst", "ints@1", "test", ws)
    with pytest.raises(InvalidName):
        load_evaluation("lin", "best", "../x", "test", ws)


def test_errors_are_filtered_sorted_and_paged(ws):
    ev = load_evaluation("lin", "best", "ints@1", "test", ws)
    whole = pd.read_csv(ev.file("errors.csv"), dtype=str, keep_default_na=False)
    every = read_errors(ev, size=MAX_PAGE_SIZE)
    assert every.total == every.of == len(whole) == ev.metrics()["incorrect"] > 2
    assert [r["true_label"] for r in every.rows] == list(whole["true_label"])  # text, not 0 / 1
    for true in ("0", "1"):
        found = read_errors(ev, true=true, size=MAX_PAGE_SIZE)
        assert found.total == ev.metrics()["per_class"][true]["incorrect"]
        assert {r["true_label"] for r in found.rows} <= {true}
        assert {r["predicted_label"] for r in found.rows} <= {str(1 - int(true))}
    both = read_errors(ev, true="0", predicted="1", size=MAX_PAGE_SIZE)
    assert both.total == ev.metrics()["confusion_matrix"][0][1]
    rising = read_errors(ev, order="asc", size=MAX_PAGE_SIZE).rows
    assert [r["probability"] for r in rising] == sorted(r["probability"] for r in every.rows)
    pages = [read_errors(ev, page=p, size=2) for p in (1, 2)]
    assert pages[0].pages == -(-every.total // 2)
    assert [r["row"] for p in pages for r in p.rows] == [r["row"] for r in every.rows[:4]]
    assert read_errors(ev, page=999).rows == []
    word = every.rows[0]["text"].split()[0]
    found = read_errors(ev, query=word.upper(), size=MAX_PAGE_SIZE)
    assert found.total >= 1 and all(word.lower() in r["text"].lower() for r in found.rows)
    assert read_errors(ev, query="(unbalanced[ regex").total == 0  # a search is plain text


@pytest.mark.parametrize(
    "options,words",
    [
        ({"size": MAX_PAGE_SIZE + 1}, "1 to 100 rows"),
        ({"size": 0}, "1 to 100 rows"),
        ({"page": 0}, "numbered from 1"),
        ({"true": "2"}, "no class '2'"),
        ({"predicted": "x"}, "no class 'x'"),
        ({"order": "up"}, "no order 'up'"),
        ({"query": "x" * 201}, "at most 200 characters"),
    ],
)
def test_errors_refuse_what_they_cannot_show(ws, options, words):
    ev = load_evaluation("lin", "best", "ints@1", "test", ws)
    with pytest.raises(SettingsError, match=words):
        read_errors(ev, **options)


def test_a_rewritten_errors_file_is_read_again(ws):
    ev = load_evaluation("lin", "best", "ints@1", "test", ws)
    before = read_errors(ev).total
    path = ev.file("errors.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.iloc[:1].to_csv(path, index=False)
    assert before > 1 and read_errors(ev).total == 1


def test_versions_with_the_same_classes_are_offered(ws):
    matching, others = evaluable_versions("lin", ws)
    assert [v.ref for v in matching] == ["ints@1", "more@1", "notest@1"]  # its own first
    assert [v.ref for v in others] == ["three@1"]


def test_check_evaluable_says_what_evaluate_would_refuse(ws):
    plan = check_evaluable("lin", subset="all", dataset="more@1", workspace=ws)
    assert plan.version.ref == "more@1" and plan.subsets == ["validation", "test"]
    assert plan.classes == ["0", "1"] and plan.checkpoint.name == "best"
    assert check_evaluable("lin", workspace=ws).version.ref == "ints@1"
    with pytest.raises(SettingsError, match=r"three@1 has the classes .* same classes"):
        check_evaluable("lin", dataset="three@1", workspace=ws)
    with pytest.raises(SettingsError, match="notest@1 has no test subset.*--test-fraction"):
        check_evaluable("lin", dataset="notest", workspace=ws)
    with pytest.raises(SettingsError, match="no subset 'train'"):
        check_evaluable("lin", subset="train", workspace=ws)
    with pytest.raises(SettingsError, match="checkpoint must be 'best' or 'last'"):
        check_evaluable("lin", checkpoint="worst", workspace=ws)
    with pytest.raises(DatasetNotFound):
        check_evaluable("lin", dataset="nothing", workspace=ws)
