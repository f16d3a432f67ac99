"""A model as a graph of blocks: the one way every preset and every user model is built.

    [[model.blocks]]                       # TOML; `inputs` defaults to the previous block
    type = "Embedding"
    dim = 64
    [[model.blocks]]
    id = "conv3"
    type = "Conv1D"
    inputs = ["embedding"]
    ...

`GraphSpec` is the validated description (saved as JSON with every checkpoint); `GraphModel`
is the torch module built from it for a given encoder input and number of classes."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import torch
from torch import nn

from critic.batching import TRANSFORMER_PART_TOKENS
from critic.errors import GraphError
from critic.fields import check_keys
from critic.models.blocks import (
    MONOTONIC,
    ConvModule,
    Flatten,
    Input,
    Output,
    Shape,
    TransformerModule,
    block_params,
)
from critic.models.init import INITS, initialize
from critic.text.spec import PAD, InputSpec

__all__ = ["Block", "GraphSpec", "GraphModel", "check_graph", "trim"]

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Block:
    id: str
    type: str
    inputs: tuple[str, ...]
    params: object  # the block type's parameter dataclass

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "inputs": list(self.inputs),
            **asdict(self.params),
        }


@dataclass(frozen=True)
class GraphSpec:
    blocks: tuple[Block, ...]
    init: str = (
        "keras"  # "keras" reproduces the published Keras numbers; "torch" keeps PyTorch's defaults
    )

    @classmethod
    def from_dict(cls, data: dict) -> GraphSpec:
        check_keys(data, {"blocks", "init"}, "model setting", error=GraphError)
        init = data.get("init", "keras")
        if init not in INITS:
            raise GraphError(f"model init must be one of {INITS}, got {init!r}")
        raw = list(data.get("blocks") or [])
        if not raw:
            raise GraphError(
                'a model needs blocks, e.g. [[model.blocks]] type = "Embedding" dim = 64 ... type = "Output"'
            )
        if raw[0].get("type") != "Input":
            raw.insert(0, {"type": "Input", "id": "input"})
        return cls(tuple(_parse_blocks(raw)), init)

    def as_dict(self) -> dict:
        return {"init": self.init, "blocks": [b.as_dict() for b in self.blocks]}


def _parse_blocks(raw: list[dict]) -> list[Block]:
    blocks, seen = [], set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "type" not in item:
            raise GraphError(
                f"block #{i + 1} needs a 'type' (one of Input, Embedding, Conv1D, ...)"
            )
        item = dict(item)
        block_type = item.pop("type")
        block_id = item.pop("id", None) or _default_id(block_type, seen)
        if not _ID.fullmatch(str(block_id)) or block_id in seen:
            raise GraphError(
                f"block id {block_id!r} is {'used twice' if block_id in seen else 'not a valid name'}"
            )
        inputs = item.pop("inputs", None)
        inputs = tuple([blocks[-1].id] if inputs is None and blocks else (inputs or ()))
        for name in inputs:
            if name not in seen:
                raise GraphError(
                    f"block {block_id!r}: input {name!r} is not a block defined before it"
                )
        if block_type == "Input" and (inputs or blocks):
            raise GraphError(
                f"block {block_id!r}: Input must be the first block and takes no inputs"
            )
        blocks.append(Block(block_id, block_type, inputs, block_params(block_type, block_id, item)))
        seen.add(block_id)
    _check_outputs(blocks)
    return blocks


def _default_id(block_type: str, seen: set[str]) -> str:
    base = block_type.lower()
    if base not in seen:
        return base
    n = 2
    while f"{base}{n}" in seen:
        n += 1
    return f"{base}{n}"


def _check_outputs(blocks: list[Block]) -> None:
    outputs = [b for b in blocks if isinstance(b.params, Output)]
    if len(outputs) != 1 or blocks[-1] is not outputs[0]:
        raise GraphError("a model has exactly one Output block, and it comes last")
    used = {name for b in blocks for name in b.inputs}
    unused = [b.id for b in blocks[:-1] if b.id not in used]
    if unused:
        raise GraphError(
            f"the output of block(s) {unused} goes nowhere; connect them or remove them"
        )


class GraphModel(nn.Module):
    """forward(x) → logits (B, n_classes). x: ids (B, T) int64 or a dense vector (B, V)."""

    def __init__(self, spec: GraphSpec, input_spec: InputSpec, n_classes: int):
        super().__init__()
        self.spec, self.n_classes = spec, n_classes
        self.layers = nn.ModuleDict()
        self.shapes: dict[str, Shape] = {}
        for block in spec.blocks:
            self.shapes[block.id] = self._build(block, input_spec, n_classes)
        out = self.shapes[spec.blocks[-1].id]
        # Trimming a padded batch to its longest text (+ the widest window) changes nothing only when
        # the input is word ids and every path ends in a masked global pooling.
        self.trim_margin = (
            out.context if input_spec.kind == "ids" and out.length_invariant else None
        )
        # padded tokens a training part may hold (critic.train.micro_batches): a transformer
        # keeps ~0.5 MB of activations a token for its backward pass (MiniLM, fp32), a CNN ~40 KB
        self.part_tokens = (
            TRANSFORMER_PART_TOKENS
            if any(isinstance(m, TransformerModule) for m in self.modules())
            else 32_768
        )
        self._defer_activations()
        initialize(self, spec.init)

    def _defer_activations(self) -> None:
        """Conv1D(monotonic f) → GlobalMaxPool1D, the conv feeding nothing else: pool, then apply f."""
        consumers: dict[str, list[str]] = {}
        for block in self.spec.blocks:
            for name in block.inputs:
                consumers.setdefault(name, []).append(block.id)
        for block in self.spec.blocks:
            if block.type != "GlobalMaxPool1D":
                continue
            (source,) = block.inputs
            conv = self.layers[source] if source in self.layers else None
            if (
                isinstance(conv, ConvModule)
                and isinstance(conv.activation, MONOTONIC)
                and consumers[source] == [block.id]
            ):
                conv.deferred = True
                pool = self.layers[block.id]
                pool.activation, pool.owns_input = (
                    conv.activation,
                    True,
                )  # conv1d keeps no copy of its output

    def _build(self, block: Block, input_spec: InputSpec, n_classes: int) -> Shape:
        if isinstance(block.params, Input):
            kind = "ids" if input_spec.kind == "ids" else "vec"
            return Shape(kind, input_spec.vocab_size, input_spec.length)
        if isinstance(block.params, Flatten) and input_spec.kind != "ids":
            raise GraphError(
                f"block {block.id!r}: Flatten needs a sequence; the encoder gives vectors"
            )
        module, shape = block.params.build(
            block.id, [self.shapes[i] for i in block.inputs], n_classes
        )
        self.layers[block.id] = module
        return shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {}
        for block in self.spec.blocks:
            if not block.inputs:
                values[block.id] = (x, None)
                continue
            xs, masks = zip(*(values[i] for i in block.inputs))
            values[block.id] = self.layers[block.id](list(xs), list(masks))
        return values[self.spec.blocks[-1].id][0]

    @torch.no_grad()
    def constrain(self) -> None:
        """Apply max-norm constraints after an optimizer step (Keras applies them the same way)."""
        for module in self.layers.values():
            if module.constraint is not None:
                w = module.linear.weight  # (out, in): each row is one unit's incoming weights
                w.copy_(torch.renorm(w, 2, 0, module.constraint))

    def summary(self) -> list[tuple[str, str, str, int]]:
        """(id, type, output shape, parameters) per block."""
        rows = []
        for block in self.spec.blocks:
            module = self.layers[block.id] if block.id in self.layers else None
            n = sum(p.numel() for p in module.parameters()) if module is not None else 0
            rows.append((block.id, block.type, str(self.shapes[block.id]), n))
        return rows


def trim(x: torch.Tensor, margin: int | None, padding: str) -> torch.Tensor:
    """Drop the all-PAD columns of a (B, T) id batch beyond its longest row (+ `margin` for the
    widest window). For models whose output does not depend on padding (margin is not None)."""
    if margin is None or x.dim() != 2:
        return x
    real = int((x != PAD).sum(1).max())
    keep = min(x.shape[1], max(1, real) + margin)
    return x[:, :keep] if padding == "post" else x[:, x.shape[1] - keep :]


def check_graph(spec: GraphSpec, input_spec: InputSpec) -> None:
    """Build once on the meta device (no memory, no compute) so shape errors surface before a run."""
    with torch.device("meta"):
        GraphModel(spec, input_spec, 2)
