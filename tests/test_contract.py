"""The contract every model keeps: builds, trains an epoch on a few dozen reviews, saves, reloads,
and predicts the same probabilities; plus the overfit-ten-reviews check."""

from dataclasses import replace

import numpy as np
import pytest

from critic.config import ExperimentConfig
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.models.ensemble import EnsembleSettings
from critic.predictor import Predictor
from critic.presets import preset_names
from tests.conftest import sentiment_rows, write_csv

BLOCKS_TOML = """
[encoder]
kind = "words"
max_words = 200
sequence_length = 40

[model]
init = "keras"

[[model.blocks]]
type = "Embedding"
dim = 16

[[model.blocks]]
id = "bi"
type = "LSTM"
units = 8
bidirectional = true
return_sequences = true

[[model.blocks]]
id = "conv"
type = "Conv1D"
filters = 8
kernel = 3
inputs = ["embedding"]

[[model.blocks]]
type = "GlobalMaxPool1D"
id = "pool_conv"

[[model.blocks]]
type = "GlobalMaxPool1D"
id = "pool_bi"
inputs = ["bi"]

[[model.blocks]]
type = "Concatenate"
inputs = ["pool_conv", "pool_bi"]

[[model.blocks]]
type = "Output"

[train]
epochs = 1
batch_size = 8
"""

TEXTS = [
    "a great film",
    "dull and boring",
    "",
    "zzz unseen words only",
    "<br /><br />",
    "loved it " * 100,
]


def _small(config: ExperimentConfig) -> ExperimentConfig:
    if isinstance(config.model, EnsembleSettings):  # MiniLM's member is the real model: a small one
        return replace(config, model=EnsembleSettings(members=("linear", "multi-hot-mlp")))
    if config.encoder is None:  # linear: nothing to shrink
        return config
    enc = config.encoder
    if enc.kind != "wordpiece":
        enc = replace(enc, max_words=200)
    if enc.kind in ("words", "wordpiece"):
        enc = replace(enc, sequence_length=40)
    return replace(
        config, encoder=enc, train=replace(config.train, epochs=1, batch_size=8, min_steps=0)
    )


PRETRAINED = {
    "bert",
    "bert-recipe",
    "minilm",
}  # these run on the tiny random BERT made by the `tiny_bert` fixture


@pytest.mark.parametrize("model", [*preset_names(), "blocks.toml"])
def test_train_save_reload_predict(model, tiny_dataset, tmp_path, tiny_bert):
    if model == "blocks.toml":
        (tmp_path / "blocks.toml").write_text(BLOCKS_TOML)
        config = build_config(tiny_dataset, config_file=tmp_path / "blocks.toml")
    else:
        config = _small(
            build_config(
                tiny_dataset, preset=model, pretrained=tiny_bert if model in PRETRAINED else None
            )
        )
    experiment = train_experiment(config)
    assert experiment.record.status == "done" and experiment.record.epochs_done == 1
    for which in ("best", "last"):
        folder = experiment.checkpoint(which)
        files = {p.name for p in folder.iterdir()}
        assert {"model.safetensors", "model.json", "classes.json", "manifest.json"} <= files
        assert files - {"model.safetensors", "model.json", "classes.json", "manifest.json"} in (
            {"encoder", "validation.safetensors"},  # the epoch's validation probabilities
            {"vocabulary.json"},
            {"members"},  # an ensemble: each member's own checkpoint inside
        )
        assert not any(p.suffix in (".pt", ".pkl", ".bin") for p in folder.rglob("*"))
    predictor = Predictor.from_checkpoint(experiment.checkpoint("best"))
    probs = predictor.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    again = Predictor.from_checkpoint(experiment.checkpoint("best")).predict_proba(TEXTS)
    np.testing.assert_array_equal(probs, again)
    # a different batch size (and so other padding) must not change a prediction
    np.testing.assert_allclose(predictor.predict_proba(TEXTS, batch_size=1), probs, atol=1e-5)


@pytest.mark.parametrize("preset", ["kim-cnn", "multi-hot-mlp"])
def test_overfits_ten_reviews(preset, workspace, tmp_path):
    from critic.data import SplitSettings, import_dataset

    path = write_csv(tmp_path / "ten.csv", sentiment_rows(10) + sentiment_rows(4, seed=9))
    import_dataset("ten", path, split=SplitSettings(validation_fraction=0.3), progress=False)
    config = _small(build_config("ten", preset=preset, train={"learning_rate": 0.01}))
    config = replace(config, train=replace(config.train, epochs=30, batch_size=10, min_steps=0))
    experiment = train_experiment(config)
    last = experiment.record.epochs[-1]
    assert last["train_accuracy"] == 1.0


def test_three_classes_give_three_probabilities(workspace, tmp_path):
    from critic.data import import_dataset

    import_dataset(
        "three", write_csv(tmp_path / "3.csv", sentiment_rows(90, classes=3)), progress=False
    )
    experiment = train_experiment(_small(build_config("three", preset="kim-cnn")))
    predictor = Predictor.from_checkpoint(experiment.checkpoint("last"))
    assert predictor.classes == ["negative", "neutral", "positive"]
    (result,) = predictor.predict(["an okay film"])
    assert set(result["probabilities"]) == {"negative", "neutral", "positive"}
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-5
