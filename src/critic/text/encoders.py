"""Encoders: text → model input. Fitted on the train subset only and saved beside the weights, so
training, evaluation and serving turn text into numbers the same way.

Both encoders share one vocabulary: the `max_words` most frequent words of the train subset
(ties alphabetical, at least `min_freq` occurrences), after the reserved ids PAD = 0 and OOV = 1.
The vocabulary lives in a Hugging Face `tokenizers` WordLevel tokenizer whose normalizer and
pre-tokenizer are `critic.text.words`' patterns; it is saved as `tokenizer.json`.

- WordSequenceEncoder: (N, sequence_length) int64 ids, padded and truncated at the side the
  settings say ("post" keeps the beginning of a long review, as the platform seed does; "pre"
  keeps the end, as Keras's `pad_sequences` does).
- MultiHotEncoder: (N, max_words) 0/1 rows (seed 003), kept sparse (CSR) and made dense one
  batch at a time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import scipy.sparse as sp
import torch
from tokenizers import Tokenizer, models

from critic.errors import SettingsError
from critic.fields import from_dict
from critic.text.spec import FORMAT, OOV, PAD, InputSpec
from critic.text.wordpiece import WordPieceEncoder, WordPieceSettings
from critic.text.words import hf_normalizer, hf_pre_tokenizer, words

__all__ = [
    "PAD",
    "OOV",
    "WordSequenceSettings",
    "MultiHotSettings",
    "InputSpec",
    "Encoder",
    "WordSequenceEncoder",
    "MultiHotEncoder",
    "encoder_for",
    "load_encoder",
    "settings_from_dict",
]

_SPECIAL = ("[PAD]", "[OOV]")  # the tokens of PAD and OOV, in id order


@dataclass(frozen=True)
class WordSequenceSettings:
    max_words: int = 20000  # vocabulary size including PAD and OOV (= embedding rows)
    min_freq: int = 1  # words seen fewer times in train become OOV
    sequence_length: int = 650  # the platform seed's choice: ~95 % of IMDB reviews fit
    padding: str = "post"  # "post": pads after the words; "pre": before (Keras)
    truncation: str = "post"  # "post": cut the end, keep the beginning; "pre": keep the end (Keras)
    punctuation: bool = False  # True: punctuation marks are tokens too (the platform's tokenizer)
    lowercase: bool = True  # False: case-sensitive, "The" ≠ "the" (the platform's tokenizer)
    kind: str = "words"

    def __post_init__(self):
        _check_vocab(self.max_words, self.min_freq)
        if not 1 <= self.sequence_length <= 100_000:
            raise SettingsError(
                f"sequence_length must be between 1 and 100000, got {self.sequence_length}"
            )
        for name in ("padding", "truncation"):
            if getattr(self, name) not in ("pre", "post"):
                raise SettingsError(f"{name} must be 'pre' or 'post', got {getattr(self, name)!r}")


@dataclass(frozen=True)
class MultiHotSettings:
    max_words: int = 10000  # seed 003: vectors of 10,000 (PAD and OOV included)
    min_freq: int = 1
    punctuation: bool = False
    lowercase: bool = True
    kind: str = "multi-hot"

    def __post_init__(self):
        _check_vocab(self.max_words, self.min_freq)


def _check_vocab(max_words: int, min_freq: int) -> None:
    if max_words < 3:
        raise SettingsError(
            f"max_words must be at least 3 (PAD, OOV and one word), got {max_words}"
        )
    if min_freq < 1:
        raise SettingsError(f"min_freq must be at least 1, got {min_freq}")


class Encoder(Protocol):
    settings: WordSequenceSettings | MultiHotSettings

    def fit(self, texts: Iterable[str]) -> Encoder: ...
    def encode(self, texts: Sequence[str]): ...
    def batch(self, encoded, rows: np.ndarray) -> torch.Tensor: ...
    def save(self, folder: Path) -> None: ...
    @property
    def input_spec(self) -> InputSpec: ...


class _Vocabulary:
    """The fitted tokenizer shared by both encoders."""

    def __init__(self, settings):
        self.settings = settings
        self.tokenizer_: Tokenizer | None = None

    def fit(self, texts: Iterable[str]):
        s = self.settings
        counts = Counter(
            w
            for text in texts
            for w in words(text, punctuation=s.punctuation, lowercase=s.lowercase)
        )
        kept = [
            w
            for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= self.settings.min_freq
        ]
        vocab = {token: i for i, token in enumerate(_SPECIAL)}
        vocab.update(
            (w, i)
            for i, w in enumerate(
                kept[: self.settings.max_words - len(_SPECIAL)], start=len(_SPECIAL)
            )
        )
        self.tokenizer_ = _tokenizer(vocab, self.settings)
        self._configure()
        return self

    def _configure(self) -> None:
        pass

    @property
    def fitted(self) -> Tokenizer:
        if self.tokenizer_ is None:
            raise SettingsError(
                f"{type(self).__name__} is not fitted: call fit(train_texts) or load a saved one"
            )
        return self.tokenizer_

    @property
    def vocab_size(self) -> int:
        """Ids in use: at most max_words (fewer when train has fewer distinct words)."""
        return self.settings.max_words

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.fitted.save(str(folder / "tokenizer.json"))
        (folder / "encoder.json").write_text(
            json.dumps({"format": FORMAT, "settings": asdict(self.settings)}, indent=2) + "\n"
        )


def _in_chunks(tokenizer: Tokenizer, texts: list[str], size: int = 2048):
    """(start, encodings) a chunk at a time: a tokenizers Encoding holds ids, offsets, masks and
    token strings, so 20,000 reviews at once would take about 1.5 GB that a chunk does not."""
    for start in range(0, len(texts), size):
        yield start, tokenizer.encode_batch(texts[start : start + size])


def _tokenizer(vocab: dict[str, int], settings) -> Tokenizer:
    tok = Tokenizer(models.WordLevel(vocab, unk_token=_SPECIAL[OOV]))
    tok.normalizer, tok.pre_tokenizer = (
        hf_normalizer(settings.lowercase),
        hf_pre_tokenizer(settings.punctuation),
    )
    return tok


class WordSequenceEncoder(_Vocabulary):
    def __init__(self, settings: WordSequenceSettings = WordSequenceSettings()):
        super().__init__(settings)

    def _configure(self) -> None:
        s, tok = self.settings, self.tokenizer_
        # HF directions: truncation "left" drops the beginning (Keras "pre"); padding "left" pads before.
        tok.enable_truncation(
            s.sequence_length, direction="left" if s.truncation == "pre" else "right"
        )
        tok.enable_padding(
            direction="left" if s.padding == "pre" else "right",
            pad_id=PAD,
            pad_token=_SPECIAL[PAD],
            length=s.sequence_length,
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, sequence_length) int64 ids."""
        texts = list(texts)
        out = np.zeros((len(texts), self.settings.sequence_length), dtype=np.int64)
        for start, encodings in _in_chunks(self.fitted, texts):
            for i, e in enumerate(encodings):
                out[start + i] = e.ids
        return out

    def batch(self, encoded: np.ndarray, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(encoded[rows])

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec(
            "ids", self.vocab_size, self.settings.sequence_length, self.settings.padding
        )


class MultiHotEncoder(_Vocabulary):
    def __init__(self, settings: MultiHotSettings = MultiHotSettings()):
        super().__init__(settings)

    def encode(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(N, max_words) sparse 0/1 rows; PAD's column stays 0, OOV's is 1 when a word is unknown."""
        texts = list(texts)
        indptr, indices = [0], []
        for _, encodings in _in_chunks(self.fitted, texts):
            for e in encodings:
                ids = np.unique(np.asarray(e.ids, dtype=np.int64))
                indices.append(ids)
                indptr.append(indptr[-1] + ids.size)
        indices = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        data = np.ones(indices.size, dtype=np.float32)
        return sp.csr_matrix(
            (data, indices, np.asarray(indptr)), shape=(len(texts), self.settings.max_words)
        )

    def batch(self, encoded: sp.csr_matrix, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(
            encoded[rows].toarray()
        )  # (B, max_words) float32, dense per batch only

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec("vector", self.vocab_size)


def _kinds() -> dict:
    return {
        "words": (WordSequenceSettings, WordSequenceEncoder),
        "multi-hot": (MultiHotSettings, MultiHotEncoder),
        "wordpiece": (WordPieceSettings, WordPieceEncoder),
    }


def settings_from_dict(data: dict):
    """Encoder settings from a config table; `kind` picks the encoder, unknown keys are errors."""
    kind = data.get("kind", "words")
    kinds = _kinds()
    if kind not in kinds:
        raise SettingsError(f"unknown encoder kind {kind!r}; use one of {', '.join(kinds)}")
    return from_dict(kinds[kind][0], data, "encoder setting", where=f"encoder kind {kind!r}")


def encoder_for(settings) -> Encoder:
    return _kinds()[settings.kind][1](settings)


def load_encoder(folder: Path) -> Encoder:
    meta = json.loads((Path(folder) / "encoder.json").read_text())
    if meta.get("format") != FORMAT:
        raise SettingsError(
            f"{folder} holds an encoder of format {meta.get('format')!r}; this critic reads {FORMAT}"
        )
    encoder = encoder_for(settings_from_dict(meta["settings"]))
    encoder.tokenizer_ = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    return encoder
