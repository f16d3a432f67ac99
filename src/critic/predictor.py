"""The one text → prediction path: a checkpoint's encoder + model + class list. Evaluation,
`critic predict` and the server all go through `Predictor`; nothing else cleans or encodes text."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from critic.artifacts import load_checkpoint
from critic.models.graph import trim

__all__ = ["Predictor"]


class Predictor:
    def __init__(self, model, encoder, classes: list[str], manifest: dict, device: str | torch.device = "cpu"):
        self.model, self.encoder, self.classes, self.manifest = model, encoder, classes, manifest
        self.device = torch.device(device)

    @classmethod
    def from_checkpoint(cls, folder: str | Path, device: str = "cpu") -> "Predictor":
        model, encoder, classes, manifest = load_checkpoint(Path(folder), device)
        return cls(model, encoder, classes, manifest, device)

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """(N, n_classes) probabilities, rows in the order of `texts`. Texts are encoded and run a
        batch at a time (similar lengths together when the model allows trimming the padding)."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        margin = getattr(self.model, "trim_margin", None)
        padding = getattr(self.encoder.settings, "padding", "post")
        for start in range(0, len(texts), batch_size):
            rows = np.arange(start, min(start + batch_size, len(texts)))
            encoded = self.encoder.encode([texts[i] for i in rows])
            x = trim(self.encoder.batch(encoded, np.arange(len(rows))), margin, padding).to(self.device)
            out[rows] = torch.softmax(self.model(x).float(), dim=-1).cpu().numpy()
        return out

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """[{"label": ..., "probabilities": {class: p, ...}}, ...]"""
        probs = self.predict_proba(texts)
        return [{"label": self.classes[int(p.argmax())],
                 "probabilities": {c: float(v) for c, v in zip(self.classes, p)}} for p in probs]
