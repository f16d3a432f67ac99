"""The linear model's explanation: exact, no approximation.

The model's logit for a scored class k is z_k = Σ_f x_f · e_fk + b_k, where x_f is n-gram f's
feature value in the text (1, or 1 + log tf) and e = ratios ∘ weights (`NBLinear`). Each n-gram's
contribution x_f · e_fk is shared evenly by its occurrences in the text, and each occurrence's share
evenly by the n words it covers, so the word scores add up to z_k − b_k exactly (up to float
rounding). Two classes: the model scores class 1 only (z; class 0's logit is 0), so class 1 is
explained by z and class 0 by −z: each is the class's log-odds.

The n-grams are found as the vectorizer finds them (`critic.text.ngrams`): word ids → the code
a·U² + b·U + c → the column, by a binary search in the order's sorted code table. The same
features give the probabilities, by the model's own float32 arithmetic (`NBLinear._probabilities`:
the feature row times ratios ∘ weights plus the biases, then the softmax), so they are
`Predictor.predict_proba`'s to the last bit (tests/test_explain.py checks it) while the text is
tokenized once: an explanation costs little more than the prediction (bench/explain.py)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from critic.explain.result import Explanation
from critic.explain.spans import on_words, token_offsets
from critic.models.linear import NBLinear

__all__ = ["LinearExplainer"]


class LinearExplainer:
    predicts = True  # it computes the probabilities itself, from the features it explains

    def __init__(self, model: NBLinear):
        vectorizer = model.vectorizer_
        self.model = model
        self.binary = model.settings.counts == "binary"
        self.ids = {w: i for i, w in enumerate(vectorizer.words_)}  # word → id (built once)
        self.tables = vectorizer.tables_  # per order: sorted int64 codes
        sizes = [len(t) for t in self.tables]
        self.offsets = np.cumsum([0, *sizes])[:-1]  # the first column of each order
        self.effective32 = np.ascontiguousarray((model.ratios_ * model.weights_).T)  # (F, K)
        self.effective = self.effective32.astype(np.float64)  # the scores, summed in float64
        self.biases = model.biases_.astype(np.float64)  # (K,)

    def contributions(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """((T, K) each token's share of every scored class's logit, bias excluded; (n_classes,)
        the probabilities, as the model computes them)."""
        ids = np.fromiter((self.ids.get(t, -1) for t in tokens), np.int64, len(tokens))
        columns, starts, orders = self._occurrences(ids)
        out = np.zeros((len(tokens), self.effective.shape[1]))
        distinct, inverse, tf = np.unique(columns, return_inverse=True, return_counts=True)
        value32 = (
            np.ones(len(distinct), np.float32)
            if self.binary
            else 1.0 + np.log(tf.astype(np.float32))
        )
        if len(columns):
            share = (value32.astype(np.float64) / tf)[inverse] / orders  # per word of an occurrence
            for k in range(int(orders.max())):
                covers = orders > k
                at = starts[covers] + k
                for j in range(out.shape[1]):
                    weights = share[covers] * self.effective[columns[covers], j]
                    out[:, j] += np.bincount(at, weights=weights, minlength=len(tokens))
        return out, self._probabilities(distinct, value32)

    def _probabilities(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """(n_classes,) float32: `NBLinear._probabilities` of the one feature row (sorted columns)."""
        n_features = self.effective32.shape[0]
        X = sp.csr_matrix((values, columns, [0, len(columns)]), shape=(1, n_features))
        z = np.asarray(X @ self.effective32) + self.model.biases_  # (1, K)
        if self.model.n_classes_ == 2:
            z = np.concatenate([np.zeros_like(z), z], axis=1)  # sigmoid = softmax([0, z])
        e = np.exp(z - z.max(1, keepdims=True))
        return (e / e.sum(1, keepdims=True)).astype(np.float32)[0]

    def _occurrences(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column, first token, order) of every n-gram occurrence the model counts."""
        base, known = len(self.ids), ids >= 0
        columns, starts, orders = [], [], []
        for n, (table, offset) in enumerate(zip(self.tables, self.offsets), start=1):
            m = len(ids) - n + 1
            if not len(table) or m <= 0:
                continue
            code, ok = ids[:m], known[:m]
            for k in range(1, n):
                code = code * base + ids[k : k + m]
                ok = ok & known[k : k + m]
            at = np.flatnonzero(ok)
            wanted = code[at]
            found = np.minimum(np.searchsorted(table, wanted), len(table) - 1)
            hit = table[found] == wanted
            columns.append(offset + found[hit])
            starts.append(at[hit])
            orders.append(np.full(len(columns[-1]), n))
        if not columns:
            return (np.zeros(0, np.int64),) * 3
        return tuple(np.concatenate(parts).astype(np.int64) for parts in (columns, starts, orders))

    def explain(self, text: str, target: int | None, classes: list[str], p=None) -> Explanation:
        """The explanation of `text` for class `target` (None: the predicted one); `p` is not
        needed (the probabilities come with the features)."""
        tokens, units = token_offsets(text)  # words: no punctuation, lowercased
        per_token, p = self.contributions(tokens)
        label = int(p.argmax())
        target = label if target is None else target
        if self.model.n_classes_ == 2:  # one scored class: class 1's log-odds is z, class 0's −z
            sign = 1.0 if target == 1 else -1.0
            scores, bias = sign * per_token[:, 0], sign * self.biases[0]
        else:
            scores, bias = per_token[:, target], self.biases[target]
        spans, unseen = on_words(text, units, scores, np.ones(len(units), bool), words=True)
        return Explanation(
            label=classes[label],
            probabilities={c: float(v) for c, v in zip(classes, p)},
            target=classes[target],
            method="linear",
            explains="logit",
            value=float(bias + scores.sum()),
            base=float(bias),
            spans=spans,
            unseen=unseen,
            completeness_error=0.0,
        )
