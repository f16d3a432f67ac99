"""`export.json`: what a runtime outside critic needs to feed an exported model and read its answer.

    {"format": "critic.export/1", "model": "model.onnx", "opset": 17, "quantization": null,
     "classes": [...],                       # in the order of the outputs' last axis
     "inputs": [{"name", "dtype", "shape"}], "outputs": [{"name", "dtype", "shape"}],
     "text": {...},                          # text → inputs: the encoder's settings (`text_settings`)
     "source": {"experiment", "checkpoint", "critic_version"}, "check": {...}}

`critic.export.runtime.OnnxPredictor` reads it; docs/export.md explains each field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from critic.errors import SettingsError
from critic.text.spec import OOV, PAD
from critic.text.words import PUNCT_PATTERN, TAG_PATTERN, WORD_PATTERN

__all__ = ["EXPORT_FORMAT", "ExportInfo", "read_info", "text_settings", "linear_text_settings"]

EXPORT_FORMAT = "critic.export/1"
_TAGS = "every match of tag_pattern becomes a space"


@dataclass(frozen=True)
class ExportInfo:
    folder: Path
    data: dict  # export.json as written

    @property
    def kind(self) -> str:
        """words, multi-hot, wordpiece or ngrams: how text becomes the inputs."""
        return self.data["text"]["kind"]

    @property
    def classes(self) -> list[str]:
        return list(self.data["classes"])

    @property
    def model(self) -> Path:
        return self.folder / self.data["model"]


def read_info(folder: Path) -> ExportInfo:
    folder = Path(folder)
    try:
        data = json.loads((folder / "export.json").read_text())
    except FileNotFoundError:
        raise SettingsError(
            f"{folder} is not an exported model (no export.json); make one with `critic export`"
        ) from None
    if data.get("format") != EXPORT_FORMAT:
        raise SettingsError(
            f"{folder}: export format {data.get('format')!r}; this critic reads {EXPORT_FORMAT}"
        )
    return ExportInfo(folder, data)


def _words(settings) -> dict:
    return {
        "lowercase": settings.lowercase,
        "punctuation": settings.punctuation,
        "tag_pattern": TAG_PATTERN,
        "tags": _TAGS,
        "apostrophe": "’ (U+2019) becomes '",
        "word_pattern": PUNCT_PATTERN if settings.punctuation else WORD_PATTERN,
        "padding_id": PAD,
        "unknown_id": OOV,
        "tokenizer": "tokenizer.json",
    }


def text_settings(encoder) -> dict:
    """What turns a text into `input_ids` for a neural model's encoder."""
    s = encoder.settings
    if s.kind == "words":
        return {
            "kind": "words",
            **_words(s),
            "max_length": s.sequence_length,
            "padding": s.padding,  # "post": zeros after the ids; "pre": before
            "truncation": s.truncation,  # "post": the beginning is kept; "pre": the end
            "how": "tokenizer.json does all of it (normalizer, words, ids, truncation, padding to "
            "max_length); a batch may be cut to its longest row on the padding side",
        }
    if s.kind == "multi-hot":
        return {
            "kind": "multi-hot",
            **_words(s),
            "vocab_size": encoder.input_spec.vocab_size,
            "how": "the ids tokenizer.json gives, in any order; pad rows with padding_id; "
            "the graph makes the 0/1 vector",
        }
    cls, sep = encoder._special_ids()
    room = s.sequence_length - 2
    return {
        "kind": "wordpiece",
        "tokenizer": "tokenizer.json",
        "tag_pattern": TAG_PATTERN,
        "tags": _TAGS + ", before the tokenizer",
        "max_length": s.sequence_length,
        "truncation": s.truncation,
        "head_pieces": room // 4 if s.truncation == "head+tail" else None,
        "cls_id": cls,
        "sep_id": sep,
        "padding_id": PAD,
        "padding": "post",
        "how": f"pieces = tokenizer.json without special tokens; keep at most {room} (head: the "
        "first, tail: the last, head+tail: the first head_pieces and the last the rest); "
        "[cls_id] pieces [sep_id], then padding_id after; a batch may be cut to its longest row",
    }


def linear_text_settings(model) -> dict:
    """What turns a text into the linear model's `features` and `values`."""
    s = model.settings
    return {
        "kind": "ngrams",
        "features": "features.json",
        "n_features": model.vectorizer_.n_features,
        "ngram_min": s.ngram_min,
        "ngram_max": s.ngram_max,
        "counts": s.counts,  # "binary": 1 per n-gram present; "sublinear": 1 + ln(count)
        "lowercase": True,
        "tag_pattern": TAG_PATTERN,
        "tags": _TAGS,
        "apostrophe": "’ (U+2019) becomes '",
        "word_pattern": WORD_PATTERN,
        "how": "words = the word_pattern's matches in the cleaned, lowercased text; every run of "
        "n words (ngram_min ≤ n ≤ ngram_max) joined by one space and found in features.json "
        "counts for its column; feed the columns present and their values, padded with value 0",
    }
