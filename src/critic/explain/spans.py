"""Where the words of the original text are, and how a model's tokens fold onto them.

Every explanation is given on *spans*: character offsets (Unicode code points, as Python's `str`
indexes them) into the text exactly as it was sent, so an interface can highlight it without
cleaning or tokenizing anything itself.

    text ──`clean`'s steps, each length-preserving (a tag → as many spaces, ’ → ')──► blanked
    blanked ──the model's own token pattern──► units: (start, end) of each token the model reads
    blanked ──words and runs of other visible characters, never cut inside a grapheme──► spans
    unit scores ──`fold`: each unit's score split evenly over the spans it overlaps──► span scores

Lowercasing is left out of the blanking: it never moves a word boundary (a letter stays a letter),
and `model_tokens` reads the token strings from `critic.text.words` itself, so the model's own
vocabulary look-ups are unchanged. A WordPiece unit comes from the tokenizer's own offsets (accents
stripped, pieces of one word); an n-gram of the linear model is several units."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import regex

from critic.explain.result import Span
from critic.text.words import PUNCT_PATTERN, TAG_PATTERN, WORD_PATTERN, words

__all__ = [
    "Token",
    "blank",
    "blank_tags",
    "model_tokens",
    "token_offsets",
    "display_spans",
    "fold",
    "on_words",
    "ranges",
    "erase",
    "keep_only",
    "is_boundary",
]

_TAG = regex.compile(TAG_PATTERN)
_WORD = regex.compile(WORD_PATTERN)
_WORD_OR_PUNCT = regex.compile(PUNCT_PATTERN)
# a span: a word, or a run of other visible characters (punctuation, emoji, symbols)
_SPAN = regex.compile(rf"{WORD_PATTERN}|[^\s\p{{L}}\p{{N}}\p{{M}}]+")
_GRAPHEME = regex.compile(r"\X")
_WORD_CHAR = regex.compile(r"[\p{L}\p{N}\p{M}]")


class Token(NamedTuple):
    """One token the model reads: its string (as the model's vocabulary spells it) and where it is."""

    text: str
    start: int
    end: int


def blank(text: str) -> str:
    """`text` with each HTML tag replaced by as many spaces and ’ by ': what `critic.text.words.clean`
    does, less the lowercasing, with every character at its place."""
    return blank_tags(text).replace("\u2019", "'")


def blank_tags(text: str) -> str:
    """Only the tags blanked (what the WordPiece encoder drops: BERT reads ’ as itself)."""
    return _TAG.sub(lambda m: " " * len(m.group()), text) if "<" in text else text


def model_tokens(text: str, *, punctuation: bool = False, lowercase: bool = True) -> list[Token]:
    """The tokens `critic.text.words.words` (and so the word encoders and the linear model) read,
    with their offsets in `text`."""
    strings, found = token_offsets(text, punctuation=punctuation, lowercase=lowercase)
    return [Token(s, a, b) for s, (a, b) in zip(strings, found)]


def token_offsets(
    text: str, *, punctuation: bool = False, lowercase: bool = True
) -> tuple[list[str], list[tuple[int, int]]]:
    """`model_tokens` as (strings, (start, end) pairs): what the linear model reads, made for
    every request."""
    pattern = _WORD_OR_PUNCT if punctuation else _WORD
    blanked = blank(text)
    found = [m.span() for m in pattern.finditer(blanked)]
    cased = blanked.lower() if lowercase else blanked
    if len(cased) == len(blanked):  # lowercasing kept every offset (it almost always does)
        return [cased[a:b] for a, b in found], found
    # a character whose lowercase is longer (İ → i̇): the strings from `words` itself
    strings = words(text, punctuation=punctuation, lowercase=lowercase)
    if len(strings) != len(
        found
    ):  # never seen; kept so a surprise costs a highlight, not an answer
        strings = [text[a:b].lower() if lowercase else text[a:b] for a, b in found]
    return strings, found


def display_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every word and every run of other visible characters, in order; a boundary
    that would fall inside a grapheme (an emoji and its variation selector, a letter and its
    combining accent) joins the two spans around it."""
    spans = [m.span() for m in _SPAN.finditer(blank(text))]
    if not spans or text.isascii():  # ASCII: every character is a grapheme of its own (CRLF
        return spans  # aside, and spans hold no whitespace)
    cuts = {m.start() for m in _GRAPHEME.finditer(text)} | {len(text)}
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start == merged[-1][1] and start not in cuts:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    for span in merged:  # a span that starts or ends inside a grapheme takes all of it
        while span[0] not in cuts:
            span[0] -= 1
        while span[1] not in cuts:
            span[1] += 1
    return [(a, b) for a, b in merged]


def fold(
    units: list[tuple[int, int]], scores: np.ndarray, spans: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """(span scores (S,), units per span (S,)): each unit's score split evenly over the spans it
    overlaps (a WordPiece [UNK] over "great😍film" gives a third to each), so the span scores add up
    to the units' scores. `units` and `spans` are (start, end) pairs in `text` order."""
    out = np.zeros(len(spans), dtype=np.float64)
    hits = np.zeros(len(spans), dtype=np.int64)
    if not spans or not units:
        return out, hits
    span_at = np.asarray(spans, dtype=np.int64)  # (S, 2)
    unit_at = np.asarray(units, dtype=np.int64).reshape(-1, 2)  # (U, 2)
    scores = np.asarray(scores, dtype=np.float64)
    first = np.searchsorted(span_at[:, 1], unit_at[:, 0], side="right")  # first span ending after
    last = np.searchsorted(
        span_at[:, 0], unit_at[:, 1], side="left"
    )  # past the last starting before
    width = last - first  # spans each unit overlaps (0: between spans, which spans never leave)
    one = width == 1  # the usual case: a word is one span
    np.add.at(out, first[one], scores[one])
    np.add.at(hits, first[one], 1)
    for i in np.flatnonzero(width > 1):
        out[first[i] : last[i]] += scores[i] / width[i]
        hits[first[i] : last[i]] += 1
    return out, hits


def on_words(
    text: str,
    units: list[tuple[int, int]],
    scores: np.ndarray,
    seen: np.ndarray,
    *,
    words: bool = False,
) -> tuple[list[Span], list[tuple[int, int]]]:
    """(spans, unseen ranges): the units' scores folded onto the words of `text`; a word that only
    unseen units cover (beyond the sequence length) is in the unseen ranges, not in the spans.
    `words`: the units are `model_tokens` without punctuation, so in an ASCII text each is a span
    of its own (a shortcut worth a third of a linear explanation's time)."""
    seen = np.asarray(seen, bool)
    if words and text.isascii():
        if seen.all():  # the linear model's every request: one Span per word, nothing else
            values = np.asarray(scores, np.float64).tolist()
            return [Span(a, b, v, text[a:b]) for (a, b), v in zip(units, values)], []
        spans = list(units)
        scored, read = np.asarray(scores, np.float64) * seen, seen.astype(np.int64)
        skipped = (~seen).astype(np.int64)
    else:
        spans = display_spans(text)
        scored, read = fold([u for u, s in zip(units, seen) if s], np.asarray(scores)[seen], spans)
        unread = [u for u, s in zip(units, seen) if not s]
        skipped = fold(unread, np.zeros(len(unread)), spans)[1] if unread else read * 0
    words_read = [Span(a, b, float(v), text[a:b]) for (a, b), v, n in zip(spans, scored, read) if n]
    if seen.all():
        return words_read, []
    return words_read, ranges(spans, (skipped > 0) & (read == 0), (skipped == 0) & (read == 0))


def ranges(
    spans: list[tuple[int, int]], chosen: np.ndarray, neutral: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """The chosen spans (a bool mask) joined into ranges where neighbours are both chosen, across
    neutral spans between them (punctuation that a word model does not read): the text the model
    did not read, for example."""
    neutral = np.zeros(len(spans), bool) if neutral is None else np.asarray(neutral, bool)
    out: list[list[int]] = []
    joining = False
    for (a, b), pick, skip in zip(spans, chosen, neutral):
        if skip:
            continue
        if pick and joining:
            out[-1][1] = b
        elif pick:
            out.append([a, b])
        joining = bool(pick)
    return [(a, b) for a, b in out]


def erase(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the given spans (each replaced by one space, so its neighbours stay apart)."""
    parts, at = [], 0
    for a, b in sorted(spans):
        parts += [text[at:a], " "]
        at = b
    return "".join(parts) + text[at:]


def keep_only(text: str, spans: list[tuple[int, int]]) -> str:
    """Only the given spans of `text`, in order, one space between them."""
    return " ".join(text[a:b] for a, b in sorted(spans))


def is_boundary(text: str, at: int) -> bool:
    """Whether offset `at` cuts `text` between words: at an end, or not between two word
    characters, and never inside a grapheme."""
    if at in (0, len(text)):
        return True
    inside_word = bool(_WORD_CHAR.match(text[at - 1]) and _WORD_CHAR.match(text[at]))
    cuts = {m.start() for m in _GRAPHEME.finditer(text)}
    return not inside_word and at in cuts
