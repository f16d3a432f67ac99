import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from critic.data import import_dataset
from critic.errors import GraphError, SettingsError
from critic.experiments.configure import build_config
from critic.experiments.run import resume_experiment, train_experiment
from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from critic.presets import get_preset
from tests.conftest import sentiment_rows, write_csv

SMALL = {"sequence_length": 40, "max_words": 300}


def _config(dataset, preset="kim-cnn", **train):
    return build_config(
        dataset, preset=preset, encoder=SMALL, train={"epochs": 2, "batch_size": 8, **train}
    )


def test_same_settings_same_metrics(tiny_dataset):
    a = train_experiment(_config(tiny_dataset, threads=1))
    b = train_experiment(_config(tiny_dataset, threads=1))
    assert a.name != b.name
    assert [r["val_loss"] for r in a.record.epochs] == [r["val_loss"] for r in b.record.epochs]


def test_encoder_is_fitted_on_the_train_subset_only(workspace, tmp_path):
    rows = sentiment_rows(40)
    rows += [
        ("validationonlyword appears here", "positive"),
        ("testonlyword appears here", "negative"),
    ]
    path = tmp_path / "d.csv"
    path.write_text(
        "text,label,part\n"
        + "".join(
            f'"{t}",{label},{"train" if i < 40 else ("validation" if i == 40 else "test")}\n'
            for i, (t, label) in enumerate(rows)
        )
    )
    import_dataset("d", path, subset_column="part", progress=False)
    experiment = train_experiment(_config("d", epochs=1))
    vocab = Predictor.from_checkpoint(experiment.checkpoint("last")).encoder.fitted.get_vocab()
    assert (
        "appears" not in vocab and "validationonlyword" not in vocab and "testonlyword" not in vocab
    )
    assert "great" in vocab or "loved" in vocab


def test_checkpoints_and_metrics_files(tiny_dataset):
    experiment = train_experiment(_config(tiny_dataset, epochs=3))
    lines = (experiment.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    best = json.loads((experiment.checkpoint("best") / "manifest.json").read_text())
    last = json.loads((experiment.checkpoint("last") / "manifest.json").read_text())
    assert last["epoch"] == 3 and best["epoch"] == experiment.record.best_epoch
    assert best["dataset"] == tiny_dataset and len(best["dataset_fingerprint"]) == 64
    assert best["format"] == "critic.checkpoint/1" and best["config"]["train"]["epochs"] == 3
    val_losses = [json.loads(line)["val_loss"] for line in lines]
    assert best["epoch"] == 1 + val_losses.index(min(val_losses))  # chosen on validation loss


def test_early_stopping_and_checkpoint_metric(tiny_dataset):
    experiment = train_experiment(
        _config(
            tiny_dataset,
            epochs=30,
            early_stopping=1,
            checkpoint_metric="val_accuracy",
            learning_rate=0.01,
        )
    )
    assert experiment.record.epochs_done < 30


def test_early_stopping_keeps_the_best_checkpoint_of_the_full_run(tiny_dataset):
    """minilm.v3's lever: stopping `patience` epochs after the best val_loss ends with the very
    checkpoint the full schedule would pick (the learning-rate schedule is the full one's)."""
    settings = {"epochs": 12, "learning_rate": 0.01, "threads": 1, "schedule": "linear"}
    full = train_experiment(_config(tiny_dataset, **settings))
    best = full.record.best_epoch
    assert best + 2 < 12  # else this would not stop early and prove nothing
    short = train_experiment(_config(tiny_dataset, early_stopping=2, **settings))
    assert short.record.epochs_done == best + 2 and short.record.best_epoch == best
    weights = [(e.checkpoint("best") / "model.safetensors").read_bytes() for e in (full, short)]
    assert weights[0] == weights[1]
    minilm = get_preset("minilm")
    assert minilm.name == "minilm.v3" and minilm.train.early_stopping == 3
    assert minilm.train.min_steps == 250


def test_min_steps_raises_the_epochs_of_a_small_table(tiny_dataset):
    """tiny@1 has 64 train rows: batch 32 is 2 optimizer steps an epoch, so min_steps 9 runs 5
    epochs (and 2 epochs of 40 steps already reach it); the saved config says what ran."""
    config = _config(tiny_dataset, batch_size=32, min_steps=9)
    experiment = train_experiment(replace(config, train=replace(config.train, epochs=1)))
    assert experiment.record.epochs_done == 5 and experiment.record.config["train"]["epochs"] == 5
    saved = json.loads((experiment.path / "config.json").read_text())
    assert saved["train"]["epochs"] == 5 and saved["train"]["min_steps"] == 9
    events = (experiment.path / "events.jsonl").read_text()
    assert "64 train rows: 2 optimizer steps an epoch, 5 epochs for at least 9 steps" in events
    enough = train_experiment(_config(tiny_dataset, batch_size=1, min_steps=9))
    assert enough.record.epochs_done == 2
    # epochs asked for (--epochs, a [train] table) are the epochs run, unless min_steps is too
    assert _config(tiny_dataset, epochs=1).train.min_steps == 0
    assert get_preset("minilm").train.min_steps == 250  # (its pretrained files are not needed)


def test_class_weights(tiny_dataset):
    assert (
        train_experiment(_config(tiny_dataset, class_weight="balanced", epochs=1)).record.status
        == "done"
    )
    assert (
        train_experiment(
            _config(tiny_dataset, class_weight={"positive": 2.0}, epochs=1)
        ).record.status
        == "done"
    )
    with pytest.raises(SettingsError, match="not classes"):
        train_experiment(_config(tiny_dataset, class_weight={"nope": 2.0}, epochs=1))


def test_a_failed_run_is_marked_failed_not_running(tiny_dataset):
    with pytest.raises(SettingsError):
        train_experiment(_config(tiny_dataset, class_weight={"nope": 2.0}), name="broken")
    record = get_experiment("broken").record
    assert record.status == "failed" and "nope" in record.error


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"train": {"epochs": -1}}, SettingsError, "epochs"),
        ({"train": {"epochz": 3}}, SettingsError, "unknown train setting"),
        ({"train": {"optimizer": "lion"}}, SettingsError, "optimizer"),
        ({"preset": "nope"}, SettingsError, "unknown preset"),
        ({"encoder": {"sequence_length": 2}}, GraphError, "kernel 3 is longer"),
    ],
)
def test_bad_settings_are_clear_errors(tiny_dataset, kwargs, error, message):
    with pytest.raises(error, match=message):
        config = build_config(tiny_dataset, **{"preset": "kim-cnn", **kwargs})
        train_experiment(config)


def test_config_file_errors(tiny_dataset, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nepochs = 1\n[tranin]\nx = 1\n")
    with pytest.raises(SettingsError, match="tranin"):
        build_config(tiny_dataset, config_file=bad)
    mismatched = tmp_path / "shape.toml"
    mismatched.write_text(
        '[[model.blocks]]\ntype = "Embedding"\ndim = 8\n[[model.blocks]]\ntype = "Dense"\nunits = 3\n'
        '[[model.blocks]]\ntype = "Output"\n'
    )
    with pytest.raises(GraphError, match="'dense'"):
        build_config(tiny_dataset, config_file=mismatched)


def test_without_validation_the_last_epoch_is_the_best(workspace, tmp_path):
    from critic.data import SplitSettings

    import_dataset(
        "noval",
        write_csv(tmp_path / "n.csv", sentiment_rows(20)),
        split=SplitSettings(0.0),
        progress=False,
    )
    events = []
    experiment = train_experiment(_config("noval", epochs=3), log=events.append)
    assert experiment.record.best_epoch == 3 and experiment.record.epochs[0]["val_loss"] is None
    assert any("no validation subset" in e.get("phase", "") for e in events)
    best = json.loads((experiment.checkpoint("best") / "manifest.json").read_text())
    assert best["epoch"] == 3


RUNNER = """
import sys
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
config = build_config("big", preset="kim-cnn", encoder={"sequence_length": 60, "max_words": 500},
                      train={"epochs": 4, "batch_size": 4, "threads": 1})
train_experiment(config, name=sys.argv[1])
"""


@pytest.mark.drill("interrupted work")
def test_resume_after_sigkill_equals_an_uninterrupted_run(workspace, tmp_path):
    import_dataset("big", write_csv(tmp_path / "big.csv", sentiment_rows(600)), progress=False)
    env = {**os.environ, "CRITIC_HOME": str(workspace.root)}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, "killed"], env=env)
    metrics = workspace.root / "experiments" / "killed" / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and metrics.read_text().count("\n") >= 1:
            time.sleep(0.2)  # into the next epoch
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = metrics.read_text().count("\n")
    assert 1 <= done < 4
    killed = get_experiment("killed")
    assert (
        killed.record.status == "running" and killed.status == "killed"
    )  # nobody could mark it; its process is gone
    resumed = resume_experiment("killed")
    assert resumed.record.status == "done" and resumed.record.epochs_done == 4

    subprocess.run([sys.executable, "-c", RUNNER, "whole"], env=env, check=True)
    whole = get_experiment("whole")
    # Same process layout (one thread, same torch build, same batches and RNG state): the numbers
    # agree to float32 rounding; 1e-6 allows for nothing else.
    for a, b in zip(resumed.record.epochs, whole.record.epochs):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert a[key] == pytest.approx(b[key], abs=1e-6), (key, a["epoch"])
    probs_a = Predictor.from_checkpoint(resumed.checkpoint("last")).predict_proba(
        ["a great film", "dull"]
    )
    probs_b = Predictor.from_checkpoint(whole.checkpoint("last")).predict_proba(
        ["a great film", "dull"]
    )
    assert abs(probs_a - probs_b).max() < 1e-6


def test_resume_can_extend_epochs(tiny_dataset):
    experiment = train_experiment(_config(tiny_dataset, epochs=1))
    longer = resume_experiment(experiment.name, epochs=3)
    assert [r["epoch"] for r in longer.record.epochs] == [1, 2, 3]
    assert json.loads((longer.path / "config.json").read_text())["train"]["epochs"] == 3


def test_the_readme_block_example_builds(tiny_dataset, tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("# my-model.toml")
    (tmp_path / "my-model.toml").write_text(readme[start : readme.index("```", start)])
    config = build_config(tiny_dataset, config_file=tmp_path / "my-model.toml")
    assert config.encoder.sequence_length == 400 and config.model.blocks[-1].type == "Output"


def test_the_readme_yaml_example_is_the_toml_one(tiny_dataset, tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    toml_start = readme.index("# my-model.toml")
    (tmp_path / "my-model.toml").write_text(readme[toml_start : readme.index("```", toml_start)])
    yaml_start = readme.index("```yaml\n") + len("```yaml\n")
    (tmp_path / "my-model.yaml").write_text(readme[yaml_start : readme.index("```", yaml_start)])
    from_toml = build_config(tiny_dataset, config_file=tmp_path / "my-model.toml")
    from_yaml = build_config(tiny_dataset, config_file=tmp_path / "my-model.yaml")
    assert dataclasses.replace(from_yaml, source=from_toml.source) == from_toml


@pytest.mark.parametrize(
    "text, message",
    [
        ("encoder: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("train: {epochs: 1}\ntrian: {x: 1}\n", "trian"),
    ],
)
def test_yaml_config_errors(tiny_dataset, tmp_path, text, message):
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    with pytest.raises(SettingsError, match=message):
        build_config(tiny_dataset, config_file=bad)


def test_a_linear_run_has_no_epochs_to_resume_and_compares_without_train_settings(tiny_dataset):
    from critic.experiments.compare import compare_experiments

    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    with pytest.raises(SettingsError, match="linear model, fitted in one pass"):
        resume_experiment("lin", epochs=3)
    settings = dict(compare_experiments(["lin"]).settings)
    assert "train.checkpoint_metric" in settings and "model.C" in settings
    assert not {"train.epochs", "train.optimizer", "train.batch_size"} & set(settings)


def test_skipgram_vectors_without_gensim_say_how_to_install_it(monkeypatch):
    import numpy as np

    from critic.models.pretrained import skipgram_vectors

    monkeypatch.setitem(sys.modules, "gensim", None)  # as if the optional extra were not installed
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(SettingsError, match=r"pip install 'critic\[skipgram\]'"):
        skipgram_vectors(np.ones((2, 3), dtype=np.int64), 4, 0)
