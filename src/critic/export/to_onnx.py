"""A checkpoint → a folder a runtime outside critic can use:

    OUT/
      model.onnx       the graph (`critic.export.wrappers`): dynamic batch and sequence axes
      export.json      classes, inputs, outputs, how text becomes the inputs (`critic.export.info`)
      tokenizer.json   the checkpoint's tokenizer, as saved (+ encoder.json: critic's settings)
      features.json    the linear model only: its n-grams, in column order (+ vocabulary.json and
                       ngrams.safetensors: the vectorizer as critic saves it)
      manifest.json    the checkpoint's manifest (dataset, settings, epoch, metrics)

The folder is checked before it is put in place: `onnx.checker`, then ONNX Runtime against
PyTorch on random inputs of several lengths (`check` in export.json)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

import critic
from critic.artifacts import load_checkpoint, replace_dir, write_json
from critic.errors import SettingsError
from critic.export.check import max_difference, probe_inputs, require_onnx, session_for
from critic.export.info import EXPORT_FORMAT, linear_text_settings, text_settings
from critic.export.wrappers import IdsGraph, LinearGraph, MultiHotGraph
from critic.models.blocks import TransformerModule
from critic.models.linear import NBLinear

__all__ = [
    "OPSET",
    "QUANTIZATIONS",
    "Exported",
    "export_checkpoint",
    "export_experiment",
    "export_folder",
    "ensure_export",
]

OPSET = 17  # LayerNormalization is one op from 17; ONNX Runtime 1.17+ runs it
QUANTIZATIONS = ("int8",)
TOLERANCE = 1e-4  # largest |Δ probability| between ONNX Runtime and PyTorch accepted at export


@dataclass(frozen=True)
class Exported:
    folder: Path
    kind: str  # words, multi-hot, wordpiece, ngrams
    max_difference: (
        float  # ONNX Runtime vs PyTorch, the largest |Δ probability| on the check inputs
    )
    quantization: str | None


def export_experiment(
    name: str,
    checkpoint: str = "best",
    out: Path | None = None,
    *,
    quantize: str | None = None,
    workspace=None,
) -> Exported:
    """`critic export`: one experiment's checkpoint; OUT defaults to
    <experiment>/exports/<checkpoint>-onnx (-int8 when quantized)."""
    from critic.experiments.store import get_experiment

    experiment = get_experiment(name, workspace)
    folder = experiment.checkpoint(checkpoint)
    out = Path(out) if out else export_folder(experiment.path, checkpoint, quantize)
    source = {"experiment": name, "checkpoint": checkpoint}
    return export_checkpoint(folder, out, quantize=quantize, source=source)


def export_folder(experiment: Path, checkpoint: str, quantize: str | None = None) -> Path:
    """Where `critic export` writes by default, and where an ONNX deployment's export lives."""
    suffix = f"-{quantize}" if quantize else ""
    return Path(experiment) / "exports" / f"{checkpoint}-onnx{suffix}"


def export_checkpoint(
    checkpoint: Path, out: Path, *, quantize: str | None = None, source: dict | None = None
) -> Exported:
    """Export one checkpoint folder to `out` (replaced atomically)."""
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise SettingsError(
            f"--quantize must be one of {', '.join(QUANTIZATIONS)}, got {quantize!r}"
        )
    require_onnx()
    _check_out(Path(out))
    model, encoder, classes, manifest = load_checkpoint(Path(checkpoint))
    if quantize and not _has_transformer(model):
        raise SettingsError(
            "int8 quantization is for transformer models (BERT-style presets); "
            "export this model without --quantize"
        )
    result: list[Exported] = []

    def fill(tmp: Path) -> None:
        if encoder is None:
            graph, inputs, text = _linear_parts(model, tmp)
        else:
            graph, inputs, text = _neural_parts(model, encoder, tmp)
        _write_onnx(graph, inputs, tmp / "model.onnx")
        difference = _check(graph, inputs, tmp / "model.onnx")
        if quantize:
            from critic.export.quantize import quantize_int8

            difference = quantize_int8(tmp / "model.onnx", graph, inputs)
        write_json(tmp / "manifest.json", manifest)
        write_json(
            tmp / "export.json",
            _info(
                classes,
                inputs,
                text,
                source,
                difference,
                quantize,
                model.n_classes_ if encoder is None else model.n_classes,
            ),
        )
        result.append(Exported(Path(out), text["kind"], difference, quantize))

    replace_dir(Path(out), fill)
    return result[0]


def ensure_export(checkpoint: Path, out: Path, *, quantize: str | None = None) -> Path:
    """`out`, exported from `checkpoint` unless it already holds this very checkpoint's export
    (same manifest, same quantization): what a server that runs ONNX Runtime calls at start-up,
    so a checkpoint that changed (a resumed run's new best) is exported again."""
    checkpoint, out = Path(checkpoint), Path(out)
    try:
        same = json.loads((out / "manifest.json").read_text()) == json.loads(
            (checkpoint / "manifest.json").read_text()
        ) and json.loads((out / "export.json").read_text()).get("quantization") == (
            f"{quantize}-dynamic" if quantize else None
        )
    except (OSError, ValueError):
        same = False
    if not same:
        export_checkpoint(checkpoint, out, quantize=quantize)
    return out


def _check_out(out: Path) -> None:
    """`out` is replaced: only an earlier export (or nothing, or an empty folder) may be there."""
    if out.exists() and not (
        out.is_dir() and (not any(out.iterdir()) or (out / "export.json").is_file())
    ):
        raise SettingsError(
            f"{out} exists and is not an earlier export (no export.json); "
            "choose another --out, or remove it first"
        )


def _has_transformer(model) -> bool:
    return isinstance(model, torch.nn.Module) and any(
        isinstance(m, TransformerModule) for m in model.modules()
    )


# -- the graph and its example inputs --------------------------------------------------------------


def _neural_parts(model, encoder, tmp: Path):
    """(graph, {input name: example (B, T) ids}, text settings); the tokenizer files copied."""
    encoder.save(tmp)  # tokenizer.json + encoder.json
    spec = encoder.input_spec
    if spec.kind == "ids":
        graph = IdsGraph(model, spec.length, spec.padding)
        length = spec.length
    else:
        graph, length = MultiHotGraph(model, spec.vocab_size), 16
    ids = torch.randint(2, max(3, min(spec.vocab_size, 100)), (2, length))
    return graph.eval(), {"input_ids": ids}, text_settings(encoder)


def _linear_parts(model: NBLinear, tmp: Path):
    """(graph, {features, values} examples, text settings); the n-gram table written."""
    words, tables = model.vectorizer_.state()
    from safetensors.numpy import save_file

    save_file(tables, str(tmp / "ngrams.safetensors"))
    (tmp / "vocabulary.json").write_text(json.dumps(words, ensure_ascii=False))
    (tmp / "features.json").write_text(
        json.dumps(model.vectorizer_.feature_names(), ensure_ascii=False)
    )
    n = max(1, model.vectorizer_.n_features)
    features = torch.randint(0, n, (2, 8))
    values = torch.ones(2, 8)
    return (
        LinearGraph(model).eval(),
        {"features": features, "values": values},
        (linear_text_settings(model)),
    )


def _write_onnx(graph: torch.nn.Module, inputs: dict, path: Path) -> None:
    onnx, _ = require_onnx()
    names = list(inputs)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes.update({out: {0: "batch"} for out in ("logits", "probabilities")})
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and trace notes
        torch.onnx.export(
            graph,
            tuple(inputs.values()),
            str(path),
            input_names=names,
            output_names=["logits", "probabilities"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,  # the TorchScript exporter: dynamic axes without onnxscript
        )
    onnx.checker.check_model(str(path), full_check=True)


def _check(graph: torch.nn.Module, inputs: dict, path: Path) -> float:
    difference = max_difference(graph, session_for(path, threads=1), probe_inputs(inputs))
    if not difference <= TOLERANCE:
        raise SettingsError(
            f"the exported model differs from PyTorch by {difference:.2g} (more than {TOLERANCE}); "
            "please report it with the experiment's config.json"
        )
    return difference


def _info(classes, inputs, text, source, difference, quantize, n_classes) -> dict:
    kinds = {torch.int64: "int64", torch.float32: "float32"}
    return {
        "format": EXPORT_FORMAT,
        "model": "model.onnx",
        "opset": OPSET,
        "quantization": f"{quantize}-dynamic" if quantize else None,
        "classes": classes,
        "inputs": [
            {"name": name, "dtype": kinds[x.dtype], "shape": ["batch", "sequence"]}
            for name, x in inputs.items()
        ],
        "outputs": [
            {"name": name, "dtype": "float32", "shape": ["batch", n_classes]}
            for name in ("logits", "probabilities")
        ],
        "text": text,
        "source": {**(source or {}), "critic_version": critic.__version__},
        "check": {
            "max_abs_difference": difference,
            "against": "PyTorch fp32",
            "tolerance": None if quantize else TOLERANCE,
        },
    }
