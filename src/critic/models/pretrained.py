"""Pretrained parts of a block graph: the `Transformer` block (its config is read when an
experiment is configured, its weights when a fresh run starts) and `Embedding` blocks with
`pretrain` (word vectors learned from the train subset when a fresh run starts).

The config goes into the graph spec, so it is saved with every checkpoint (config.json,
model.json): a checkpoint rebuilds the model from it and loads its own weights, and serving never
needs the pretrained source."""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import torch

from critic.errors import SettingsError
from critic.models.blocks import EmbeddingModule, Transformer, TransformerModule
from critic.models.graph import GraphModel, GraphSpec
from critic.text.wordpiece import from_pretrained

__all__ = ["resolve_pretrained", "load_pretrained_weights", "pretrain_embeddings", "with_source"]


def with_source(spec: GraphSpec, source: str) -> GraphSpec:
    """Every Transformer block pointed at `source` (its config is read again)."""
    return replace(
        spec,
        blocks=tuple(
            replace(b, params=replace(b.params, source=source, config=None))
            if isinstance(b.params, Transformer)
            else b
            for b in spec.blocks
        ),
    )


def resolve_pretrained(spec: GraphSpec) -> GraphSpec:
    """Fill in each Transformer block's config from its source's config.json."""
    blocks = []
    for block in spec.blocks:
        if isinstance(block.params, Transformer) and not block.params.config:
            block = replace(
                block, params=replace(block.params, config=_config(block.params.source))
            )
        blocks.append(block)
    return replace(spec, blocks=tuple(blocks))


def _config(source: str) -> dict:
    from critic.hf import transformers_names

    (AutoConfig,) = transformers_names("AutoConfig")

    config = from_pretrained(AutoConfig.from_pretrained, source).to_dict()
    # keep what rebuilds the architecture; drop provenance that changes between transformers versions
    return {
        k: v
        for k, v in config.items()
        if k not in ("_name_or_path", "transformers_version", "architectures")
    }


def load_pretrained_weights(model: GraphModel) -> list[str]:
    """Load every Transformer block's pretrained weights; returns the sources loaded."""
    loaded = []
    for block in model.spec.blocks:
        module = model.layers[block.id] if block.id in model.layers else None
        if isinstance(module, TransformerModule):
            module.load_pretrained(block.params.source)
            loaded.append(block.params.source)
    return loaded


def pretrain_embeddings(model: GraphModel, ids: np.ndarray, seed: int) -> list[str]:
    """Set each `pretrain = "skipgram"` Embedding's rows to word2vec skip-gram vectors learned from
    `ids` (N, T) (the encoded train subset; PAD = 0 is left out). One worker thread and a fixed
    hash make the vectors the same on every run. Ids that never occur keep their initial rows."""
    done = []
    for block in model.spec.blocks:
        module = model.layers[block.id] if block.id in model.layers else None
        if isinstance(module, EmbeddingModule) and module.pretrain == "skipgram":
            vectors = skipgram_vectors(ids, module.embedding.embedding_dim, seed)
            rows = torch.tensor(list(vectors), dtype=torch.long)
            values = torch.from_numpy(np.stack(list(vectors.values())))
            with torch.no_grad():
                # word2vec's directions at the initializer's spread: raw vectors (std ~10× Keras's ±0.05
                # uniform) saturated the Kim CNN's tanh and slowed its training (measured: 85.6 % validation)
                weight = module.embedding.weight
                weight[rows] = values * (weight.std() / values.std())
            done.append(
                f"{block.id} ({len(vectors):,} of {module.embedding.num_embeddings:,} rows)"
            )
    return done


def skipgram_vectors(
    ids: np.ndarray, dim: int, seed: int, epochs: int = 5
) -> dict[int, np.ndarray]:
    """id → vector (dim,) float32 from gensim's Word2Vec (skip-gram, window 5, 5 negative samples)."""
    try:
        from gensim.models import Word2Vec
    except ImportError:
        raise SettingsError(
            'pretrain = "skipgram" needs gensim, an optional extra: '
            "pip install 'critic[skipgram]' (or pip install gensim)"
        ) from None

    sentences = [[str(i) for i in row[row != 0]] for row in np.asarray(ids)]
    w2v = Word2Vec(
        sentences,
        vector_size=dim,
        sg=1,
        window=5,
        negative=5,
        min_count=1,
        epochs=epochs,
        workers=1,
        seed=seed,
        hashfxn=lambda key: zlib.crc32(key.encode()),
    )  # the default hash changes per process
    return {int(key): w2v.wv[key].astype(np.float32) for key in w2v.wv.index_to_key}
