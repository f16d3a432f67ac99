"""A Predictor's precision: bf16 runs the model's matrix products in bfloat16 (torch.autocast) and
gives the fp32 answers within bfloat16's rounding; the linear model and an unknown precision."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.predictor import Predictor
from tests.conftest import run_cli, sentiment_rows

TEXTS = [
    "a great film",
    "dull and boring",
    "",
    "<br />",
    *[t for t, _ in sentiment_rows(20, seed=5)],
]
BF16_TOLERANCE = 5e-2  # 8 bits of mantissa through a 2-layer BERT: ~1e-2 apart, far under this


def _minilm(dataset: str, tiny_bert: str):
    config = build_config(dataset, preset="minilm", pretrained=tiny_bert)
    encoder = replace(config.encoder, sequence_length=40)
    return replace(config, encoder=encoder, train=replace(config.train, batch_size=64, min_steps=0))


def test_bf16_runs_the_transformer_in_bfloat16_close_to_fp32(
    tiny_dataset, tiny_bert, monkeypatch, capsys
):
    folder = train_experiment(_minilm(tiny_dataset, tiny_bert), name="t").checkpoint("best")
    fp32 = Predictor.from_checkpoint(folder)
    bf16 = Predictor.from_checkpoint(folder, precision="bf16")
    seen: set[torch.dtype] = set()
    for module in bf16.model.modules():  # what the linear layers really compute in
        if isinstance(module, torch.nn.Linear):
            module.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    a, b = fp32.predict_proba(TEXTS), bf16.predict_proba(TEXTS)
    assert seen == {torch.bfloat16}
    assert b.dtype == np.float32 and np.allclose(b.sum(1), 1, atol=1e-5)
    difference = np.abs(a - b).max()
    assert 0 < difference <= BF16_TOLERANCE  # it moved (really bf16), but not far
    # fp32 again after a bf16 Predictor ran: autocast is scoped to its own calls
    np.testing.assert_array_equal(fp32.predict_proba(TEXTS), a)
    # explanations (Integrated Gradients) stay fp32: the same as the fp32 Predictor's
    assert [e.answer() for e in bf16.explain(TEXTS[:3])] == [
        e.answer() for e in fp32.explain(TEXTS[:3])
    ]

    code, out, err = run_cli(
        monkeypatch, capsys, "predict", "t", "a great film", "--precision", "bf16"
    )
    assert code == 0 and "a great film" in out, err
    code, out, err = run_cli(
        monkeypatch, capsys, "predict", "t", "a great film", "--precision", "fp16"
    )
    assert code == 2 and "--precision must be one of fp32, bf16" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3


def test_the_linear_model_and_unknown_precisions(tiny_dataset):
    folder = train_experiment(build_config(tiny_dataset, preset="linear"), name="l").checkpoint(
        "best"
    )
    np.testing.assert_array_equal(  # the linear model has no matrix products to round
        Predictor.from_checkpoint(folder, precision="bf16").predict_proba(TEXTS),
        Predictor.from_checkpoint(folder).predict_proba(TEXTS),
    )
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        Predictor.from_checkpoint(folder, precision="fp16")


def test_deploy_warns_of_bf16_on_a_cpu_without_it(monkeypatch):
    from critic.deploy import runtime_note

    assert runtime_note("torch") is None and runtime_note("onnx-int8") is None
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert "no bfloat16 instructions" in runtime_note("torch-bf16")
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert runtime_note("torch-bf16") is None
