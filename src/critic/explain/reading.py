"""What a model reads of a text: its tokens with their offsets in the original, which of them it
saw (a word sequence is cut at its length, a WordPiece window may skip the middle), and for models
over ids, the encoded row and where each seen token sits in it. The same encoder calls as
`Predictor.predict_proba`, so the row is the one predicted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critic.explain.spans import blank_tags, model_tokens
from critic.text.spec import PAD

__all__ = ["Reading", "read"]


@dataclass(frozen=True)
class Reading:
    units: list[tuple[int, int]]  # (start, end) of each token in the text, in order
    tokens: list[str]  # each token as the vocabulary spells it (WordPiece: the piece)
    seen: np.ndarray  # (U,) bool: inside the model's window
    row: np.ndarray | None = None  # (L,) int64 ids the model reads (models over ids)
    positions: np.ndarray | None = None  # (seen units,) their column in `row`
    words: bool = False  # the units are words without punctuation (`spans.on_words`' shortcut)


def read(predictor, text: str) -> Reading:
    encoder = predictor.encoder
    if encoder is None:  # the linear model: every word, lowercased, no punctuation
        return _all_seen(model_tokens(text), words=True)
    kind = encoder.settings.kind
    if kind == "wordpiece":
        return _pieces(encoder, text)
    s = encoder.settings
    tokens = model_tokens(text, punctuation=s.punctuation, lowercase=s.lowercase)
    if kind == "multi-hot":
        return _all_seen(tokens, words=not s.punctuation)
    return _words(encoder, text, tokens)


def _all_seen(tokens, words: bool) -> Reading:
    units = [(t.start, t.end) for t in tokens]
    return Reading(units, [t.text for t in tokens], np.ones(len(units), bool), words=words)


def _words(encoder, text: str, tokens) -> Reading:
    """A word sequence: the row's non-PAD ids are the first tokens (truncation "post") or the last
    ("pre"), wherever the padding puts them."""
    row = encoder.encode([text])[0]
    positions = np.flatnonzero(row != PAD)  # an unknown word is OOV (1), never PAD
    seen = np.zeros(len(tokens), bool)
    if encoder.settings.truncation == "post":
        seen[: len(positions)] = True
    else:
        seen[len(tokens) - len(positions) :] = True
    units = [(t.start, t.end) for t in tokens]
    words = not encoder.settings.punctuation
    return Reading(units, [t.text for t in tokens], seen, row, positions, words)


def _pieces(encoder, text: str) -> Reading:
    """WordPiece: the tokenizer's pieces and offsets (tags blanked to spaces of their length: the
    encoder replaces each by one space, and BERT splits on any whitespace, so the pieces are the
    same), and the window the encoder keeps, after [CLS]."""
    encoding = encoder.fitted.encode(blank_tags(text), add_special_tokens=False)
    kept = encoder.window(list(range(len(encoding.ids))))
    seen = np.zeros(len(encoding.ids), bool)
    seen[kept] = True
    positions = np.arange(1, len(kept) + 1)
    row = encoder.encode([text])[0]
    return Reading(list(encoding.offsets), list(encoding.tokens), seen, row, positions)
