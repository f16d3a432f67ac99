"""Pretrained parts of a block graph (the `Transformer` block): read their config when an
experiment is configured, and their weights when a fresh run starts.

The config goes into the graph spec, so it is saved with every checkpoint (config.json,
model.json): a checkpoint rebuilds the model from it and loads its own weights, and serving never
needs the pretrained source."""

from __future__ import annotations

from dataclasses import replace

from critic.models.blocks import Transformer, TransformerModule
from critic.models.graph import GraphModel, GraphSpec
from critic.text.wordpiece import missing_model, resolve_source

__all__ = ["resolve_pretrained", "load_pretrained_weights", "with_source"]


def with_source(spec: GraphSpec, source: str) -> GraphSpec:
    """Every Transformer block pointed at `source` (its config is read again)."""
    return replace(spec, blocks=tuple(replace(b, params=replace(b.params, source=source, config=None))
                                      if isinstance(b.params, Transformer) else b for b in spec.blocks))


def resolve_pretrained(spec: GraphSpec) -> GraphSpec:
    """Fill in each Transformer block's config from its source's config.json."""
    blocks = []
    for block in spec.blocks:
        if isinstance(block.params, Transformer) and not block.params.config:
            block = replace(block, params=replace(block.params, config=_config(block.params.source)))
        blocks.append(block)
    return replace(spec, blocks=tuple(blocks))


def _config(source: str) -> dict:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(resolve_source(source)).to_dict()
    except (OSError, ValueError) as exc:
        raise missing_model(source, exc) from None
    # keep what rebuilds the architecture; drop provenance that changes between transformers versions
    return {k: v for k, v in config.items() if k not in ("_name_or_path", "transformers_version", "architectures")}


def load_pretrained_weights(model: GraphModel) -> list[str]:
    """Load every Transformer block's pretrained weights; returns the sources loaded."""
    loaded = []
    for block in model.spec.blocks:
        module = model.layers[block.id] if block.id in model.layers else None
        if isinstance(module, TransformerModule):
            module.load_pretrained(block.params.source)
            loaded.append(block.params.source)
    return loaded
