"""Sequence helpers with Keras's semantics and defaults."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pad_sequences", "vectorize"]


def pad_sequences(
    sequences: Sequence[Sequence[int]],
    maxlen: int | None = None,
    dtype: str = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: float = 0.0,
) -> np.ndarray:
    """(N, maxlen) array as `keras.utils.pad_sequences`: pad and cut at the front by default
    ("pre"), so the end of a long review is what is kept."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(
            f"padding and truncating must be 'pre' or 'post', got {padding!r} and {truncating!r}"
        )
    lengths = [len(s) for s in sequences]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    out = np.full((len(sequences), maxlen), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if not len(seq) or not maxlen:
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if padding == "pre":
            out[i, -len(kept) :] = kept
        else:
            out[i, : len(kept)] = kept
    return out


def vectorize(
    sequences: Sequence[Sequence[int]], dimension: int = 10000, dtype: str = "float32"
) -> np.ndarray:
    """(N, dimension) multi-hot rows: 1 where the index occurs in the sequence (seed 003's
    `vectorize`). Dense, so keep N × dimension small; critic's multi-hot encoder builds it per batch."""
    out = np.zeros((len(sequences), dimension), dtype=dtype)
    for i, seq in enumerate(sequences):
        idx = np.asarray(seq, dtype=np.int64)
        if idx.size and (idx.max() >= dimension or idx.min() < 0):
            raise ValueError(
                f"sequence {i} holds index {int(idx.max())}, outside 0..{dimension - 1}; "
                f"load the data with num_words={dimension} or raise the dimension"
            )
        out[i, idx] = 1
    return out
