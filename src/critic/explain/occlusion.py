"""Occlusion: the plain, model-agnostic explanation the others are measured against.

Each word the model read is taken out of the text in turn (`critic.explain.spans.erase`: replaced
by a space) and the text predicted again through the Predictor; a word's score is how much the
class's log-odds fall without it. One forward pass per word (batched), so it costs more than
Integrated Gradients on a long review, and its scores need not add up to anything."""

from __future__ import annotations

import numpy as np

from critic.explain.reading import read
from critic.explain.result import Explanation, Span
from critic.explain.spans import erase, on_words

__all__ = ["OcclusionExplainer", "log_odds_of"]

_EPS = 1e-7  # probabilities are float32: log-odds are clipped where p rounds to 0 or 1


def log_odds_of(probs: np.ndarray, target: int) -> np.ndarray:
    """(N, K) probabilities → (N,) log(p / (1 − p)) of the target class."""
    p = np.clip(probs[:, target].astype(np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


class OcclusionExplainer:
    def __init__(self, predictor):
        self.predictor = predictor

    def explain(self, text: str, target: int | None, classes: list[str], p) -> Explanation:
        label, target = int(p.argmax()), int(p.argmax()) if target is None else target
        reading = read(self.predictor, text)
        words, unseen = on_words(
            text, reading.units, np.zeros(len(reading.units)), reading.seen, words=reading.words
        )
        erased = [erase(text, [(s.start, s.end)]) for s in words]
        probs = self.predictor.predict_proba([text, "", *erased])
        odds = log_odds_of(probs, target)
        value, base, without = float(odds[0]), float(odds[1]), odds[2:]
        spans = [Span(s.start, s.end, float(value - w), s.word) for s, w in zip(words, without)]
        return Explanation(
            classes[label],
            {c: float(v) for c, v in zip(classes, p)},
            classes[target],
            "occlusion",
            "log-odds",
            value,
            base,
            spans,
            unseen,
        )
