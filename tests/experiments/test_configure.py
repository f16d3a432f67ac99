"""Configuration: settings a model does not read are refused, and a model is assembled from a
preset or a config file without a dataset."""

import pytest

from critic.errors import GraphError, MissingModel, SettingsError
from critic.experiments.configure import assemble_config, build_config, model_config, resolve_config
from critic.models.graph import GraphSpec
from critic.models.linear import LinearSettings


@pytest.mark.parametrize(
    "train",
    [
        {"epochs": 3},
        {"learning_rate": 0.1},
        {"batch_size": 8},
        {"seed": 1},
        {"optimizer": "sgd"},
        {"class_weight": "balanced"},
        {"device": "cpu"},
    ],
)
def test_the_linear_model_refuses_neural_train_settings(train):
    (key,) = train
    with pytest.raises(
        SettingsError, match=rf"does not use {key} \(--{key.replace('_', '-')}\).*\[model\]"
    ):
        build_config("d", preset="linear", train=train)


def test_the_linear_model_refuses_a_config_files_train_table(tmp_path):
    config = tmp_path / "linear.toml"
    config.write_text(
        '[model]\nkind = "linear"\nC = [1.0]\n\n[train]\nepochs = 4\nbatch_size = 16\n'
    )
    with pytest.raises(SettingsError, match=r"\[train\] epochs, \[train\] batch_size.*seed"):
        build_config("d", config_file=config)


def test_the_linear_model_keeps_what_it_reads(tmp_path):
    config = build_config("d", preset="linear", train={"checkpoint_metric": "val_accuracy"})
    assert (
        isinstance(config.model, LinearSettings)
        and config.train.checkpoint_metric == "val_accuracy"
    )
    seeded = tmp_path / "seeded.toml"
    seeded.write_text('[model]\nkind = "linear"\nseed = 7\n')
    assert build_config("d", preset="linear", config_file=seeded).model.seed == 7


def test_neural_models_still_take_every_train_setting():
    config = build_config(
        "d",
        preset="kim-cnn",
        train={"epochs": 3, "seed": 1, "batch_size": 8},
        encoder={"sequence_length": 40, "max_words": 300},
    )
    assert (config.train.epochs, config.train.seed, config.train.batch_size) == (3, 1, 8)


def test_model_config_takes_a_preset_or_a_file(tmp_path):
    assert model_config("kim-cnn").preset == "kim-cnn.v1"
    config = tmp_path / "mine.yaml"
    config.write_text(
        "model:\n  blocks:\n    - {type: Embedding, dim: 8}\n    - {type: GlobalMaxPool1D}\n    - {type: Output}\n"
    )
    mine = model_config(config)
    assert isinstance(mine.model, GraphSpec) and mine.source == str(config) and mine.dataset == ""
    with pytest.raises(SettingsError, match="unknown preset 'nope'.*config file"):
        model_config("nope")


def test_assembling_reads_no_pretrained_files_and_resolving_does(tmp_path):
    config = assemble_config("d", preset="minilm", pretrained=str(tmp_path / "absent"))
    assert config.model.blocks[1].params.source == str(tmp_path / "absent")
    with pytest.raises(MissingModel, match="--pretrained DIR"):
        resolve_config(config)


def test_resolving_checks_the_graph(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(
        '[model]\n[[model.blocks]]\ntype = "Embedding"\ndim = 8\n[[model.blocks]]\ntype = "Output"\n'
    )
    assembled = assemble_config("d", config_file=config)
    with pytest.raises(GraphError, match="block 'output'"):
        resolve_config(assembled)
