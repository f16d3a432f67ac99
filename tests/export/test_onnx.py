"""`critic export --format onnx`: for every preset, a tiny model trained here, exported, run by ONNX
Runtime through `OnnxPredictor`, gives PyTorch's probabilities within 1e-4 (texts beyond the
sequence length, empty ones, unknown words, batches of mixed lengths); export.json says what a
runtime outside critic needs; int8 stays near fp32; the CLI's errors are one line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.predictor import Predictor
from critic.presets import preset_names
from tests.conftest import run_cli, sentiment_rows

TOLERANCE = 1e-4
# dynamic int8 against fp32, |Δ probability| (~1e-3 on the tiny BERT on a CPU with VNNI; without
# reduce_range, 0.086 on the check inputs and 0.17 on TEXTS on an AVX2 CPU: saturated products)
INT8_TOLERANCE = 0.05
PRETRAINED = {"bert", "bert-recipe", "minilm"}  # on the random 2-layer BERT of `tiny_bert`
LONG = "an awful film " * 60 + "great " * 30  # past every tiny sequence length (40)
TEXTS = [
    "a great film",
    "dull and boring",
    "",
    "zzz unseen words only",
    "<br /><br />",
    "it’s GREAT, isn't it?",
    LONG,
    *[t for t, _ in sentiment_rows(25, seed=3)],
]


def _small(config):
    """The contract test's tiny version of a preset: 200 words, length 40, one epoch of one step."""
    if config.encoder is None:
        return config
    enc = config.encoder
    if enc.kind != "wordpiece":
        enc = replace(enc, max_words=200)
    if enc.kind in ("words", "wordpiece"):
        enc = replace(enc, sequence_length=40)
    # one optimizer step over the 64 train rows: the export needs trained-looking weights, not accuracy
    return replace(
        config, encoder=enc, train=replace(config.train, epochs=1, batch_size=64, min_steps=0)
    )


# a user's graph no preset has: pre-padded ids into a masked max-pooled CNN, so a runtime may cut a
# batch on the left and the graph adds back only the widest window's padding
PRE_PADDED_CNN = """
[encoder]
kind = "words"
max_words = 200
sequence_length = 40
padding = "pre"
truncation = "pre"

[[model.blocks]]
type = "Embedding"
dim = 8

[[model.blocks]]
type = "Conv1D"
filters = 8
kernel = 3

[[model.blocks]]
type = "GlobalMaxPool1D"

[[model.blocks]]
type = "Output"
"""


def _train(dataset: str, preset: str, tiny_bert: str, folder=None):
    if preset == "pre-padded-cnn":
        (folder / "graph.toml").write_text(PRE_PADDED_CNN)
        config = build_config(dataset, config_file=folder / "graph.toml")
    else:
        config = build_config(
            dataset, preset=preset, pretrained=tiny_bert if preset in PRETRAINED else None
        )
    return train_experiment(_small(config))


def _reference() -> dict:
    """The names docs/export.md's reference code defines (the block between its markers)."""
    doc = (Path(__file__).parents[2] / "docs" / "export.md").read_text()
    block = doc.split("<!-- reference -->", 1)[1].split("<!-- /reference -->", 1)[0]
    code = block.strip().removeprefix("```python").removesuffix("```")
    names: dict = {"__name__": "reference"}
    exec(compile(code, "docs/export.md", "exec"), names)
    return names


run = run_cli  # critic ARGS in this process: (code, stdout, stderr)


@pytest.mark.parametrize(
    "preset", [*(p for p in preset_names() if p != "ensemble"), "pre-padded-cnn"]
)
def test_onnx_runtime_gives_pytorchs_probabilities(
    preset, tiny_dataset, tiny_bert, tmp_path, monkeypatch, capsys
):
    from critic.export import OnnxPredictor

    experiment = _train(tiny_dataset, preset, tiny_bert, tmp_path)
    out = tmp_path / "exported"
    code, stdout, err = run(monkeypatch, capsys, "export", experiment.name, "--out", str(out))
    assert code == 0, err
    assert "largest probability difference" in stdout

    torch_side = Predictor.from_checkpoint(experiment.checkpoint("best"))
    onnx_side = OnnxPredictor(out, threads=1)
    expected = torch_side.predict_proba(TEXTS)
    got = onnx_side.predict_proba(TEXTS, batch_size=7)  # batches of mixed lengths
    np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)
    # one text at a time (no padding at all) and all in one batch give the same numbers
    np.testing.assert_allclose(
        onnx_side.predict_proba(TEXTS[:7], batch_size=1), expected[:7], atol=TOLERANCE, rtol=0
    )
    assert (
        onnx_side.predict(["a great film"])[0]["label"]
        == torch_side.predict(["a great film"])[0]["label"]
    )
    assert onnx_side.classes == torch_side.classes == ["negative", "positive"]
    assert onnx_side.manifest == torch_side.manifest

    # docs/export.md's reference implementation (no critic) gives the same numbers
    classes, reference = _reference()["predict"](str(out), TEXTS)
    assert classes == torch_side.classes
    np.testing.assert_allclose(reference, expected, atol=TOLERANCE, rtol=0)

    info = json.loads((out / "export.json").read_text())
    _check_info(out, info, preset, torch_side)
    assert not any(p.suffix in (".pt", ".pkl", ".bin") for p in out.rglob("*"))


def _check_info(folder, info: dict, preset: str, predictor: Predictor) -> None:
    import onnx

    assert info["format"] == "critic.export/1" and info["quantization"] is None
    assert info["classes"] == ["negative", "positive"]
    assert info["check"]["max_abs_difference"] <= TOLERANCE
    assert info["source"]["checkpoint"] == "best"
    outputs = [o["name"] for o in info["outputs"]]
    assert outputs == ["logits", "probabilities"]
    graph = onnx.load(str(folder / "model.onnx")).graph
    for given in graph.input:  # both axes dynamic, as export.json says
        dims = [d.dim_param for d in given.type.tensor_type.shape.dim]
        assert dims == ["batch", "sequence"], (given.name, dims)
    text = info["text"]
    if preset == "linear":
        assert [i["name"] for i in info["inputs"]] == ["features", "values"]
        assert text["kind"] == "ngrams" and (text["ngram_min"], text["ngram_max"]) == (1, 3)
        assert text["counts"] == "binary" and text["n_features"] > 0
        return
    assert info["inputs"] == [
        {"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}
    ]
    enc = predictor.encoder.settings
    assert text["kind"] == enc.kind and text["tokenizer"] == "tokenizer.json"
    assert text["padding_id"] == 0
    if enc.kind == "words":
        assert (text["max_length"], text["padding"], text["truncation"]) == (
            40,
            enc.padding,
            enc.truncation,
        )
        assert text["lowercase"] is True and text["unknown_id"] == 1
    elif enc.kind == "multi-hot":
        assert text["vocab_size"] == 200
    else:
        assert text["max_length"] == 40 and text["truncation"] == enc.truncation
        tok = predictor.encoder.fitted
        assert (text["cls_id"], text["sep_id"]) == (
            tok.token_to_id("[CLS]"),
            tok.token_to_id("[SEP]"),
        )
        assert text["head_pieces"] == (9 if enc.truncation == "head+tail" else None)


def test_int8_export_of_a_transformer_stays_near_fp32(
    tiny_dataset, tiny_bert, tmp_path, monkeypatch, capsys
):
    from critic.export import OnnxPredictor

    experiment = _train(tiny_dataset, "minilm", tiny_bert)
    capsys.readouterr()  # what training printed
    for args in ([], ["--quantize", "int8"]):
        out = tmp_path / ("int8" if args else "fp32")
        code, _, err = run(monkeypatch, capsys, "export", experiment.name, "--out", str(out), *args)
        assert code == 0 and err == "", err  # no library's advice reaches the user
    info = json.loads((tmp_path / "int8" / "export.json").read_text())
    assert info["quantization"] == "int8-dynamic" and info["check"]["tolerance"] is None
    assert 0 < info["check"]["max_abs_difference"] <= INT8_TOLERANCE  # it moved, but not far
    # every weight matrix of the 2-layer BERT (q, k, v, out, up, down) is int8 now; none stays fp32
    import onnx

    graph = onnx.load(str(tmp_path / "int8" / "model.onnx")).graph
    weights = {i.name for i in graph.initializer}
    ops = [n.op_type for n in graph.node]
    assert ops.count("MatMulInteger") >= 12, ops
    assert not [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    fp32 = OnnxPredictor(tmp_path / "fp32", threads=1).predict_proba(TEXTS)
    int8 = OnnxPredictor(tmp_path / "int8", threads=1).predict_proba(TEXTS)
    assert np.abs(int8 - fp32).max() <= INT8_TOLERANCE


def test_cli_errors_are_one_line_and_nothing_is_overwritten(
    tiny_dataset, tmp_path, monkeypatch, capsys
):
    experiment = _train(tiny_dataset, "linear", "")
    out = tmp_path / "never"
    cases = {
        ("nope",): "no experiment 'nope'",
        (experiment.name, "--quantize", "int8"): "int8 quantization is for transformer models",
        (experiment.name, "--quantize", "int4"): "--quantize must be one of int8",
        (experiment.name, "--format", "tflite"): "--format must be one of onnx",
        (experiment.name, "--checkpoint", "middle"): "checkpoint must be 'best' or 'last'",
    }
    for args, words in cases.items():
        code, stdout, err = run(monkeypatch, capsys, "export", *args, "--out", str(out))
        assert code == 2 and stdout == "", (args, stdout, err)
        assert len(err.strip().splitlines()) == 1 and words in err, (args, err)
        assert not out.exists()
    assert not list(tmp_path.glob(".never*"))  # no half-written folder left beside it

    # a folder that is not an export is never replaced
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    code, _, err = run(monkeypatch, capsys, "export", experiment.name, "--out", str(mine))
    assert code == 2 and "exists and is not an earlier export" in err and (mine / "notes").is_dir()
    # an export is replaced; a folder that is not one is refused by OnnxPredictor
    from critic.errors import SettingsError
    from critic.export import OnnxPredictor

    for _ in range(2):
        code, _, err = run(monkeypatch, capsys, "export", experiment.name, "--out", str(out))
        assert code == 0, err
    assert OnnxPredictor(out).predict(["a great film"])[0]["label"] in ("negative", "positive")
    with pytest.raises(SettingsError, match="not an exported model"):
        OnnxPredictor(mine)


def test_ensure_export_exports_again_only_when_the_checkpoint_changed(tiny_dataset, tmp_path):
    import os

    from critic.export.to_onnx import ensure_export

    checkpoint = _train(tiny_dataset, "multi-hot-mlp", "").checkpoint("best")
    out = ensure_export(checkpoint, tmp_path / "onnx")
    made = (out / "model.onnx").stat().st_mtime_ns
    os.utime(out / "model.onnx", ns=(made - 10**9, made - 10**9))  # older: a new export would show
    ensure_export(checkpoint, out)
    assert (out / "model.onnx").stat().st_mtime_ns == made - 10**9  # the same checkpoint: kept
    manifest = json.loads((checkpoint / "manifest.json").read_text())
    (checkpoint / "manifest.json").write_text(json.dumps({**manifest, "epoch": 99}))
    ensure_export(checkpoint, out)  # a new best: exported again
    assert json.loads((out / "manifest.json").read_text())["epoch"] == 99
    assert (out / "model.onnx").stat().st_mtime_ns > made - 10**9
