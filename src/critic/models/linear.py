"""The fast n-gram linear model: NBSVM (Wang & Manning 2012) with a logistic output.

texts → `critic.text.words` (the word encoder's tokenization) → word n-gram counts, binarized or
sublinear (1 + log tf) → per class c, the naive-Bayes log-count ratio
    r_c = log((p_c / |p_c|₁) / (q_c / |q_c|₁)),  p_c = α + Σ rows of class c,  q_c = α + Σ the others
→ a logistic regression on X ∘ r_c (liblinear, dual: fast when features ≫ rows), its weights
interpolated as in the paper, w' = (1 − β) · mean|w| + β · w → scores; two classes: one model and
a sigmoid; more: one model per class and a softmax over their scores.

Fitted on the train subset; the validation subset picks C from a small grid. Saved as
safetensors (ratios, weights, biases) + the n-gram vocabulary in JSON. No pickle."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from critic.errors import SettingsError
from critic.text.words import words

__all__ = ["LinearSettings", "NBLinear", "LINEAR_FORMAT"]

LINEAR_FORMAT = "critic.linear/1"


@dataclass(frozen=True)
class LinearSettings:
    ngram_min: int = 1
    ngram_max: int = 2  # uni- and bigrams (NBSVM-bi); 3 adds trigrams
    min_df: int = 1  # keep n-grams seen in at least this many train texts
    max_features: int | None = None  # keep only the most frequent n-grams; None = all
    counts: str = "binary"  # "binary" (the paper) or "sublinear" (1 + log tf)
    C: tuple[float, ...] = (0.1, 0.3, 1.0)  # inverse L2 strength; the validation subset picks one
    alpha: float = 1.0  # NB smoothing
    beta: float = 0.25  # interpolation toward the mean weight (the paper's value)
    class_weight: str = "none"  # or "balanced"
    seed: int = 0
    kind: str = "linear"

    def __post_init__(self):
        if not 1 <= self.ngram_min <= self.ngram_max <= 5:
            raise SettingsError(f"n-gram range must satisfy 1 ≤ min ≤ max ≤ 5, got ({self.ngram_min}, {self.ngram_max})")
        if self.min_df < 1 or (self.max_features is not None and self.max_features < 1):
            raise SettingsError("min_df and max_features must be at least 1")
        if self.counts not in ("binary", "sublinear"):
            raise SettingsError(f"counts must be 'binary' or 'sublinear', got {self.counts!r}")
        object.__setattr__(self, "C", tuple(float(c) for c in (self.C if isinstance(self.C, (list, tuple)) else [self.C])))
        if not self.C or min(self.C) <= 0:
            raise SettingsError(f"C must be one or more positive numbers, got {self.C}")
        if self.alpha <= 0 or not 0 <= self.beta <= 1:
            raise SettingsError("alpha must be > 0 and beta in [0, 1]")
        if self.class_weight not in ("none", "balanced"):
            raise SettingsError(f"class_weight must be 'none' or 'balanced', got {self.class_weight!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "LinearSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown linear setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


Log = Callable[[dict], None]


class NBLinear:
    """fit(train) → predict_proba(texts). Learned state ends in `_`."""

    def __init__(self, settings: LinearSettings = LinearSettings()):
        self.settings = settings
        self.vocabulary_: list[str] | None = None
        self.ratios_: np.ndarray | None = None  # (K, V) float32; K = 1 for two classes
        self.weights_: np.ndarray | None = None  # (K, V) float32, interpolated
        self.biases_: np.ndarray | None = None  # (K,) float32
        self.n_classes_: int = 0
        self.C_: float | None = None
        self._vectorizer: CountVectorizer | None = None

    # -- fitting --------------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], labels: np.ndarray, n_classes: int, *, val_texts: Sequence[str] = (),
            val_labels: np.ndarray | None = None, log: Log = lambda event: None) -> "NBLinear":
        s = self.settings
        log({"event": "phase", "phase": f"tokenize and count {s.ngram_min}-{s.ngram_max}-grams in {len(texts):,} train texts"})
        vectorizer = self._new_vectorizer()
        X = self._weigh(vectorizer.fit_transform(texts))  # (N, V) sparse
        self._set_vocabulary(vectorizer)
        self.n_classes_ = n_classes
        log({"event": "phase", "phase": f"{X.shape[1]:,} n-grams; naive-Bayes ratios for {n_classes} classes"})
        targets = self._targets(labels)
        self.ratios_ = np.stack([self._ratio(X, t) for t in targets]).astype(np.float32)
        X_val = self.transform(val_texts) if len(val_texts) else None
        grid = s.C if X_val is not None else s.C[len(s.C) // 2:len(s.C) // 2 + 1]
        scored = []
        for C in grid:
            log({"event": "phase", "phase": f"fit logistic regression, C = {C:g}"})
            self._fit_weights(X, targets, C)
            accuracy = float((self._scores(X_val).argmax(1) == val_labels).mean()) if X_val is not None else float("nan")
            scored.append((accuracy, -abs(np.log(C)), C))  # ties: the C closest to 1
            log({"event": "phase", "phase": f"  validation accuracy {accuracy:.4f}" if X_val is not None else "  no validation subset"})
        self.C_ = max(scored)[2]
        if self.C_ != grid[-1] or len(grid) == 1:
            self._fit_weights(X, targets, self.C_)
        return self

    def _new_vectorizer(self) -> CountVectorizer:
        s = self.settings
        return CountVectorizer(tokenizer=words, lowercase=False, token_pattern=None, ngram_range=(s.ngram_min, s.ngram_max),
                               min_df=s.min_df, max_features=s.max_features, binary=s.counts == "binary", dtype=np.float32)

    def _weigh(self, X: sp.csr_matrix) -> sp.csr_matrix:
        if self.settings.counts == "sublinear":
            X = X.tocsr(copy=True)
            X.data = 1.0 + np.log(X.data)
        return X.tocsr()

    def _targets(self, labels: np.ndarray) -> list[np.ndarray]:
        """0/1 targets per scored class: class 1 for two classes, each class for more."""
        labels = np.asarray(labels)
        classes = [1] if self.n_classes_ == 2 else range(self.n_classes_)
        return [(labels == c).astype(np.int64) for c in classes]

    def _ratio(self, X: sp.csr_matrix, target: np.ndarray) -> np.ndarray:
        alpha = self.settings.alpha
        p = alpha + np.asarray(X[target == 1].sum(0)).ravel()
        q = alpha + np.asarray(X[target == 0].sum(0)).ravel()
        return np.log((p / p.sum()) / (q / q.sum()))

    def _fit_weights(self, X: sp.csr_matrix, targets: list[np.ndarray], C: float) -> None:
        s = self.settings
        weights, biases = [], []
        for r, target in zip(self.ratios_, targets):
            if target.min() == target.max():
                raise SettingsError("the linear model needs at least two classes in the train subset")
            model = LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=1000, random_state=s.seed,
                                       class_weight="balanced" if s.class_weight == "balanced" else None)
            model.fit(X.multiply(r).tocsr(), target)
            w = model.coef_.ravel()
            w = (1 - s.beta) * np.abs(w).mean() + s.beta * w  # Wang & Manning's interpolation
            weights.append(w)
            biases.append(model.intercept_[0])
        self.weights_ = np.stack(weights).astype(np.float32)
        self.biases_ = np.asarray(biases, dtype=np.float32)

    # -- prediction -----------------------------------------------------------------------------

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if self._vectorizer is None:
            raise SettingsError("the linear model is not fitted: call fit() or load a saved one")
        return self._weigh(self._vectorizer.transform(texts))

    def _scores(self, X: sp.csr_matrix) -> np.ndarray:
        """(N, n_classes) logits."""
        z = np.asarray(X @ (self.ratios_ * self.weights_).T) + self.biases_  # (N, K)
        return np.concatenate([np.zeros_like(z), z], axis=1) if self.n_classes_ == 2 else z  # sigmoid = softmax([0, z])

    def predict_proba(self, texts: Sequence[str], batch_size: int = 4096) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.n_classes_), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            z = self._scores(self.transform(texts[start:start + batch_size]))
            z = z - z.max(1, keepdims=True)
            e = np.exp(z)
            out[start:start + len(z)] = e / e.sum(1, keepdims=True)
        return out

    # -- files ----------------------------------------------------------------------------------

    def _set_vocabulary(self, vectorizer: CountVectorizer) -> None:
        self.vocabulary_ = list(vectorizer.get_feature_names_out())
        self._vectorizer = vectorizer

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"ratios": self.ratios_, "weights": self.weights_, "biases": self.biases_}, str(folder / "model.safetensors"))
        (folder / "vocabulary.json").write_text(json.dumps(self.vocabulary_, ensure_ascii=False))
        (folder / "model.json").write_text(json.dumps({"format": LINEAR_FORMAT, "kind": "linear", "n_classes": self.n_classes_,
                                                       "C": self.C_, "settings": asdict(self.settings)}, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "NBLinear":
        meta = json.loads((folder / "model.json").read_text())
        if meta.get("format") != LINEAR_FORMAT:
            raise SettingsError(f"{folder}: model format {meta.get('format')!r}; this critic reads {LINEAR_FORMAT}")
        model = cls(LinearSettings.from_dict(meta["settings"]))
        tensors = load_file(str(folder / "model.safetensors"))
        model.ratios_, model.weights_, model.biases_ = tensors["ratios"], tensors["weights"], tensors["biases"]
        model.n_classes_, model.C_ = meta["n_classes"], meta["C"]
        vocabulary = json.loads((folder / "vocabulary.json").read_text())
        vectorizer = model._new_vectorizer()
        vectorizer.vocabulary_ = {term: i for i, term in enumerate(vocabulary)}  # a fitted vocabulary, as sklearn documents
        vectorizer.fixed_vocabulary_ = True
        model._set_vocabulary(vectorizer)
        return model
