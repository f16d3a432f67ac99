"""What an explanation is: the prediction (the same probabilities as `Predictor.predict`), the class
explained, and a signed score per word span of the original text.

    value = base + Σ span scores   (exactly for the linear model; Integrated Gradients up to its
                                    completeness error, which is reported)

A positive score pushes toward the explained class, a negative one away from it. Spans hold only
what the model read; `unseen` is the text beyond its sequence length (or the middle a head+tail
window skips), as (start, end) ranges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["Span", "Explanation", "METHODS", "QUANTITIES"]

METHODS = ("linear", "integrated-gradients", "occlusion")
QUANTITIES = {
    "logit": "the class's logit: Σ contributions + bias (two classes: the log-odds)",
    "log-odds": "log(p / (1 - p)) of the class",
}


class Span(NamedTuple):  # a tuple: a long review has hundreds, made on every request
    start: int  # code points into the original text
    end: int
    score: float
    word: str  # text[start:end], for people reading the JSON


@dataclass(frozen=True)
class Explanation:
    label: str  # the predicted class
    probabilities: dict[str, float]  # every class → its probability: what `predict` answers
    target: str  # the class explained
    method: str  # one of METHODS
    explains: str  # one of QUANTITIES
    value: float  # the explained quantity for this text
    base: float  # its value without the words: the bias, or the model on the empty text
    spans: list[Span]  # every word read, in text order
    unseen: list[tuple[int, int]] = field(default_factory=list)
    completeness_error: float | None = None  # |base + Σ scores − value| / |value − base|
    steps: int | None = None  # Integrated Gradients' steps

    def top(self, k: int = 10) -> list[Span]:
        """The k spans with the largest |score|, largest first (ties: earlier in the text)."""
        return sorted(self.spans, key=lambda s: (-abs(s.score), s.start))[:k]

    def as_dict(self) -> dict:
        """The JSON the API answers under "explanation" (without the prediction itself)."""
        return {
            "target": self.target,
            "method": self.method,
            "explains": self.explains,
            "value": self.value,
            "base": self.base,
            "completeness_error": self.completeness_error,
            "steps": self.steps,
            "spans": [
                {"start": s.start, "end": s.end, "word": s.word, "score": s.score}
                for s in self.spans
            ],
            "unseen": [{"start": a, "end": b} for a, b in self.unseen],
        }

    @classmethod
    def from_dict(
        cls, data: dict, label: str = "", probabilities: dict | None = None
    ) -> Explanation:
        """An explanation saved with `as_dict` (an evaluation's explanations.jsonl) read back."""
        return cls(
            label=label,
            probabilities=probabilities or {},
            target=data["target"],
            method=data["method"],
            explains=data["explains"],
            value=data["value"],
            base=data["base"],
            spans=[Span(s["start"], s["end"], s["score"], s["word"]) for s in data["spans"]],
            unseen=[(r["start"], r["end"]) for r in data["unseen"]],
            completeness_error=data.get("completeness_error"),
            steps=data.get("steps"),
        )

    def answer(self) -> dict:
        """`Predictor.predict`'s answer with the explanation added."""
        return {
            "label": self.label,
            "probabilities": self.probabilities,
            "explanation": self.as_dict(),
        }
