"""Batches cut by padded tokens: a batch of texts runs in parts of at most a budget of tokens
(rows × the part's longest row), so the activations a pass holds are bounded by the budget, not
by the batch size or the reviews' lengths. Training sums the parts' gradients before its step
(critic.train: the same update as the whole batch, since no block mixes rows), evaluation and
prediction (critic.predictor) simply concatenate the parts' answers.

    micro_batches(rows, cost, tokens)   length-sorted parts of `rows`, each within `tokens`
    row_costs(encoded, lengths, margin) what each row costs in a part: its trimmed length

Budgets: a model's own `part_tokens` (critic.models.graph: 1,024 for a transformer, which keeps
~0.5 MB of activations a token for its backward pass; PART_TOKENS otherwise), TrainSettings.
part_tokens above it; passes without a backward pass take EVAL_PARTS times as many."""

from __future__ import annotations

import numpy as np

__all__ = ["PART_TOKENS", "TRANSFORMER_PART_TOKENS", "EVAL_PARTS", "micro_batches", "row_costs"]

PART_TOKENS = 32_768
TRANSFORMER_PART_TOKENS = 1_024  # MiniLM, batch 32 × 256: 4 rows a part, peak 1.6 GB (16: 3.1 GB)
EVAL_PARTS = 4


def micro_batches(rows: np.ndarray, cost: np.ndarray | None, tokens: int) -> list[np.ndarray]:
    """Split one batch into parts of at most `tokens` padded tokens each (a part's rows × its
    longest row's `cost`: the length it is trimmed to), sorted by length, so a part of short
    reviews holds many rows and one of long reviews few. Gradients are summed over the parts
    before the optimizer step, so the update is the one the whole random batch gives (no block
    mixes rows: there is no batch norm), while activation memory is bounded by `tokens`, not by
    the batch: a 1,024-review IMDB batch of the Kim CNN padded to 650 as a whole peaked at ~2 GB
    more than parts of 32,768 tokens, which also ran faster (caches). `cost` None: one part."""
    if cost is None or len(rows) == 0:
        return [rows]
    ordered = rows[np.argsort(cost[rows], kind="stable")]
    widths = cost[ordered]
    parts, start = [], 0
    while start < len(ordered):
        end = start + 1  # at least one row, however long
        while end < len(ordered) and (end + 1 - start) * widths[end] <= tokens:
            end += 1
        parts.append(ordered[start:end])
        start = end
    return parts


def row_costs(encoded, lengths: np.ndarray | None, margin: int | None) -> np.ndarray | None:
    """(N,) the padded length each row costs in a part: its tokens + the trim margin (at most the
    encoded width) when batches are trimmed, else the encoded width; None when rows have no
    width (multi-hot rows)."""
    width = encoded.shape[1] if isinstance(encoded, np.ndarray) and encoded.ndim == 2 else None
    if margin is not None and lengths is not None:
        cost = lengths + margin
        return np.minimum(cost, width) if width else cost
    return None if width is None else np.full(encoded.shape[0], width, np.int64)
