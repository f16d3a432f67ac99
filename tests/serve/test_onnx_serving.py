"""A deployment's runtime: `critic deploy create --runtime onnx` serves the checkpoint's export
through ONNX Runtime with the PyTorch deployment's answers (within 1e-4), for the linear model and
a neural preset; explanations still work (through PyTorch, loaded at the first explain call);
torch-bf16 answers within bfloat16's rounding of torch and explains in fp32;
onnx-int8 is refused for a model that is not a transformer, with what to do; `set-runtime`
switches a running server; a catalog from before the runtime column reads every deployment as
torch."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from critic.catalog import open_catalog
from critic.deploy import create_deployment, get_deployment, set_enabled, set_runtime
from critic.errors import SettingsError
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.export import OnnxPredictor
from tests.conftest import run_cli
from tests.serve.conftest import bearer, serve

TOLERANCE = 1e-4
TEXTS = [
    "a wonderful film, I loved it",
    "dull, slow and far too long",
    "<br /><br />",
    "zzz words it never saw",
    "great " * 200,  # past the CNN's sequence length
]


def _batch(client, name: str, token: str, **extra) -> list[dict]:
    answer = client.post(
        f"/v1/deployments/{name}/predict",
        json={"rows": [{"text": t} for t in TEXTS], **extra},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def _probabilities(predictions: list[dict]) -> np.ndarray:
    return np.array([list(p["probabilities"].values()) for p in predictions])


def _cnn(dataset: str):
    config = build_config(dataset, preset="cnn-1d")
    encoder = replace(config.encoder, max_words=200, sequence_length=40)
    return replace(config, encoder=encoder, train=replace(config.train, epochs=1))


@pytest.mark.parametrize("model", ["linear", "cnn-1d"])
def test_onnx_deployment_answers_as_the_pytorch_one(model, workspace, tiny_dataset):
    config = (
        build_config(tiny_dataset, preset="linear") if model == "linear" else _cnn(tiny_dataset)
    )
    train_experiment(config, name="m")
    plain = create_deployment("m", name="plain").token
    onnx = create_deployment("m", name="fast", runtime="onnx").token
    assert get_deployment("fast").runtime == "onnx" and get_deployment("plain").runtime == "torch"
    with serve(workspace) as client:
        expected, got = _batch(client, "plain", plain), _batch(client, "fast", onnx)
        np.testing.assert_allclose(
            _probabilities(got), _probabilities(expected), atol=TOLERANCE, rtol=0
        )
        assert [p["label"] for p in got] == [p["label"] for p in expected]
        # the model really runs on ONNX Runtime, from the export beside the experiment
        (loaded,) = [
            p for key, p in client.app.state.registry.predictors.items() if key[2] == "onnx"
        ]
        assert isinstance(loaded, OnnxPredictor)
        assert (workspace.root / "experiments" / "m" / "exports" / "best-onnx").is_dir()
        info = client.get("/v1/deployments/fast", headers=bearer(onnx)).json()
        assert info["runtime"] == "onnx" and info["classes"] == ["negative", "positive"]

        # explain works there too (PyTorch, loaded now), with PyTorch's probabilities
        explained = _batch(client, "fast", onnx, explain=True)
        torch_explained = _batch(client, "plain", plain, explain=True)
        assert [e["explanation"] for e in explained] == [e["explanation"] for e in torch_explained]
        np.testing.assert_allclose(
            _probabilities(explained), _probabilities(expected), atol=TOLERANCE, rtol=0
        )


def test_a_bf16_deployment_answers_near_torch_and_explains_in_fp32(workspace, tiny_dataset):
    train_experiment(_cnn(tiny_dataset), name="m")
    plain = create_deployment("m", name="plain").token
    half = create_deployment("m", name="half", runtime="torch-bf16").token
    with serve(workspace) as client:
        expected, got = _batch(client, "plain", plain), _batch(client, "half", half)
        difference = np.abs(_probabilities(got) - _probabilities(expected)).max()
        assert 0 < difference <= 5e-2  # bfloat16's 8-bit mantissa: apart, but not far
        registry = client.app.state.registry
        assert registry.predictors[("m", "best", "torch-bf16")].precision == "bf16"
        assert registry.predictors[("m", "best", "torch")].precision == "fp32"
        info = client.get("/v1/deployments/half", headers=bearer(half)).json()
        assert info["runtime"] == "torch-bf16"
        # explanations need fp32 gradients: the same model answers them in fp32, as plain torch
        explained = _batch(client, "half", half, explain=True)
        assert len(registry.predictors) == 2  # no third copy of the model was loaded for it
        torch_explained = _batch(client, "plain", plain, explain=True)
        assert [e["explanation"] for e in explained] == [e["explanation"] for e in torch_explained]
        np.testing.assert_allclose(
            _probabilities(explained), _probabilities(expected), atol=1e-6, rtol=0
        )


def test_set_runtime_switches_a_running_server(workspace, tiny_dataset):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    token = create_deployment("lin", name="one").token
    with serve(workspace) as client:
        before = _batch(client, "one", token)
        assert set_runtime("one", "onnx").runtime == "onnx"
        after = _batch(client, "one", token)  # refresh_seconds=0: read again at once
        registry = client.app.state.registry
        assert set(registry.predictors) == {("lin", "best", "onnx")}  # the torch model let go
        np.testing.assert_allclose(
            _probabilities(after), _probabilities(before), atol=TOLERANCE, rtol=0
        )
        # explaining loads the PyTorch model beside it, and it stays while the deployment does
        _batch(client, "one", token, explain=True)
        assert set(registry.predictors) == {("lin", "best", "onnx"), ("lin", "best", "torch")}
        set_enabled("one", False)
        client.get("/healthz")  # a refresh
        assert registry.predictors == {}


def test_int8_and_unknown_runtimes_are_refused_with_what_to_do(workspace, tiny_dataset):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    with pytest.raises(SettingsError, match="transformer models .* with --runtime onnx or torch"):
        create_deployment("lin", runtime="onnx-int8")
    with pytest.raises(
        SettingsError, match="--runtime must be one of torch, torch-bf16, onnx, onnx-int8"
    ):
        create_deployment("lin", runtime="tensorrt")
    assert open_catalog(workspace).deployments() == []  # nothing half-made


def test_cli_creates_lists_and_switches_runtimes(workspace, tiny_dataset, monkeypatch, capsys):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")

    def run(*args: str) -> tuple[int, str, str]:
        return run_cli(monkeypatch, capsys, *args)

    code, out, err = run("deploy", "create", "lin", "--runtime", "onnx", "--name", "fast")
    assert code == 0, err
    assert "runtime     onnx (ONNX Runtime, fp32)" in out
    code, out, _ = run("deploy", "list")
    assert code == 0 and "onnx" in out
    code, out, err = run("deploy", "set-runtime", "fast", "torch")
    assert code == 0 and "fast now runs on torch" in out, err
    code, out, err = run("deploy", "set-runtime", "fast", "onnx-int8")
    assert code == 2 and "Traceback" not in err  # a setting refused: a usage error
    assert "quantizes transformer models" in err and len(err.strip().splitlines()) <= 3
    assert get_deployment("fast").runtime == "torch"


def test_a_catalog_from_before_runtimes_reads_every_deployment_as_torch(workspace, tiny_dataset):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    create_deployment("lin", name="old")
    path = workspace.catalog_path
    with sqlite3.connect(path) as conn:  # back to schema 8: no runtime column
        conn.execute("ALTER TABLE deployments DROP COLUMN runtime")
        conn.execute("PRAGMA user_version = 8")
    conn.close()
    (record,) = open_catalog(workspace).deployments()  # upgraded on open
    assert record.name == "old" and record.runtime == "torch"
