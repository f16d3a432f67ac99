"""The canvas's library side: a preset's tables round-trip through TOML unchanged in meaning, the
saved file trains from `critic train --config`, and a wrong block is named with its message."""

import pytest

from critic.errors import SettingsError
from critic.experiments.canvas import check_tables, from_toml, tables_of, to_toml
from critic.experiments.configure import assemble_config, build_config
from critic.experiments.run import train_experiment
from critic.presets import preset_names


@pytest.mark.parametrize(
    "preset", [p for p in preset_names() if p not in ("bert", "bert-recipe", "minilm")]
)
def test_every_preset_round_trips_through_toml_unchanged_in_meaning(preset):
    tables = tables_of(preset)
    again = from_toml(to_toml(tables))
    assert again == tables
    original = assemble_config("x", preset=preset)
    rebuilt = assemble_config("x", tables=again)
    assert (rebuilt.encoder, rebuilt.model, rebuilt.train) == (
        original.encoder,
        original.model,
        original.train,
    )


def test_the_check_names_each_block_shape_or_the_offending_block():
    tables = tables_of("kim-cnn")
    check = check_tables(tables)
    assert check.ok and check.parameters == sum(b.parameters for b in check.blocks)
    assert [b.output for b in check.blocks[:2]] == ["ids (B, 650)", "seq (B, 64, 650)"]
    del tables["model"]["blocks"][1]["dim"]
    missing = check_tables(tables)
    assert not missing.ok and missing.block == "embedding" and "dim" in missing.error
    tables = tables_of("kim-cnn")
    tables["model"]["blocks"][-1]["inputs"] = ["conv1"]  # the Output wired past the rest
    dangling = check_tables(tables)
    assert not dangling.ok and dangling.block == "dropout2" and "goes nowhere" in dangling.error


def test_a_saved_canvas_trains_from_the_command_line_file(tiny_dataset, tmp_path):
    tables = {
        "encoder": {"sequence_length": 20, "max_words": 200},
        "model": {
            "blocks": [
                {"type": "Embedding", "dim": 8},
                {"type": "GlobalMaxPool1D"},
                {"type": "Output"},
            ]
        },
        "train": {"epochs": 1},
    }
    assert check_tables(tables).ok
    path = tmp_path / "canvas.toml"
    path.write_text(to_toml(tables))
    experiment = train_experiment(build_config(tiny_dataset, config_file=path), name="from-canvas")
    assert (
        experiment.status == "done" and experiment.record.config["encoder"]["sequence_length"] == 20
    )


def test_from_toml_refuses_what_train_refuses():
    with pytest.raises(SettingsError, match="not valid TOML"):
        from_toml("[model\n")
    with pytest.raises(SettingsError, match="unknown table"):
        from_toml("[modle]\nblocks = []\n")
