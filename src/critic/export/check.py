"""ONNX Runtime against PyTorch: the same graph on the same inputs, the largest difference in
probability. Run on every export (and again after quantization)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from critic.errors import SettingsError

__all__ = ["require_onnx", "session_for", "probe_inputs", "max_difference"]


def require_onnx():
    """(onnx, onnxruntime), or a SettingsError that says what to install."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise SettingsError(
            "ONNX export needs onnx and onnxruntime (dependencies of critic that are missing here): "
            "pip install onnx onnxruntime"
        ) from None
    return onnx, onnxruntime


def session_for(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session; `threads`: intra-op threads (None: ONNX Runtime's choice)."""
    _, ort = require_onnx()
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def probe_inputs(inputs: dict, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Batches like the example's but of other sizes and lengths, with padding in some rows."""
    rng = np.random.default_rng(seed)
    first = next(iter(inputs.values()))
    high = int(first.max()) + 1
    batches = []
    for batch, length in ((1, 1), (3, max(1, first.shape[1] // 3)), (4, first.shape[1])):
        out = {}
        for name, example in inputs.items():
            if example.dtype == torch.int64:
                ids = rng.integers(2 if name == "input_ids" else 0, high, (batch, length))
                ids[1:, length // 2 :] = (
                    0  # short rows, padded (post; pre-padded rows differ only in side)
                )
                out[name] = ids.astype(np.int64)
            else:
                out[name] = (rng.random((batch, length)) > 0.3).astype(np.float32)
        batches.append(out)
    return batches


def max_difference(graph: torch.nn.Module, session, batches: list[dict]) -> float:
    worst = 0.0
    for feed in batches:
        with torch.no_grad():
            expected = graph(*(torch.from_numpy(v) for v in feed.values()))[1].numpy()
        got = session.run(["probabilities"], feed)[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst
