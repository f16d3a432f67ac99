"""The one text → prediction path: a checkpoint's encoder + model + class list. Evaluation,
`critic predict` and the server all go through `Predictor`; nothing else cleans or encodes text.
`Predictor.explain` adds, beside the same probabilities, which words drove them (`critic.explain`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from critic.artifacts import load_checkpoint
from critic.batching import EVAL_PARTS, PART_TOKENS, micro_batches, row_costs
from critic.errors import SettingsError
from critic.models.ensemble import Ensemble, is_ensemble, member_folders
from critic.models.graph import trim
from critic.progress import bar
from critic.text.spec import PAD

__all__ = ["PRECISIONS", "Predictor", "answers", "check_precision", "predict_in_chunks"]

# what a neural model computes in: fp32, or bf16 (torch.autocast: matrix products in bfloat16,
# softmax and norms in fp32), about 2x faster on CPUs with AMX or AVX512-BF16 (MiniLM), ~1e-2 apart
PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str, name: str = "precision") -> str:
    """`precision` if it is one of PRECISIONS, else a SettingsError naming the setting `name`."""
    if precision not in PRECISIONS:
        raise SettingsError(f"{name} must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


class Predictor:
    def __init__(
        self,
        model,
        encoder,
        classes: list[str],
        manifest: dict,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
    ):
        check_precision(precision)
        self.model, self.encoder, self.classes, self.manifest = model, encoder, classes, manifest
        self.device, self.precision = torch.device(device), precision
        self._explainers: dict[str, object] = {}  # method → explainer, made on first use
        self._fp32: Predictor | None = None  # explains for a bf16 one: the same model, in fp32

    @classmethod
    def from_checkpoint(
        cls, folder: str | Path, device: str = "cpu", precision: str = "fp32"
    ) -> Predictor:
        folder = Path(folder)
        if is_ensemble(folder):  # its members are Predictors of their own checkpoints
            members = [cls.from_checkpoint(f, device, precision) for f in member_folders(folder)]
            manifest = json.loads((folder / "manifest.json").read_text())
            classes = json.loads((folder / "classes.json").read_text())
            return cls(Ensemble.load(folder, members), None, classes, manifest, device, precision)
        model, encoder, classes, manifest = load_checkpoint(folder, device)
        return cls(model, encoder, classes, manifest, device, precision)

    @torch.inference_mode()
    def predict_proba(
        self, texts: Sequence[str], batch_size: int = 256, chunk: int = 4096
    ) -> np.ndarray:
        """(N, n_classes) probabilities, rows in the order of `texts`. Texts are encoded `chunk`
        at a time (memory stays flat for any N) and run in batches of similar length, each trimmed
        to its longest text when the model allows it."""
        texts = list(texts)
        if self.encoder is None:  # the linear model and an ensemble read text themselves
            return self.model.predict_proba(texts)
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        margin = getattr(self.model, "trim_margin", None)
        padding = getattr(self.encoder.settings, "padding", "post")
        # a batch of `batch_size` rows at most, cut into parts of at most this many padded tokens
        # (critic.batching): 256 MiniLM rows at length 256 held 1.6 GB of attention scores
        tokens = EVAL_PARTS * getattr(self.model, "part_tokens", PART_TOKENS)
        autocast = torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
        )
        for start in range(0, len(texts), chunk):
            part = texts[start : start + chunk]
            encoded = self.encoder.encode(part)
            lengths = (encoded != PAD).sum(1) if isinstance(encoded, np.ndarray) else None
            cost = row_costs(encoded, lengths, margin)
            order = (
                np.argsort(lengths, kind="stable")
                if margin is not None and lengths is not None
                else np.arange(len(part))
            )
            for i in range(0, len(part), batch_size):
                for rows in micro_batches(order[i : i + batch_size], cost, tokens):
                    x = trim(self.encoder.batch(encoded, rows), margin, padding).to(self.device)
                    with autocast:
                        logits = self.model(x)
                    probs = torch.softmax(logits.float(), dim=-1)
                    out[start + rows] = probs.cpu().numpy()
        return out

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """[{"label": ..., "probabilities": {class: p, ...}}, ...]"""
        return answers(self.classes, self.predict_proba(texts))

    def explain(
        self, texts: Sequence[str], target: str | None = None, *, method: str = "auto"
    ) -> list:
        """One `critic.explain.Explanation` per text: `predict_proba`'s probabilities, and a signed
        score for each word of the text toward class `target` (default: the predicted one).
        `.answer()` is `predict`'s answer with an "explanation" added."""
        from critic.explain import explain, explainer_for

        if self.precision != "fp32":  # gradients and their completeness in fp32: the same model
            if self._fp32 is None:
                self._fp32 = Predictor(
                    self.model, self.encoder, self.classes, self.manifest, self.device
                )
            return self._fp32.explain(texts, target, method=method)
        if method not in self._explainers:
            self._explainers[method] = explainer_for(self, method)
        return explain(self, texts, target, explainer=self._explainers[method])


def answers(classes: list[str], probs: np.ndarray) -> list[dict]:
    """(N, n_classes) probabilities → one {"label", "probabilities": {class: p}} per row: the answer
    the CLI, the server and the workbench give."""
    return [
        {
            "label": classes[int(p.argmax())],
            "probabilities": {c: float(v) for c, v in zip(classes, p)},
        }
        for p in probs
    ]


def predict_in_chunks(
    predictor: Predictor,
    texts: Sequence[str],
    description: str,
    *,
    progress: bool = True,
    chunk: int = 2048,
) -> np.ndarray:
    """`predictor.predict_proba` over many texts, `chunk` at a time, with a progress bar: (N, n_classes)."""
    texts = list(texts)
    probs = np.zeros((len(texts), len(predictor.classes)), dtype=np.float32)
    with bar(description, len(texts), enabled=progress) as advance:
        for i in range(0, len(texts), chunk):
            probs[i : i + chunk] = predictor.predict_proba(texts[i : i + chunk])
            advance(len(probs[i : i + chunk]))
    return probs
