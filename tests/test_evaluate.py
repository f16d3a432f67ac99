import json
import random
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from critic.batch_predict import predict_file
from critic.data import SplitSettings, import_dataset
from critic.errors import SettingsError
from critic.evaluate import evaluate
from critic.experiments.compare import compare_experiments
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.metrics import classification_metrics
from critic.predictor import Predictor
from tests.conftest import sentiment_rows, write_csv

PNG = b"\x89PNG\r\n\x1a\n"


def test_known_predictions_give_known_metrics():
    # true:      n n n n p p p p p p      (4 negative, 6 positive)
    # predicted: n n n p p p p p n n      → TN 3, FP 1, TP 4, FN 2
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    p_pos = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7, 0.6, 0.9, 0.4, 0.3])
    m = classification_metrics(labels, np.stack([1 - p_pos, p_pos], 1), ["neg", "pos"])
    assert m["confusion_matrix"] == [[3, 1], [2, 4]] and m["accuracy"] == pytest.approx(0.7)
    assert m["per_class"]["pos"]["precision"] == pytest.approx(4 / 5) and m["per_class"]["pos"][
        "recall"
    ] == pytest.approx(4 / 6)
    assert m["per_class"]["neg"]["precision"] == pytest.approx(3 / 5) and m["per_class"]["neg"][
        "recall"
    ] == pytest.approx(3 / 4)
    assert m["per_class"]["pos"]["f1"] == pytest.approx(2 * 0.8 * (4 / 6) / (0.8 + 4 / 6))
    assert m["per_class"]["neg"]["incorrect"] == 1 and m["per_class"]["pos"]["incorrect"] == 2
    assert m["baseline_accuracy"] == pytest.approx(0.6) and m["baseline_class"] == "pos"
    assert m["loss"] == pytest.approx(-np.mean(np.log(np.where(labels == 1, p_pos, 1 - p_pos))))
    # confidence (top probability) per row: .9 .8 .7 .9 .8 .7 .6 .9 .6 .7; right: 1 1 1 0 1 1 1 1 0 0
    # 15 bins of width 1/15: .6 | .7 | .8 | .9 fall in four bins: (.6: 1 of 2 right) (.7: 2 of 3)
    # (.8: 2 of 2) (.9: 2 of 3)
    expected_ece = (
        2 * abs(0.5 - 0.6) + 3 * abs(2 / 3 - 0.7) + 2 * abs(1 - 0.8) + 3 * abs(2 / 3 - 0.9)
    ) / 10
    assert m["ece"] == pytest.approx(expected_ece)
    # ROC AUC = share of (positive, negative) pairs ranked right, ties half: 18 of 24
    assert m["roc_auc"] == pytest.approx(0.75)
    pairs = [(a, b) for a in p_pos[labels == 1] for b in p_pos[labels == 0]]
    assert m["roc_auc"] == pytest.approx(
        sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)
    )


def test_three_classes():
    labels = np.array([0, 1, 2, 2])
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    m = classification_metrics(labels, probs, ["a", "b", "c"])
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]] and "roc_auc" not in m
    assert m["per_class"]["c"]["recall"] == 0.5 and m["per_class"]["a"]["precision"] == 0.5
    assert m["macro_avg"]["recall"] == pytest.approx((1 + 1 + 0.5) / 3)


def _noisy_rows(n: int, flip: float = 0.15, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [
        (
            t,
            (
                {"positive": "negative", "negative": "positive"}[label]
                if rng.random() < flip
                else label
            ),
        )
        for t, label in sentiment_rows(n, seed=seed)
    ]


@pytest.fixture
def noisy_dataset(workspace, tmp_path) -> str:
    """120 rows with 15 % of labels flipped (so there are mistakes), train / validation / test."""
    return import_dataset(
        "noisy",
        write_csv(tmp_path / "noisy.csv", _noisy_rows(120)),
        split=SplitSettings(test_fraction=0.25),
        progress=False,
    ).version.ref


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def test_evaluation_files_agree_with_each_other(noisy_dataset):
    experiment = train_experiment(build_config(noisy_dataset, preset="linear"), name="lin")
    (ev,) = evaluate("lin", subset="test", progress=False)
    metrics = json.loads(ev.file("metrics.json").read_text())
    errors = pd.read_csv(ev.file("errors.csv"))
    n = metrics["n"]
    assert n == 30 and metrics["subset"] == "test" and metrics["epoch"] == 1
    # the independent recomputation: errors.csv + the subset size give every count in metrics.json
    assert len(errors) == metrics["incorrect"] > 0 and metrics["accuracy"] == pytest.approx(
        1 - len(errors) / n
    )
    for name, per in metrics["per_class"].items():
        assert (errors["true_label"] == name).sum() == per["incorrect"]
        assert per["support"] - per["incorrect"] == per["correct"]
    assert (errors["predicted_label"] != errors["true_label"]).all()
    assert list(errors["probability"]) == sorted(errors["probability"], reverse=True)
    # the same numbers as predicting the subset directly through the Predictor
    from critic.data import load_version

    test = load_version(noisy_dataset).subset("test", ["text", "label"])
    probs = Predictor.from_checkpoint(experiment.checkpoint("best")).predict_proba(
        test["text"].tolist()
    )
    assert metrics["accuracy"] == pytest.approx(
        float((np.array(["negative", "positive"])[probs.argmax(1)] == test["label"]).mean())
    )
    pngs = sorted(ev.folder.glob("*.png"))
    assert {p.name for p in pngs} == {
        "history.png",
        "confusion.png",
        "correct_incorrect.png",
        "reliability.png",
        "roc_pr.png",
    }
    assert all(p.read_bytes()[:8] == PNG for p in pngs)
    page = _Page()
    page.feed(ev.file("report.html").read_text())
    assert "table" in page.tags and len(page.images) == len(pngs)
    assert all(src.startswith("data:image/png;base64,") for src in page.images)


def test_best_and_last_checkpoints_are_evaluated_separately(noisy_dataset):
    config = build_config(
        noisy_dataset,
        preset="multi-hot-mlp",
        encoder={"max_words": 200},
        train={"epochs": 4, "batch_size": 8, "learning_rate": 0.01},
    )
    experiment = train_experiment(config, name="cnn")
    assert experiment.record.best_epoch != 4, (
        "this seed and setting overfit after the best epoch (precondition)"
    )
    best, last = (
        evaluate("cnn", checkpoint=c, subset="validation", progress=False)[0]
        for c in ("best", "last")
    )
    assert best.epoch == experiment.record.best_epoch and last.epoch == 4
    assert best.metrics["loss"] != last.metrics["loss"]
    assert (
        best.folder != last.folder
        and best.file("metrics.json").exists()
        and last.file("metrics.json").exists()
    )
    comparison = compare_experiments(["cnn"])
    assert {(e["checkpoint"], e["subset"]) for e in comparison.evaluations[0]} == {
        ("best", "validation"),
        ("last", "validation"),
    }


def test_a_missing_subset_is_a_clear_error(tiny_dataset):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    with pytest.raises(SettingsError, match="has no test subset.*--test-fraction"):
        evaluate("lin", subset="test", progress=False)
    with pytest.raises(SettingsError, match="subset must be one of"):
        evaluate("lin", subset="train", progress=False)
    (ev,) = evaluate("lin", subset="validation", progress=False)
    assert ev.metrics["n"] == 16


def test_predict_file_keeps_the_columns_and_adds_probabilities(tiny_dataset, tmp_path):
    experiment = train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    predictor = Predictor.from_checkpoint(experiment.checkpoint("best"))
    source = tmp_path / "new.csv"
    pd.DataFrame({"id": [1, 2, 3], "review": ["a wonderful, film", "", "dull"]}).to_csv(
        source, index=False
    )
    written = predict_file(predictor, source, progress=False)
    out = pd.read_csv(written.path)
    assert (
        written.rows == 3
        and written.empty == 1
        and list(out.columns) == ["id", "review", "predicted_label", "p_negative", "p_positive"]
    )
    assert np.allclose(out[["p_negative", "p_positive"]].sum(axis=1), 1, atol=1e-5)
    assert out["predicted_label"][0] == "positive" and out["predicted_label"][2] == "negative"


def test_a_checkpoint_is_evaluated_on_another_dataset_with_the_same_classes(workspace, tmp_path):
    own = import_dataset(
        "own",
        write_csv(tmp_path / "own.csv", sentiment_rows(120, seed=1)),
        progress=False,
        split=SplitSettings(test_fraction=0.2),
    ).version.ref
    other = import_dataset(
        "other",
        write_csv(tmp_path / "other.csv", sentiment_rows(60, seed=2)),
        progress=False,
        split=SplitSettings(test_fraction=0.5),
    ).version.ref
    three = import_dataset(
        "three",
        write_csv(tmp_path / "three.csv", sentiment_rows(60, classes=3)),
        progress=False,
        split=SplitSettings(test_fraction=0.5),
    ).version.ref
    train_experiment(build_config(own, preset="linear"), name="lin")
    (mine,) = evaluate("lin", subset="test", progress=False)
    (theirs,) = evaluate("lin", subset="test", dataset="other", progress=False)
    assert mine.own_dataset and not theirs.own_dataset and theirs.dataset == other
    assert theirs.folder.parts[-3:] == ("best", "other-v1", "test") and mine.folder.parts[-2:] == (
        "best",
        "test",
    )
    assert (
        theirs.metrics["n"] == 30
        and json.loads(theirs.file("metrics.json").read_text())["dataset"] == other
    )
    from critic.catalog import open_catalog

    recorded = {(e["dataset"], e["subset"]) for e in open_catalog(workspace).evaluations("lin")}
    assert recorded == {(own, "test"), (other, "test")}
    with pytest.raises(
        SettingsError, match=r"three@1 has the classes \['negative', 'neutral', 'positive'\]"
    ):
        evaluate("lin", dataset=three, progress=False)


def test_evaluations_recorded_before_the_dataset_key_keep_their_dataset(tmp_path):
    import sqlite3

    from critic.catalog import Catalog
    from critic.catalog.schema import MIGRATIONS

    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:7]:  # a catalog as it was before evaluations had a dataset
        conn.executescript(step)
    conn.execute("PRAGMA user_version=7")
    conn.execute(
        "INSERT INTO experiments (name, dataset, model, status, created, updated, path, config)"
        " VALUES ('lin', 'imdb@1', 'linear.v1', 'done', 't', 't', 'experiments/lin', '{}')"
    )
    conn.execute(
        "INSERT INTO evaluations VALUES ('lin', 'best', 'test', 1, 't', '{\"accuracy\": 0.9}', 'p')"
    )
    conn.commit()
    conn.close()
    (row,) = Catalog(path).evaluations("lin")
    assert (row["dataset"], row["subset"], row["accuracy"]) == ("imdb@1", "test", 0.9)
