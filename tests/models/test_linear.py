import numpy as np
import pytest

from critic.errors import SettingsError
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.models.linear import LinearSettings, NBLinear
from critic.predictor import Predictor
from tests.conftest import sentiment_rows


def _fit(rows, classes, **settings):
    texts = [t for t, _ in rows]
    y = np.array([classes.index(label) for _, label in rows])
    return (
        NBLinear(LinearSettings(**settings)).fit(
            texts[:-20], y[:-20], len(classes), val_texts=texts[-20:], val_labels=y[-20:]
        ),
        texts,
        y,
    )


def test_a_word_that_always_means_positive_decides():
    model, _, _ = _fit(sentiment_rows(120), ["negative", "positive"])
    probs = model.predict_proba(["the movie was wonderful", "the movie was dull", "the movie was"])
    assert (
        probs[0].argmax() == 1
        and probs[1].argmax() == 0
        and probs[0, 1] > 0.65
        and probs[1, 0] > 0.65
    )
    assert abs(probs[2, 0] - 0.5) < abs(probs[0, 0] - 0.5)  # no cue word: less sure than with one
    assert model.C_ in (0.1, 0.3, 1.0)


def test_three_classes_three_probabilities():
    classes = ["negative", "neutral", "positive"]
    model, texts, y = _fit(sentiment_rows(150, classes=3), classes)
    probs = model.predict_proba(texts[-20:])
    assert probs.shape == (20, 3) and np.allclose(probs.sum(1), 1, atol=1e-6)
    assert (probs.argmax(1) == y[-20:]).mean() == 1.0


def test_save_load_identical_and_odd_texts(tmp_path):
    model, texts, _ = _fit(
        sentiment_rows(80), ["negative", "positive"], ngram_max=3, counts="sublinear"
    )
    model.save(tmp_path / "m")
    again = NBLinear.load(tmp_path / "m")
    odd = ["", "<br /><br />", "zzz qqq never seen", "!!!"] + texts[:5]
    np.testing.assert_array_equal(model.predict_proba(odd), again.predict_proba(odd))
    assert np.allclose(again.predict_proba(odd[:4]).sum(1), 1)


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"ngram_max": 0}, "n-gram range"),
        ({"counts": "tfidf"}, "counts"),
        ({"C": [0.0]}, "C must"),
        ({"beta": 2.0}, "beta"),
        ({"class_weight": "heavy"}, "class_weight"),
    ],
)
def test_settings_are_validated(settings, message):
    with pytest.raises(SettingsError, match=message):
        LinearSettings(**settings)
    with pytest.raises(SettingsError, match="unknown linear setting"):
        LinearSettings.from_dict({"ngrams": 2})


def test_linear_experiment_is_one_epoch_and_predicts_through_the_predictor(tiny_dataset, tmp_path):
    experiment = train_experiment(build_config(tiny_dataset, preset="linear"))
    assert experiment.record.epochs_done == 1 and experiment.record.best_epoch == 1
    folder = experiment.checkpoint("best")
    assert {p.name for p in folder.iterdir()} == {
        "model.safetensors",
        "model.json",
        "vocabulary.json",
        "classes.json",
        "manifest.json",
    }
    predictor = Predictor.from_checkpoint(folder)
    (result,) = predictor.predict(["a wonderful film"])
    assert result["label"] == "positive" and set(result["probabilities"]) == {
        "negative",
        "positive",
    }
    config = tmp_path / "trigrams.toml"
    config.write_text('[model]\nkind = "linear"\nngram_max = 3\nC = [1.0]\n')
    tri = train_experiment(build_config(tiny_dataset, preset="linear", config_file=config))
    assert tri.record.config["model"]["ngram_max"] == 3
    with pytest.raises(SettingsError, match="takes no encoder"):
        build_config(tiny_dataset, preset="linear", encoder={"max_words": 10})


def test_the_same_seed_gives_the_same_weights_to_the_last_bit():
    # liblinear draws from one random generator per process: fits that ran in parallel threads
    # interleaved their draws and differed by ~1e-6 from run to run
    rows = sentiment_rows(400, classes=3)
    fits = [
        _fit(rows, ["negative", "positive", "neutral"], C=(0.1, 1.0, 10.0))[0] for _ in range(3)
    ]
    for other in fits[1:]:
        assert np.array_equal(fits[0].weights_, other.weights_)
        assert np.array_equal(fits[0].biases_, other.biases_)
