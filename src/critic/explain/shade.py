"""An explanation as pieces of text to shade: what the terminal, the evaluation report and the
workbench draw (the tester page does the same in its script).

The text is cut at the spans' offsets; each span gets a level from −LEVELS to LEVELS, its score's
sign times its size against the text's largest |score| (rounded up, so every scored word shows;
a word under 2 % of the largest stays plain). Two colours a colour-blind reader tells apart:
blue for the words that push toward the class explained, orange for those that push away
(ColorBrewer's PuOr ends, distinct in every common colour-vision deficiency). Text the model did
not read is its own kind of piece."""

from __future__ import annotations

import math
from dataclasses import dataclass

from critic.explain.result import Explanation

__all__ = ["LEVELS", "COLOURS", "Piece", "pieces", "level_of"]

LEVELS = 4
_PLAIN = 0.02  # under this share of the largest |score|, a word is not shaded
COLOURS = {  # level → background (for the terminal and the report's stylesheet)
    1: "#d1e5f0",
    2: "#92c5de",
    3: "#4393c3",
    4: "#2166ac",
    -1: "#fee0b6",
    -2: "#fdb863",
    -3: "#e08214",
    -4: "#b35806",
}
DARK = {4, -4}  # levels whose background needs light text (contrast ≥ 4.5 either way)


@dataclass(frozen=True)
class Piece:
    text: str
    level: int = 0  # −LEVELS..LEVELS; 0: plain (between words, or a word near 0)
    score: float | None = None  # a word's score; None between words and in unread text
    seen: bool = True  # False: text the model did not read


def level_of(score: float, largest: float) -> int:
    if largest <= 0 or abs(score) < _PLAIN * largest:
        return 0
    return int(math.copysign(min(LEVELS, math.ceil(LEVELS * abs(score) / largest)), score))


def pieces(text: str, explanation: Explanation) -> list[Piece]:
    """`text` cut into plain pieces, scored words and unread ranges, in order; joined, they are
    `text` again."""
    largest = max((abs(s.score) for s in explanation.spans), default=0.0)
    marks = [(s.start, s.end, s.score) for s in explanation.spans]
    marks += [(a, b, None) for a, b in explanation.unseen]
    out, at = [], 0
    for start, end, score in sorted(marks, key=lambda m: m[0]):
        if start > at:
            out.append(Piece(text[at:start]))
        if score is None:
            out.append(Piece(text[start:end], seen=False))
        else:
            out.append(Piece(text[start:end], level_of(score, largest), score))
        at = end
    if at < len(text):
        out.append(Piece(text[at:]))
    return out
