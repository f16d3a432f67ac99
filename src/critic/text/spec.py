"""What every encoder shares: the reserved ids, the saved format, and what the model's Input block
receives. A leaf module, so the word encoders and the WordPiece encoder both build on it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAD", "OOV", "FORMAT", "InputSpec"]

PAD, OOV = (
    0,
    1,
)  # reserved ids: PAD fills short rows (and is [PAD] = 0 in BERT vocabularies), OOV an unseen word
FORMAT = "critic.encoder/1"  # encoder.json's format; a change of layout gets a new number


@dataclass(frozen=True)
class InputSpec:
    """What the model's Input block receives: ids (B, length) or a dense vector (B, dim)."""

    kind: str  # "ids" or "vector"
    vocab_size: int
    length: int | None = None  # ids only
    padding: str = "post"
