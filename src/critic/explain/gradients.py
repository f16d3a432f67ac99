"""Integrated Gradients (Sundararajan et al. 2017, through Captum) for the graph models.

What is explained is the class's log-odds, log(p / (1 − p)) = z_c − logsumexp(z_others), from the
model's logits: two classes give z_c − z_other, as the linear model does.

- Word ids (word encoders, WordPiece): the path runs from the embeddings of [PAD] to the
  embeddings of the words, at the embedding layer's output (every `Embedding` block, or a
  Transformer's word embeddings), while the ids — and so every padding mask — stay the text's own.
  The baseline (`base`) is the text with every word's embedding replaced by [PAD]'s ([CLS] and
  [SEP] kept, so they score 0): a text of as many blank words, which a model that pools over
  padding (kim-cnn) reads as the empty text. A position's score is its attribution summed over
  the embedding dimensions; WordPiece pieces fold back onto their words (`spans.fold`).
- Multi-hot vectors: the path runs from the zero vector (no word) to the text's vector; a present
  word's column score is shared by its occurrences (unknown words share OOV's).

Completeness: the scores add up to value − base, up to the integral's discretisation (Gauss–
Legendre, `steps` points). The error reported is |base + Σ scores − value| / max(|value − base|,
0.1); when it is over `tolerance`, the steps double (up to `max_steps`) and the path is integrated
again."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from critic.explain.reading import read
from critic.explain.result import Explanation
from critic.explain.spans import on_words
from critic.models.blocks import EmbeddingModule, TransformerModule
from critic.models.graph import trim
from critic.text.spec import OOV, PAD

__all__ = ["Steps", "IdsExplainer", "VectorExplainer", "log_odds"]

_FLOOR = 0.1  # log-odds: below this change, the completeness error is taken relative to 0.1


@dataclass(frozen=True)
class Steps:
    # Gauss–Legendre points. Measured on 100 IMDB reviews (bench/explain.py): at 16, the error is
    # 0.2 % at p50 and 2.2 % at p95 for a Kim CNN, 5.6 % at p95 for cnn-1d, 8.1 % for a fine-tuned
    # MiniLM (0.6 % at 32, on 20 reviews); the few over 5 % double
    steps: int = 16
    tolerance: float = 0.05  # the completeness error that makes the steps double
    max_steps: int = 128  # the most it doubles to (the error is then reported as it is)


def log_odds(logits: torch.Tensor, target: int) -> torch.Tensor:
    """(B, K) logits → (B,) log(p_target / (1 − p_target))."""
    others = torch.cat([logits[:, :target], logits[:, target + 1 :]], dim=1)
    return logits[:, target] - torch.logsumexp(others, dim=1)


class _Integrated:
    """Integrated Gradients with doubling steps; subclasses say what is integrated."""

    def __init__(self, predictor, steps: Steps):
        self.predictor, self.steps = predictor, steps
        self.model, self.encoder = predictor.model, predictor.encoder
        self._lock = threading.Lock()  # Captum hooks the model's layers while it integrates
        self.device = predictor.device

    def _integrate(self, method, x, baseline, target: int):
        """(attributions, value, base, error, steps) for one text."""
        with self._lock:
            return self._integrate_unlocked(method, x, baseline, target)

    def _integrate_unlocked(self, method, x, baseline, target: int):
        with torch.no_grad():
            value = float(self._forward(x, target)[0])
            base = float(self._start(x, baseline, target))
        n = self.steps.steps
        while True:
            with torch.enable_grad():
                attributions = method.attribute(
                    x,
                    baselines=baseline,
                    additional_forward_args=(target,),
                    n_steps=n,
                    internal_batch_size=self._rows_per_pass(x, n),
                )
            total = sum(float(a.sum()) for a in _listed(attributions))
            error = abs(base + total - value) / max(abs(value - base), _FLOOR)
            if error <= self.steps.tolerance or n >= self.steps.max_steps:
                return attributions, value, base, error, n
            n = min(2 * n, self.steps.max_steps)

    def _rows_per_pass(self, x: torch.Tensor, n: int) -> int:
        """How many of the n path points go through one forward and backward pass: all of them,
        unless the input is word ids and they would hold more padded tokens than a training part
        of this model (critic.batching): 32 MiniLM points at length 256 in one pass held ~6 GB of
        activations for the backward pass."""
        budget = getattr(self.model, "part_tokens", None)
        if budget is None or x.dtype.is_floating_point:
            return n
        return max(1, min(n, budget // max(1, x.shape[-1])))

    def _forward(self, x: torch.Tensor, target: int) -> torch.Tensor:
        return log_odds(self.model(x).float(), target)

    def _start(self, x: torch.Tensor, baseline: torch.Tensor, target: int) -> float:
        """The log-odds where the path starts: the model on the baseline."""
        return float(self._forward(baseline, target)[0])


def _listed(attributions) -> list[torch.Tensor]:
    return list(attributions) if isinstance(attributions, list | tuple) else [attributions]


class IdsExplainer(_Integrated):
    """Models over word ids (word encoders, WordPiece)."""

    def __init__(self, predictor, steps: Steps = Steps()):
        from captum.attr import LayerIntegratedGradients  # imported on the first explanation

        super().__init__(predictor, steps)
        layers = _embedding_layers(self.model)
        self.layers = layers
        self.method = LayerIntegratedGradients(
            self._forward, layers if len(layers) > 1 else layers[0]
        )

    def _start(self, x: torch.Tensor, baseline: torch.Tensor, target: int) -> float:
        """The log-odds where the path starts: the text's own ids (so its masks), with the
        baseline's embeddings — the model on `baseline` itself would mask every word away."""

        def replace(module, args, output):
            return torch.nn.functional.embedding(baseline, module.weight)

        handles = [layer.register_forward_hook(replace) for layer in self.layers]
        try:
            return float(self._forward(x, target)[0])
        finally:
            for handle in handles:
                handle.remove()

    def explain(self, text: str, target: int | None, classes: list[str], p) -> Explanation:
        """`text` explained for class `target` (None: the predicted one); `p`: its (K,)
        probabilities from `Predictor.predict_proba`."""
        label, target = int(p.argmax()), int(p.argmax()) if target is None else target
        reading = read(self.predictor, text)
        margin = getattr(self.model, "trim_margin", None)
        padding = getattr(self.encoder.settings, "padding", "post")
        full = torch.from_numpy(reading.row[None, :])
        x = trim(full, margin, padding).to(self.device)
        # "pre" padding: trimming drops columns at the front
        positions = torch.from_numpy(reading.positions) + (
            x.shape[1] - full.shape[1] if padding == "pre" else 0
        )
        baseline = x.clone()
        baseline[0, positions] = PAD  # the empty text: no word, the same special tokens
        attributions, value, base, error, n = self._integrate(self.method, x, baseline, target)
        per_position = sum(a[0].sum(-1) for a in _listed(attributions)).detach().cpu().numpy()
        scores = np.zeros(len(reading.units))
        scores[np.flatnonzero(reading.seen)] = per_position[positions.numpy()]
        spans, unseen = on_words(text, reading.units, scores, reading.seen, words=reading.words)
        return Explanation(
            classes[label],
            {c: float(v) for c, v in zip(classes, p)},
            classes[target],
            "integrated-gradients",
            "log-odds",
            value,
            base,
            spans,
            unseen,
            error,
            n,
        )


class VectorExplainer(_Integrated):
    """Models over a multi-hot vector (B, V)."""

    def __init__(self, predictor, steps: Steps = Steps()):
        from captum.attr import IntegratedGradients

        super().__init__(predictor, steps)
        self.method = IntegratedGradients(self._forward)
        self.vocabulary = self.encoder.fitted.get_vocab()  # token → id, read once

    def explain(self, text: str, target: int | None, classes: list[str], p) -> Explanation:
        label, target = int(p.argmax()), int(p.argmax()) if target is None else target
        reading = read(self.predictor, text)
        ids = np.array([self.vocabulary.get(t, OOV) for t in reading.tokens], dtype=np.int64)
        x = self.encoder.batch(self.encoder.encode([text]), np.array([0])).to(self.device)
        attributions, value, base, error, n = self._integrate(
            self.method, x, torch.zeros_like(x), target
        )
        column = attributions[0].detach().cpu().numpy().astype(np.float64)  # (V,)
        occurrences = np.bincount(ids, minlength=len(column)) if len(ids) else np.zeros(1)
        scores = column[ids] / np.maximum(occurrences[ids], 1) if len(ids) else np.zeros(0)
        spans, unseen = on_words(text, reading.units, scores, reading.seen, words=reading.words)
        return Explanation(
            classes[label],
            {c: float(v) for c, v in zip(classes, p)},
            classes[target],
            "integrated-gradients",
            "log-odds",
            value,
            base,
            spans,
            unseen,
            error,
            n,
        )


def _embedding_layers(model) -> list[torch.nn.Module]:
    """Every embedding lookup of the graph: its Embedding blocks, a Transformer's word embeddings."""
    found = []
    for module in model.layers.values():
        if isinstance(module, EmbeddingModule):
            found.append(module.embedding)
        elif isinstance(module, TransformerModule):
            found.append(module.encoder.get_input_embeddings())
    return found
