"""Portable models: a checkpoint exported for runtimes outside critic (ONNX), and run back.

    to_onnx.py   export_checkpoint / export_experiment: model.onnx + export.json + tokenizer files;
                 ensure_export: export again only when the checkpoint changed (for servers)
    wrappers.py  what the exported graph computes: the model behind the inputs a runtime feeds
    info.py      export.json: classes, inputs, outputs, how text becomes the inputs
    check.py     ONNX Runtime against PyTorch on the same inputs (every export is checked)
    quantize.py  dynamic int8 quantization of transformer exports
    runtime.py   OnnxPredictor: an exported folder through ONNX Runtime, Predictor's interface

onnx and onnxruntime are imported by the functions that need them; the format is described for
people in docs/export.md."""

__all__ = [
    "export_checkpoint",
    "export_experiment",
    "export_folder",
    "ensure_export",
    "OnnxPredictor",
]


def __getattr__(name: str):
    # light to import: torch, onnx and onnxruntime load with the first export or prediction
    if name in ("export_checkpoint", "export_experiment", "export_folder", "ensure_export"):
        from critic.export import to_onnx

        return getattr(to_onnx, name)
    if name == "OnnxPredictor":
        from critic.export.runtime import OnnxPredictor

        return OnnxPredictor
    raise AttributeError(name)
