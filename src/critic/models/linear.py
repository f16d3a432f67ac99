"""The fast n-gram linear model: NBSVM (Wang & Manning 2012) with a logistic output.

texts → `critic.text.ngrams` (the word encoder's tokenization; word 1- to 3-grams in at least
`min_df` train texts, binarized or sublinear counts) → per class c, the naive-Bayes log-count ratio
    r_c = log((p_c / |p_c|₁) / (q_c / |q_c|₁)),  p_c = α + Σ rows of class c,  q_c = α + Σ the others
→ a logistic regression on X ∘ r_c (liblinear, dual: fast when features ≫ rows), its weights
interpolated as in the paper, w' = (1 − β) · mean|w| + β · w → scores; two classes: one model and
a sigmoid; more: one model per class and a softmax over their scores.

Fitted on the train subset; the validation subset chooses the settings (one fit at a time:
liblinear draws its coordinate order from one random generator for the whole process, so fits in
parallel threads interleave their draws and differ from run to run, by ~1e-6 in a weight):
- `min_df` from its candidates (default 1 or 2: short texts keep their rare n-grams), each fitted
  at one C; the n-grams are counted once, at the smallest, and each candidate keeps its columns;
- then C: with `C = "auto"` (the default) on a log ladder (… 0.1, 0.3, 1, 3 …) from 0.3 and 1,
  stepping outward until both neighbours of the best were tried, so the value chosen is never at
  the edge of what was tried (IMDB's reviews want 0.3-1, one-sentence texts 0.1 or less); a tuple
  of Cs is tried as given.
Best: validation accuracy; ties to the lower validation loss, then to C nearer 1
(`best_trial`). Without a validation subset: the
largest min_df and C = 1 (or the middle of a given grid).
Saved as safetensors (ratios, weights, biases, n-gram codes) + the word list in JSON. No pickle.

Defaults measured on IMDB (train 20,000 / validation 5,000 / test 25,000; bench/linear.py):
trigrams with min_df 2 beat bigrams by 0.3 points of test accuracy and keep 0.75 M of 4.3 M
n-grams; the paper's β = 0.25 was tuned for an SVM without a bias: with a logistic regression it
costs 1.2 points, so β = 1 (no interpolation) is the default."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from safetensors.numpy import load_file, save_file

from critic.errors import SettingsError
from critic.fields import from_dict
from critic.text.ngrams import MAX_ORDER, NgramSettings, NgramVectorizer

__all__ = ["LinearSettings", "NBLinear", "LINEAR_FORMAT"]

LINEAR_FORMAT = "critic.linear/2"  # 2: n-gram codes in safetensors, word list in JSON


@dataclass(frozen=True)
class LinearSettings:
    ngram_min: int = 1
    ngram_max: int = 3  # 2: uni- and bigrams (NBSVM-bi); 3 adds trigrams
    # keep n-grams seen in at least this many train texts (several: validation picks one)
    min_df: int | tuple[int, ...] = (1, 2)
    max_features: int | None = None  # keep only the most frequent n-grams; None = all
    counts: str = "binary"  # "binary" (the paper) or "sublinear" (1 + log tf)
    # inverse L2 strength: "auto" (a log ladder searched on validation), one, or several to try
    C: tuple[float, ...] | float | str = "auto"
    alpha: float = 1.0  # NB smoothing
    beta: float = (
        1.0  # interpolation toward the mean weight; the paper's 0.25 suits its SVM, not LR
    )
    class_weight: str = "none"  # or "balanced"
    seed: int = 0
    kind: str = "linear"

    def __post_init__(self):
        if not 1 <= self.ngram_min <= self.ngram_max <= MAX_ORDER:
            raise SettingsError(
                f"n-gram range must satisfy 1 ≤ min ≤ max ≤ {MAX_ORDER}, got ({self.ngram_min}, {self.ngram_max})"
            )
        min_dfs = self.min_df if isinstance(self.min_df, (list, tuple)) else (self.min_df,)
        object.__setattr__(self, "min_df", _one_or_tuple(int(m) for m in min_dfs))
        if (
            not min_dfs
            or min(min_dfs) < 1
            or (self.max_features is not None and self.max_features < 1)
        ):
            raise SettingsError("min_df and max_features must be at least 1")
        if self.counts not in ("binary", "sublinear"):
            raise SettingsError(f"counts must be 'binary' or 'sublinear', got {self.counts!r}")
        if self.C != "auto":
            if isinstance(self.C, str):
                raise SettingsError(f"C must be 'auto' or positive numbers, got {self.C!r}")
            Cs = self.C if isinstance(self.C, (list, tuple)) else [self.C]
            object.__setattr__(self, "C", tuple(float(c) for c in Cs))
            if not self.C or min(self.C) <= 0:
                raise SettingsError(f"C must be 'auto' or positive numbers, got {self.C}")
        if self.alpha <= 0 or not 0 <= self.beta <= 1:
            raise SettingsError("alpha must be > 0 and beta in [0, 1]")
        if self.class_weight not in ("none", "balanced"):
            raise SettingsError(
                f"class_weight must be 'none' or 'balanced', got {self.class_weight!r}"
            )

    @classmethod
    def from_dict(cls, data: dict) -> LinearSettings:
        return from_dict(cls, data, "linear setting")

    @property
    def min_dfs(self) -> tuple[int, ...]:
        """The min_df candidates, smallest first."""
        return tuple(sorted(self.min_df if isinstance(self.min_df, tuple) else (self.min_df,)))


def _one_or_tuple(values) -> int | tuple[int, ...]:
    values = tuple(dict.fromkeys(values))
    return values[0] if len(values) == 1 else values


# C = "auto": the values tried, from START outward (each about √10 from the next)
LADDER = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
START = (0.3, 1.0)
UNVALIDATED_C = 1.0  # C = "auto" without a validation subset


@dataclass
class Trial:
    """One fit on validation: its settings, scores and weights."""

    min_df: int
    C: float
    accuracy: float
    loss: float
    weights: np.ndarray  # (K, F)
    biases: np.ndarray  # (K,)


LOSS_TIE = 0.005  # validation losses (nats) this close count as equal


def best_trial(trials: Sequence[Trial]) -> Trial:
    """The highest validation accuracy; among those, the losses within LOSS_TIE of the lowest
    count as equal, and the C nearest 1 wins, then the larger min_df (the smaller model). On
    separable data every C scores 100 % and the loss keeps falling as C grows: the tie stops the
    climb instead of running to the end of the ladder."""
    top = max(t.accuracy for t in trials)
    tied = [t for t in trials if t.accuracy == top]
    lowest = min(t.loss for t in tied)
    near = [t for t in tied if t.loss <= lowest + LOSS_TIE]
    return min(near, key=lambda t: (abs(np.log(t.C)), -t.min_df))


Log = Callable[[dict], None]


class NBLinear:
    """fit(train) → predict_proba(texts). Learned state ends in `_`."""

    def __init__(self, settings: LinearSettings = LinearSettings()):
        self.settings = settings
        self.vectorizer_: NgramVectorizer | None = None
        self.ratios_: np.ndarray | None = None  # (K, F) float32; K = 1 for two classes
        self.weights_: np.ndarray | None = None  # (K, F) float32, interpolated
        self.biases_: np.ndarray | None = None  # (K,) float32
        self.n_classes_: int = 0
        self.C_: float | None = None  # chosen on validation
        self.min_df_: int | None = None  # chosen on validation
        self.trials_: list[Trial] = []  # the fits on validation, in order
        self.fit_probabilities_: dict[
            str, np.ndarray
        ] = {}  # "train" / "validation" → (N, n_classes), from fit
        self._effective: np.ndarray | None = None  # (F, K) ratios ∘ weights, for scoring

    def ngram_settings(self) -> NgramSettings:
        s = self.settings
        min_df = self.min_df_ or s.min_dfs[-1]
        return NgramSettings(s.ngram_min, s.ngram_max, min_df, s.max_features, s.counts)

    # -- fitting --------------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        n_classes: int,
        *,
        val_texts: Sequence[str] = (),
        val_labels: np.ndarray | None = None,
        log: Log = lambda event: None,
    ) -> NBLinear:
        s = self.settings
        smallest = s.min_dfs[0]
        say = lambda text: log({"event": "phase", "phase": text})  # noqa: E731
        say(f"tokenize and count {s.ngram_min}-{s.ngram_max}-grams in {len(texts):,} train texts")
        counted = NgramVectorizer(replace(self.ngram_settings(), min_df=smallest))
        X_all = counted.fit_transform(texts)  # (N, F) sparse, at the smallest min_df
        self.n_classes_ = n_classes
        targets = self._targets(labels)
        X_val_all = counted.transform(val_texts) if len(val_texts) else None
        options = {m: counted.restricted(m, X_all) for m in s.min_dfs}
        del counted  # each option shares its word list and keeps its own n-gram tables
        if X_val_all is None:
            min_df = s.min_dfs[-1]
            grid = (UNVALIDATED_C,) if s.C == "auto" else s.C[len(s.C) // 2 : len(s.C) // 2 + 1]
        self.trials_: list[Trial] = []
        views: dict[int, tuple] = {}  # min_df → (X, X_val, ratios)

        def view(m: int):
            if m not in views:
                vectorizer, keep = options[m]
                X = X_all[:, keep] if m != smallest else X_all
                X_val = X_val_all if X_val_all is None or m == smallest else X_val_all[:, keep]
                ratios = np.stack([self._ratio(X, t) for t in targets]).astype(np.float32)
                say(
                    f"min_df {m}: {X.shape[1]:,} n-grams; naive-Bayes ratios for {n_classes} classes"
                )
                views[m] = (X, X_val, ratios)
            return views[m]

        def trial(m: int, C: float) -> Trial:
            X, X_val, ratios = view(m)
            self.ratios_ = ratios
            weights, biases = self._fit_one_C(X, targets, C)
            self._set_weights(weights, biases)
            probs = self._probabilities(X_val)
            picked = probs[np.arange(len(val_labels)), val_labels]
            found = Trial(
                m,
                C,
                float((probs.argmax(1) == val_labels).mean()),
                float(-np.log(np.clip(picked, 1e-12, None)).mean()),
                weights,
                biases,
            )
            say(
                f"  min_df {m}, C = {C:g}: validation accuracy {found.accuracy:.4f}, "
                f"loss {found.loss:.4f}"
            )
            self.trials_.append(found)
            return found

        if X_val_all is not None:
            grid = START if s.C == "auto" else s.C
            if len(s.min_dfs) > 1:  # the n-grams first, at one C, then C for the chosen ones
                probe = grid[0] if s.C == "auto" else grid[len(grid) // 2]
                min_df = best_trial([trial(m, probe) for m in s.min_dfs]).min_df
                for m in [m for m in views if m != min_df]:
                    del views[m]  # the other candidates' matrices: not needed any more
                if min_df != smallest:
                    del X_all  # the chosen candidate's view holds its own columns
            else:
                min_df = smallest
            best = self._search_C(min_df, grid, trial, auto=s.C == "auto")
            self.min_df_, self.C_ = best.min_df, best.C
            weights, biases = best.weights, best.biases
        else:
            self.min_df_, self.C_ = min_df, grid[0]
            say(f"fit logistic regression, min_df {min_df}, C = {grid[0]:g} (no validation subset)")
            X, _, self.ratios_ = view(min_df)
            weights, biases = self._fit_one_C(X, targets, grid[0])
        X, X_val, self.ratios_ = view(self.min_df_)
        self.vectorizer_ = options[self.min_df_][0]
        self._set_weights(weights, biases)
        self.fit_probabilities_ = {"train": self._probabilities(X)}
        if X_val is not None:
            self.fit_probabilities_["validation"] = self._probabilities(X_val)
        return self

    def _search_C(self, min_df: int, grid: Sequence[float], trial, auto: bool) -> Trial:
        """The best trial for `min_df` over C: the given grid; with `auto`, from it along LADDER
        until both neighbours of the best were tried (or the ladder ends)."""
        tried = {t.C: t for t in self.trials_ if t.min_df == min_df}
        for C in grid:
            if C not in tried:
                tried[C] = trial(min_df, C)
        while auto:
            i = LADDER.index(best_trial(list(tried.values())).C)
            step = [LADDER[j] for j in (i - 1, i + 1) if 0 <= j < len(LADDER)]
            todo = [C for C in step if C not in tried]
            if not todo:
                break
            for C in todo:
                tried[C] = trial(min_df, C)
        return best_trial(list(tried.values()))

    def _fit_one_C(
        self, X: sp.csr_matrix, targets: list[np.ndarray], C: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(weights (K, F), biases (K,)) for one C, one scored class after the other (see the
        module's docstring: the same seed gives the same weights)."""
        fits = [self._fit_one(_scaled(X, r), t, C) for r, t in zip(self.ratios_, targets)]
        return np.stack([w for w, _ in fits]), np.array([b for _, b in fits])

    def _targets(self, labels: np.ndarray) -> list[np.ndarray]:
        """0/1 targets per scored class: class 1 for two classes, each class for more."""
        labels = np.asarray(labels)
        classes = [1] if self.n_classes_ == 2 else range(self.n_classes_)
        targets = [(labels == c).astype(np.int64) for c in classes]
        if any(t.min() == t.max() for t in targets):
            raise SettingsError(
                "the linear model needs every class in the train subset (and at least two classes)"
            )
        return targets

    def _ratio(self, X: sp.csr_matrix, target: np.ndarray) -> np.ndarray:
        alpha = self.settings.alpha
        p = alpha + np.asarray(X[target == 1].sum(0)).ravel()
        q = alpha + np.asarray(X[target == 0].sum(0)).ravel()
        return np.log((p / p.sum()) / (q / q.sum()))

    def _fit_one(self, X: sp.csr_matrix, target: np.ndarray, C: float) -> tuple[np.ndarray, float]:
        from sklearn.linear_model import (
            LogisticRegression,
        )  # fitting only: serving never loads scikit-learn

        s = self.settings
        model = LogisticRegression(
            C=C,
            solver="liblinear",
            dual=True,
            max_iter=1000,
            random_state=s.seed,
            class_weight="balanced" if s.class_weight == "balanced" else None,
        )
        model.fit(X, target)
        w = model.coef_.ravel()
        return (1 - s.beta) * np.abs(w).mean() + s.beta * w, float(
            model.intercept_[0]
        )  # Wang & Manning's interpolation

    def _set_weights(self, weights: np.ndarray, biases: np.ndarray) -> None:
        self.weights_, self.biases_ = weights.astype(np.float32), biases.astype(np.float32)
        self._effective = np.ascontiguousarray((self.ratios_ * self.weights_).T)

    # -- prediction -----------------------------------------------------------------------------

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if self.vectorizer_ is None:
            raise SettingsError("the linear model is not fitted: call fit() or load a saved one")
        return self.vectorizer_.transform(texts)

    def _scores(self, X: sp.csr_matrix) -> np.ndarray:
        """(N, n_classes) logits."""
        z = np.asarray(X @ self._effective) + self.biases_  # (N, K)
        return (
            np.concatenate([np.zeros_like(z), z], axis=1) if self.n_classes_ == 2 else z
        )  # sigmoid = softmax([0, z])

    def _probabilities(self, X: sp.csr_matrix) -> np.ndarray:
        z = self._scores(X)
        e = np.exp(z - z.max(1, keepdims=True))
        return (e / e.sum(1, keepdims=True)).astype(np.float32)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 4096) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.n_classes_), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            out[start : start + batch_size] = self._probabilities(
                self.transform(texts[start : start + batch_size])
            )
        return out

    # -- files ----------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        words, tables = self.vectorizer_.state()
        save_file(
            {"ratios": self.ratios_, "weights": self.weights_, "biases": self.biases_, **tables},
            str(folder / "model.safetensors"),
        )
        (folder / "vocabulary.json").write_text(json.dumps(words, ensure_ascii=False))
        (folder / "model.json").write_text(
            json.dumps(
                {
                    "format": LINEAR_FORMAT,
                    "kind": "linear",
                    "n_classes": self.n_classes_,
                    "C": self.C_,
                    "min_df": self.min_df_,
                    "n_features": self.vectorizer_.n_features,
                    "settings": asdict(self.settings),
                },
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def load(cls, folder: Path) -> NBLinear:
        meta = json.loads((folder / "model.json").read_text())
        if meta.get("format") != LINEAR_FORMAT:
            raise SettingsError(
                f"{folder}: model format {meta.get('format')!r}; this critic reads {LINEAR_FORMAT}"
            )
        model = cls(LinearSettings.from_dict(meta["settings"]))
        tensors = load_file(str(folder / "model.safetensors"))
        model.ratios_ = tensors["ratios"]
        model.n_classes_, model.C_ = meta["n_classes"], meta["C"]
        model.min_df_ = meta.get("min_df")  # absent before min_df was chosen: the one setting
        model.vectorizer_ = NgramVectorizer.from_state(
            model.ngram_settings(), json.loads((folder / "vocabulary.json").read_text()), tensors
        )
        model._set_weights(tensors["weights"], tensors["biases"])
        return model


def _scaled(X: sp.csr_matrix, ratios: np.ndarray) -> sp.csr_matrix:
    """X ∘ r as one float64 copy of X (the dtype liblinear takes: scikit-learn would copy a
    float32 matrix again, and `X.multiply(r)` makes intermediates as large)."""
    out = X.astype(np.float64)
    out.data *= ratios.astype(np.float64)[out.indices]
    return out
