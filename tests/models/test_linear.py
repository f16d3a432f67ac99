import numpy as np
import pytest

from critic.errors import SettingsError
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.models.linear import LADDER, LinearSettings, NBLinear
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
    _chosen_inside_what_was_tried(model)


def _chosen_inside_what_was_tried(model: NBLinear) -> None:
    """C = "auto": both ladder neighbours of the chosen C were fitted, for the chosen min_df."""
    tried = {t.C for t in model.trials_ if t.min_df == model.min_df_}
    i = LADDER.index(model.C_)
    assert {LADDER[i - 1], LADDER[i + 1]} <= tried


def _restricted(texts, min_df):
    from critic.text.ngrams import NgramSettings, NgramVectorizer

    counted = NgramVectorizer(NgramSettings(1, 3, min_df=1))
    return counted.restricted(min_df, counted.fit_transform(texts))[0]


@pytest.mark.parametrize("peak", [0.003, 0.03, 0.3, 1.0, 30.0])
def test_auto_C_walks_the_ladder_to_a_peak_and_past_it(peak):
    """Validation accuracy peaking at `peak`: the search starts at (0.3, 1), walks toward the
    peak, and stops once both of its neighbours were tried; nothing far beyond is fitted."""
    from critic.models.linear import Trial

    model = NBLinear(LinearSettings())
    fitted = []

    def trial(min_df, C):
        fitted.append(C)
        found = Trial(min_df, C, 0.9 - 0.01 * abs(np.log10(C / peak)), 0.3, np.zeros(1), 0)
        model.trials_.append(found)
        return found

    best = model._search_C(2, (0.3, 1.0), trial, auto=True)
    i = LADDER.index(peak)
    assert best.C == peak and fitted[:2] == [0.3, 1.0]
    assert {LADDER[i - 1], LADDER[i + 1]} <= set(fitted)
    assert max(fitted) <= max(1.0, LADDER[i + 1]) and min(fitted) >= min(0.3, LADDER[i - 1])


def test_min_df_is_chosen_on_validation_and_kept_with_the_model(tmp_path):
    model, texts, y = _fit(sentiment_rows(120), ["negative", "positive"])
    assert {t.min_df for t in model.trials_} == {1, 2} and model.min_df_ in (1, 2)
    for min_df in (1, 2):  # each candidate's columns are those of a fit with that min_df alone
        alone = NBLinear(LinearSettings(min_df=min_df, C=model.C_)).fit(texts[:-20], y[:-20], 2)
        assert alone.min_df_ == min_df and alone.trials_ == []  # no validation: no search
        assert sorted(alone.vectorizer_.feature_names()) == sorted(
            _restricted(texts[:-20], min_df).feature_names()
        )
    assert model.vectorizer_.settings.min_df == model.min_df_
    model.save(tmp_path / "m")
    again = NBLinear.load(tmp_path / "m")
    assert (again.min_df_, again.C_) == (model.min_df_, model.C_)
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))


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
