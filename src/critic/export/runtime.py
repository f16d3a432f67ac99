"""`OnnxPredictor`: an exported folder (`critic export`) run by ONNX Runtime, with `Predictor`'s
interface (`classes`, `manifest`, `predict_proba`, `predict`), so whatever serves a `Predictor`
can serve one. Text becomes inputs through critic's own encoders, loaded from the folder's
tokenizer files, so the ids are the ones PyTorch sees; only the model runs elsewhere."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from critic.batching import EVAL_PARTS, PART_TOKENS, TRANSFORMER_PART_TOKENS, micro_batches
from critic.export.check import session_for
from critic.export.info import read_info
from critic.predictor import answers
from critic.text.spec import PAD

__all__ = ["OnnxPredictor", "ids_batch", "feature_batch"]


class OnnxPredictor:
    def __init__(self, folder: str | Path, *, threads: int | None = None):
        self.info = read_info(Path(folder))
        self.classes = self.info.classes
        self.manifest = json.loads((self.info.folder / "manifest.json").read_text())
        self.session = session_for(self.info.model, threads)
        self.encoder, self.vectorizer = None, None
        # padded tokens in one run, as `Predictor` cuts its batches (critic.batching): 256 MiniLM
        # reviews at length 256 in one run made ONNX Runtime's arena 8 GB, and ran slower
        own = TRANSFORMER_PART_TOKENS if self.info.kind == "wordpiece" else PART_TOKENS
        self.tokens = EVAL_PARTS * own
        if self.info.kind == "ngrams":
            self.vectorizer = _load_vectorizer(self.info.folder, self.info.data["text"])
        else:
            from critic.text.encoders import load_encoder

            self.encoder = load_encoder(self.info.folder)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """(N, n_classes) float32 probabilities, rows in the order of `texts`; texts run in
        batches of similar length, each cut to its longest row (the graph pads what it needs)."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        for start in range(0, len(texts), 4096):
            part = texts[start : start + 4096]
            rows, lengths = self._encode(part)
            order = np.argsort(lengths, kind="stable")
            for i in range(0, len(part), batch_size):
                for chosen in micro_batches(order[i : i + batch_size], lengths, self.tokens):
                    feed = self._feed(rows, chosen)
                    out[start + chosen] = self.session.run(["probabilities"], feed)[0]
        return out

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """[{"label": ..., "probabilities": {class: p, ...}}, ...], as `Predictor.predict`."""
        return answers(self.classes, self.predict_proba(texts))

    # -- text → the graph's inputs ----------------------------------------------------------------

    def _encode(self, texts: list[str]):
        """(the encoded texts, (N,) their lengths in ids or features)."""
        kind = self.info.kind
        if kind == "ngrams":
            X = self.vectorizer.transform(texts)
            return X, np.diff(X.indptr)
        if kind == "multi-hot":
            ids = [e.ids for e in self.encoder.fitted.encode_batch(texts)]
            return ids, np.array([len(i) for i in ids], dtype=np.int64)
        encoded = self.encoder.encode(texts)  # (N, length), padded on the encoder's side
        return encoded, (encoded != PAD).sum(1)

    def _feed(self, encoded, rows: np.ndarray) -> dict[str, np.ndarray]:
        kind = self.info.kind
        if kind == "ngrams":
            features, values = feature_batch(encoded[rows])
            return {"features": features, "values": values}
        if kind == "multi-hot":
            return {"input_ids": ids_batch([encoded[r] for r in rows])}
        padding = self.info.data["text"]["padding"]
        return {"input_ids": _cut(encoded[rows], padding)}


def _cut(ids: np.ndarray, padding: str) -> np.ndarray:
    """A (B, length) batch cut to its longest row (at least one column) on the padding side."""
    keep = max(1, int((ids != PAD).sum(1).max()))
    return ids[:, :keep] if padding == "post" else ids[:, ids.shape[1] - keep :]


def ids_batch(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Rows of ids → (B, longest ≥ 1) int64, padded after with PAD."""
    out = np.full((len(rows), max([1, *map(len, rows)])), PAD, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def feature_batch(X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(B, F) sparse counts → features (B, N) int64 columns and values (B, N) float32, N the most
    columns in a row (≥ 1); padding: column 0 with value 0."""
    counts = np.diff(X.indptr)
    width = max(1, int(counts.max()) if len(counts) else 1)
    features = np.zeros((X.shape[0], width), dtype=np.int64)
    values = np.zeros((X.shape[0], width), dtype=np.float32)
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        features[i, : hi - lo] = X.indices[lo:hi]
        values[i, : hi - lo] = X.data[lo:hi]
    return features, values


def _load_vectorizer(folder: Path, text: dict):
    """The linear model's vectorizer as critic saves it (vocabulary.json + ngrams.safetensors)."""
    from safetensors.numpy import load_file

    from critic.text.ngrams import NgramSettings, NgramVectorizer

    settings = NgramSettings(text["ngram_min"], text["ngram_max"], counts=text["counts"])
    words = json.loads((folder / "vocabulary.json").read_text())
    return NgramVectorizer.from_state(
        settings, words, load_file(str(folder / "ngrams.safetensors"))
    )
