"""What an exported graph computes: a checkpoint's model behind the inputs a serving runtime feeds.

Every word model takes one input, `input_ids` (B, T) int64 (PAD = 0), with both axes dynamic:
- word-sequence and WordPiece models: the encoder's ids, T ≤ the encoder's length, padded on its
  padding side. `IdsGraph` pads the batch back inside the graph as far as the model needs:
  to the full length for models whose answer depends on padding (Flatten, LSTM), by the model's
  `trim_margin` for the others. So a runtime may cut a batch to its longest text, as `Predictor`
  does, and get the same numbers.
- multi-hot models: the tokenizer's ids in any order and any count; `MultiHotGraph` turns them
  into the (B, max_words) 0/1 vector inside the graph (PAD's column stays 0, as the encoder's).
The linear model takes `features` (B, N) int64 column numbers and `values` (B, N) float32 (the
n-gram counts, binarized or 1 + ln tf; 0 for padding): `LinearGraph`.
Every graph answers `logits` (B, n_classes) and `probabilities` (their softmax, float32)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from critic.models.graph import GraphModel
from critic.models.linear import NBLinear
from critic.text.spec import PAD

__all__ = ["IdsGraph", "MultiHotGraph", "LinearGraph"]


def _answer(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logits = logits.float()
    return logits, torch.softmax(logits, dim=-1)


class IdsGraph(nn.Module):
    """input_ids (B, T ≤ length) → the model on (B, min(length, T + extra)) ids."""

    def __init__(self, model: GraphModel, length: int, padding: str):
        super().__init__()
        self.model, self.length, self.post = model, length, padding == "post"
        margin = model.trim_margin
        # PAD columns added before the model sees the batch: all of them up to `length` when the
        # answer depends on padding, else the widest window's margin (what `trim` keeps)
        self.extra = length if margin is None else margin

    def forward(self, input_ids: torch.Tensor):
        x = input_ids
        if self.extra:
            pad = (0, self.extra) if self.post else (self.extra, 0)
            x = nn.functional.pad(x, pad, value=PAD)
            # constant slice bounds: ONNX clamps them to the dynamic width
            x = x[:, : self.length] if self.post else x[:, -self.length :]
        return _answer(self.model(x))


class MultiHotGraph(nn.Module):
    """input_ids (B, T) → the (B, vocab) 0/1 vector of the ids present → the model."""

    def __init__(self, model: GraphModel, vocab: int):
        super().__init__()
        self.model, self.vocab = model, vocab
        keep = torch.ones(vocab)
        keep[PAD] = 0.0  # padding ids mark nothing
        self.register_buffer("keep", keep)

    def forward(self, input_ids: torch.Tensor):
        hot = torch.zeros_like(input_ids[:, :1], dtype=torch.float32).repeat(1, self.vocab)
        hot = hot.scatter(1, input_ids, 1.0) * self.keep
        return _answer(self.model(hot))


class LinearGraph(nn.Module):
    """features (B, N) columns, values (B, N) → logits as `NBLinear._scores`: X · (ratios ∘ weights) + b."""

    def __init__(self, model: NBLinear):
        super().__init__()
        effective = np.ascontiguousarray((model.ratios_ * model.weights_).T)  # (F, K)
        self.register_buffer("weights", torch.from_numpy(effective.astype(np.float32)))
        self.register_buffer("biases", torch.from_numpy(model.biases_.astype(np.float32)))
        self.binary = model.n_classes_ == 2  # one score: sigmoid = softmax([0, z])

    def forward(self, features: torch.Tensor, values: torch.Tensor):
        z = (self.weights[features] * values.unsqueeze(-1)).sum(1) + self.biases  # (B, K)
        if self.binary:
            z = torch.cat([torch.zeros_like(z), z], dim=1)
        return _answer(z)
