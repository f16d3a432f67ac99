"""The library side of the experiments pages: critic.experiments.launch (a form's choices → a
checked `critic train` job), store.free_name and store.flat_settings, config.parse_class_weight."""

from __future__ import annotations

import pytest

from critic.config import parse_class_weight
from critic.errors import GraphNotFound, InvalidName, SettingsError
from critic.experiments.canvas import save_graph
from critic.experiments.launch import (
    ModelChoice,
    parse_model,
    parse_settings,
    queue_resume,
    queue_training,
    train_argv,
    train_defaults,
)
from critic.experiments.store import flat_settings, free_name
from critic.jobs import get_job, list_jobs

GRAPH = {
    "encoder": {"kind": "words", "max_words": 100, "sequence_length": 8},
    "model": {"blocks": [{"type": "Embedding", "dim": 4}, {"type": "Flatten"}, {"type": "Output"}]},
    "train": {"epochs": 3, "batch_size": 4},
}


def test_free_name_skips_taken_ones_and_drops_the_version():
    assert free_name("kim-cnn.v1") == "kim-cnn-1"
    assert free_name("kim-cnn", {"kim-cnn-1", "kim-cnn-2"}) == "kim-cnn-3"


def test_flat_settings_of_a_graph_and_of_a_linear_run():
    graph = {
        "dataset": "d@1",
        "model": {"blocks": [{}, {}], "init": "keras"},
        "train": {"epochs": 2, "class_weight": {"a": 2.0}},
    }
    flat = flat_settings(graph)
    assert flat["model.blocks"] == "2 blocks" and flat["train.epochs"] == 2
    assert flat["train.class_weight"] == {"a": 2.0}  # a value, not a table
    linear = {
        "model": {"kind": "linear", "C": 1.0},
        "train": {"epochs": 1, "checkpoint_metric": "x"},
    }
    flat = flat_settings(linear)
    assert flat["model.blocks"] == "linear" and "train.epochs" not in flat
    assert flat["train.checkpoint_metric"] == "x" and flat["model.C"] == 1.0


def test_parse_class_weight():
    assert parse_class_weight(" balanced ") == "balanced"
    assert parse_class_weight("pos=2,neg=0.5") == {"pos": 2.0, "neg": 0.5}
    with pytest.raises(SettingsError, match="LABEL=WEIGHT"):
        parse_class_weight("pos:2")


def test_models_are_a_preset_or_a_saved_graph():
    assert parse_model("preset:kim-cnn") == ModelChoice("preset", "kim-cnn")
    assert parse_model("graph:mine").value == "graph:mine"
    for bad in ("kim-cnn", "preset:nope", "graph:", "file:/etc/passwd"):
        with pytest.raises(SettingsError, match="choose a model"):
            parse_model(bad)
    with pytest.raises(InvalidName):
        parse_model("graph:../x")


def test_parse_settings_reads_text_and_names_what_is_wrong():
    assert parse_settings({"epochs": " 3 ", "seed": "", "learning_rate": "1e-3"}) == {
        "epochs": 3,
        "learning_rate": 0.001,
    }
    with pytest.raises(SettingsError, match="epochs must be a whole number"):
        parse_settings({"epochs": "2.5"})
    with pytest.raises(SettingsError, match="unknown training setting 'threads'"):
        parse_settings({"threads": "2"})
    with pytest.raises(SettingsError, match="longer than"):
        parse_settings({"device": "c" * 201})


def test_the_argv_of_a_graph_run(workspace):
    argv = train_argv(
        "d@1", ModelChoice("graph", "g"), {"seed": -1, "class_weight": {"a": 2.0}}, "n", workspace
    )
    assert argv == [
        "train",
        "--dataset",
        "d@1",
        "--config",
        str(workspace.graphs / "g.toml"),
        "--name",
        "n",
        "--seed=-1",  # one word: a negative number is not taken for an option
        "--class-weight=a=2.0",
    ]


def test_defaults_of_a_saved_graph(workspace):
    save_graph("small", GRAPH, workspace)
    d = train_defaults("graph:small", workspace)
    assert d["train"]["epochs"] == "3" and d["train"]["batch_size"] == "4"
    assert d["train"]["optimizer"] == "adam" and not d["linear"]
    with pytest.raises(GraphNotFound):
        train_defaults("graph:other", workspace)


def test_queue_training_checks_first_then_names_the_job(workspace, tiny_dataset):
    save_graph("small", GRAPH, workspace)
    job = queue_training("tiny", "graph:small", {"epochs": "1"}, user="alice", workspace=workspace)
    assert job.target == "small-1" and job.state == "queued" and job.user == "alice"
    assert job.argv[2] == "tiny@1"  # the version the form saw, even if a newer one comes
    assert queue_training("tiny", "graph:small", {}, workspace=workspace).target == "small-2"
    with pytest.raises(SettingsError, match="exists or is queued"):
        queue_training("tiny", "graph:small", {}, name="small-1", workspace=workspace)
    broken = {**GRAPH, "model": {"blocks": [{"type": "Embedding", "dim": 4}, {"type": "Output"}]}}
    save_graph("broken", broken, workspace)  # saved (the canvas shows its error), not trained
    with pytest.raises(SettingsError, match="Output"):  # refused now, not later in a log
        queue_training("tiny", "graph:broken", {}, workspace=workspace)
    assert len(list_jobs(workspace)) == 2


def test_queue_resume_refuses_a_run_that_is_queued_or_unknown(workspace, tiny_dataset):
    from critic.errors import ExperimentNotFound

    with pytest.raises(ExperimentNotFound):
        queue_resume("nobody", workspace=workspace)
    save_graph("small", GRAPH, workspace)
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    config = build_config("tiny", config_file=workspace.graphs / "small.toml", train={"epochs": 1})
    train_experiment(config, name="once", workspace=workspace)
    with pytest.raises(SettingsError, match="is done"):
        queue_resume("once", workspace=workspace)
    with pytest.raises(SettingsError, match="at least the 1 done"):
        queue_resume("once", epochs=0, workspace=workspace)
    job = queue_resume("once", epochs=2, workspace=workspace)
    assert get_job(job.id, workspace).argv == ("train", "--resume", "once", "--epochs=2")
    with pytest.raises(SettingsError, match="running or queued"):
        queue_resume("once", epochs=3, workspace=workspace)
