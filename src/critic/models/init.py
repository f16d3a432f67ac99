"""Weight initialization. "keras" reproduces Keras's defaults (the presets' published numbers come
from Keras): Embedding uniform ±0.05, Glorot-uniform kernels, orthogonal recurrent kernels, zero
biases, LSTM forget-gate bias 1. "torch" keeps PyTorch's own defaults."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["INITS", "initialize"]

INITS = ("keras", "torch")


@torch.no_grad()
def initialize(module: nn.Module, scheme: str) -> None:
    if scheme == "torch":
        return
    pretrained = {
        id(m)
        for owner in module.modules()
        if getattr(owner, "pretrained", False)
        for m in owner.modules()
    }
    for m in module.modules():
        if (
            id(m) in pretrained
        ):  # a pretrained encoder keeps its own initialization and then its weights
            continue
        if isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)
        elif isinstance(m, (nn.Linear, nn.Conv1d)):
            nn.init.xavier_uniform_(
                m.weight
            )  # for Conv1d torch's fans include the kernel size, as Keras's do
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LSTM):
            _keras_lstm(m)


def _keras_lstm(lstm: nn.LSTM) -> None:
    hidden = lstm.hidden_size
    for name, param in lstm.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(param)  # (4H, in): the same fans as Keras's (in, 4H) kernel
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(
                param
            )  # (4H, H) with orthonormal columns = Keras's (H, 4H) transposed
        elif name.startswith("bias_ih"):
            nn.init.zeros_(param)
            param[hidden : 2 * hidden] = (
                1.0  # unit_forget_bias; torch gate order i, f, g, o like Keras's i, f, c, o
            )
        elif name.startswith("bias_hh"):
            nn.init.zeros_(param)
