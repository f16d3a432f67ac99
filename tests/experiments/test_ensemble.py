"""The ensemble preset's machinery on tiny data: the combiner's fit (its gradient, the weight it
gives an informative member over a noisy one), one command training every member as its own
experiment, a self-contained checkpoint that predicts what its members and weights say, adopted
experiments, explanations, serving, and refusals in words (no validation subset, another dataset,
--nproc, epochs, ONNX export, sweeps)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import check_grad

from critic.artifacts import load_validation_probs
from critic.data import import_dataset, load_version
from critic.data.split import SplitSettings
from critic.deploy import create_deployment
from critic.errors import SettingsError
from critic.experiments.configure import build_config
from critic.experiments.ensemble import _member_config
from critic.experiments.run import resume_experiment, train_experiment
from critic.experiments.store import get_experiment, list_experiments
from critic.experiments.sweep_space import apply_settings
from critic.models.ensemble import EnsembleSettings, combine, combiner_loss, fit_combiner
from critic.predictor import Predictor
from tests.conftest import run_cli, sentiment_rows, write_csv
from tests.serve.conftest import bearer, serve

TEXTS = ["a wonderful film, I loved it", "dull, slow and far too long", "zzz never seen"]


def _config_file(tmp_path: Path, members=("linear", "multi-hot-mlp"), adopt=()) -> Path:
    listed = ", ".join(f'"{m}"' for m in members)
    adopted = ", ".join(f'"{a}"' for a in adopt)
    path = tmp_path / "ensemble.toml"
    path.write_text(
        f'[model]\nkind = "ensemble"\nmembers = [{listed}]\nadopt = [{adopted}]\n'
        "[train]\nseed = 1\nthreads = 1\n"
    )
    return path


def _member_probs(n=600, seed=0):
    """(2, n, 2) probabilities: member 0 right 90 % of the time and confident, member 1 a coin."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    right = rng.random(n) < 0.9
    p0 = np.where(right, 0.85, 0.15)[:, None] * np.eye(2)[labels]
    p0 = p0 + (1 - p0.sum(1, keepdims=True)) * np.eye(2)[1 - labels]
    p1 = rng.dirichlet([1, 1], n)
    return np.stack([p0, p1]).astype(np.float32), labels


def test_the_combiner_weighs_the_informative_member_and_beats_each_alone():
    probs, labels = _member_probs()
    weights, biases = fit_combiner(probs, labels)
    assert weights[0] > 0.5 and abs(weights[1]) < 0.2, weights
    assert abs(float(biases.sum())) < 1e-5  # softmax is blind to a shift: the biases are centred

    def loss(p):
        return -np.log(p[np.arange(len(labels)), labels]).mean()

    combined = loss(combine(probs, weights, biases))
    assert combined <= loss(probs[0]) + 1e-6 and combined < loss(probs[1])
    assert combine(probs, weights, biases).sum(1) == pytest.approx(np.ones(len(labels)), abs=1e-5)


def test_the_combiner_gradient_is_the_loss_slope():
    """The fit's analytic gradient against finite differences, on 3 classes."""
    rng = np.random.default_rng(1)
    logs = np.log(rng.dirichlet([1, 1, 1], (2, 50)))
    labels = rng.integers(0, 3, 50)
    theta = np.array([0.7, -0.2, 0.3, -0.1, -0.2])
    error = check_grad(
        lambda t: combiner_loss(t, logs, labels)[0],
        lambda t: combiner_loss(t, logs, labels)[1],
        theta,
    )
    assert error < 1e-5


def test_one_command_trains_the_members_and_a_self_contained_checkpoint(
    workspace, tiny_dataset, tmp_path, monkeypatch, capsys
):
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "train",
        "--dataset",
        tiny_dataset,
        "--config",
        str(_config_file(tmp_path)),
        "--name",
        "ens",
    )
    assert code == 0, err
    names = {e.name for e in list_experiments()}
    assert {"ens", "ens-linear", "ens-multi-hot-mlp"} <= names
    for member in ("ens-linear", "ens-multi-hot-mlp"):
        assert get_experiment(member).status == "done"
    # the neural member got the ensemble's seed
    assert get_experiment("ens-multi-hot-mlp").record.config["train"]["seed"] == 1
    # its training kept its best checkpoint's validation probabilities, which the combiner used:
    # what its Predictor computes on the validation texts
    best = get_experiment("ens-multi-hot-mlp").checkpoint("best")
    val = load_version(tiny_dataset).subset("validation", ["text"])["text"].tolist()
    kept = load_validation_probs(best, (len(val), 2))
    assert kept is not None
    np.testing.assert_allclose(kept, Predictor.from_checkpoint(best).predict_proba(val), atol=1e-5)

    ensemble = Predictor.from_checkpoint(get_experiment("ens").checkpoint("best"))
    members = [
        Predictor.from_checkpoint(get_experiment(m).checkpoint("best"))
        for m in ("ens-linear", "ens-multi-hot-mlp")
    ]
    by_hand = combine(
        np.stack([m.predict_proba(TEXTS) for m in members]),
        ensemble.model.weights,
        ensemble.model.biases,
    )
    np.testing.assert_allclose(ensemble.predict_proba(TEXTS), by_hand, atol=1e-6)
    manifest = ensemble.manifest
    assert [m["experiment"] for m in manifest["members"]] == ["ens-linear", "ens-multi-hot-mlp"]
    assert manifest["metrics"]["val_accuracy"] is not None

    # the members' folders gone, the ensemble still predicts the same
    for member in ("ens-linear", "ens-multi-hot-mlp"):
        shutil.rmtree(get_experiment(member).path)
    again = Predictor.from_checkpoint(get_experiment("ens").checkpoint("best"))
    np.testing.assert_allclose(again.predict_proba(TEXTS), by_hand, atol=1e-6)

    # explained by occlusion through the ensemble, with its own probabilities
    (explained,) = again.explain([TEXTS[0]])
    assert explained.method == "occlusion"
    assert explained.probabilities == pytest.approx(
        dict(zip(again.classes, by_hand[0].tolist())), abs=1e-6
    )
    assert [s.word for s in explained.spans][:2] == ["a", "wonderful"]


def test_adopted_experiments_are_used_as_they_are(workspace, tiny_dataset, tmp_path):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="mine")
    before = get_experiment("mine").path / "checkpoints" / "best" / "model.safetensors"
    stamp = before.stat().st_mtime_ns
    config = build_config(
        tiny_dataset,
        config_file=_config_file(tmp_path, members=("multi-hot-mlp",), adopt=("mine",)),
    )
    ens = train_experiment(config, name="both")
    assert before.stat().st_mtime_ns == stamp  # not trained again
    assert {e.name for e in list_experiments()} == {"mine", "both", "both-multi-hot-mlp"}
    members = Predictor.from_checkpoint(ens.checkpoint("best")).manifest["members"]
    assert [m["experiment"] for m in members] == ["mine", "both-multi-hot-mlp"]


def test_served_like_any_model_and_refused_as_onnx(workspace, tiny_dataset, tmp_path):
    config = build_config(tiny_dataset, config_file=_config_file(tmp_path))
    train_experiment(config, name="ens")
    token = create_deployment("ens", name="ens-api").token
    expected = Predictor.from_checkpoint(get_experiment("ens").checkpoint("best")).predict(TEXTS)
    with serve(workspace) as client:
        answer = client.post(
            "/v1/deployments/ens-api/predict",
            json={"rows": [{"text": t} for t in TEXTS]},
            headers=bearer(token),
        )
        assert answer.status_code == 200, answer.text
        got = answer.json()["predictions"]
        assert [p["label"] for p in got] == [p["label"] for p in expected]
        for g, e in zip(got, expected):
            assert g["probabilities"] == pytest.approx(e["probabilities"], abs=1e-6)
    with pytest.raises(SettingsError, match="ensemble of 2 models.*export its members"):
        create_deployment("ens", name="ens-onnx", runtime="onnx")


def test_refusals_in_words(workspace, tiny_dataset, tmp_path):
    path = _config_file(tmp_path)
    with pytest.raises(SettingsError, match="does not use epochs"):
        build_config(tiny_dataset, config_file=path, train={"epochs": 3})
    with pytest.raises(SettingsError, match="at least 2 members"):
        EnsembleSettings(members=("linear",))
    with pytest.raises(SettingsError, match="cannot be ensembles"):
        EnsembleSettings(members=("linear", "ensemble"))
    config = build_config(tiny_dataset, config_file=path)
    with pytest.raises(SettingsError, match="drop --nproc"):
        train_experiment(config, nproc=2)
    with pytest.raises(SettingsError, match="not swept"):
        apply_settings(config, {"train.seed": 2})

    # no validation subset: refused before any member is trained
    bare = import_dataset(
        "bare",
        write_csv(tmp_path / "bare.csv", sentiment_rows(40)),
        progress=False,
        split=SplitSettings(validation_fraction=0.0),
    ).version.ref
    with pytest.raises(SettingsError, match="no validation subset.*critic data split"):
        train_experiment(build_config(bare, config_file=path), name="novalid")
    assert [e.name for e in list_experiments() if e.name.startswith("novalid-")] == []

    # an adopted experiment of another dataset
    train_experiment(build_config(bare, preset="linear"), name="elsewhere")
    adopting = build_config(
        tiny_dataset, config_file=_config_file(tmp_path, members=("linear",), adopt=("elsewhere",))
    )
    with pytest.raises(SettingsError, match="trained on bare@1.*share the dataset version"):
        train_experiment(adopting, name="mixed")
    with pytest.raises(SettingsError, match="no epochs to add"):
        train_experiment(config, name="ens")
        resume_experiment("ens", epochs=3)


def test_pretrained_points_the_members_pretrained_parts_elsewhere(
    workspace, tiny_dataset, tiny_bert
):
    """`critic train --preset ensemble --pretrained DIR`: the MiniLM member reads DIR's tokenizer
    and weights (here a tiny BERT), as `--preset minilm --pretrained DIR` would; the linear member
    has no pretrained part. (The member's config only: training it is the contract test's.)"""
    config = build_config(tiny_dataset, preset="ensemble", pretrained=tiny_bert)
    assert config.model.pretrained == tiny_bert
    assert config.as_dict()["model"]["pretrained"] == tiny_bert  # saved with the run
    version = load_version(tiny_dataset)
    minilm = _member_config("minilm", config, version)
    assert minilm.encoder.source == tiny_bert
    sources = [b.params.source for b in minilm.model.blocks if b.type == "Transformer"]
    assert sources == [tiny_bert]
    assert minilm.train.seed == config.train.seed
    assert _member_config("linear", config, version).encoder is None
