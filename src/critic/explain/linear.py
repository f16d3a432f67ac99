"""The linear model's explanation: exact, no approximation.

The model's logit for a scored class k is z_k = Σ_f x_f · e_fk + b_k, where x_f is n-gram f's
feature value in the text (1, or 1 + log tf) and e = ratios ∘ weights (`NBLinear`). Each n-gram's
contribution x_f · e_fk is shared evenly by its occurrences in the text, and each occurrence's share
evenly by the n words it covers, so the word scores add up to z_k − b_k exactly (up to float
rounding). Two classes: the model scores class 1 only (z; class 0's logit is 0), so class 1 is
explained by z and class 0 by −z: each is the class's log-odds.

The n-grams are found as the vectorizer finds them (`critic.text.ngrams`): word ids → the code
a·U² + b·U + c → the column, by a binary search in the order's sorted code table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from critic.explain.result import Explanation
from critic.explain.spans import model_tokens, on_words
from critic.models.linear import NBLinear

__all__ = ["LinearExplainer"]


class LinearExplainer:
    def __init__(self, model: NBLinear):
        vectorizer = model.vectorizer_
        self.model = model
        self.binary = model.settings.counts == "binary"
        self.words = pd.Index(vectorizer.words_, dtype=object)  # word → id (built once)
        self.tables = vectorizer.tables_  # per order: sorted int64 codes
        sizes = [len(t) for t in self.tables]
        self.offsets = np.cumsum([0, *sizes])[:-1]  # the first column of each order
        self.effective = (model.ratios_ * model.weights_).T.astype(np.float64)  # (F, K)
        self.biases = model.biases_.astype(np.float64)  # (K,)

    def contributions(self, tokens: list[str]) -> np.ndarray:
        """(T, K) each token's share of every scored class's logit, bias excluded."""
        ids = self.words.get_indexer(tokens).astype(np.int64) if tokens else np.zeros(0, np.int64)
        columns, starts, orders = self._occurrences(ids)
        out = np.zeros((len(tokens), self.effective.shape[1]))
        if not len(columns):
            return out
        distinct, inverse, tf = np.unique(columns, return_inverse=True, return_counts=True)
        value = np.ones(len(distinct)) if self.binary else 1.0 + np.log(tf)
        share = (value / tf)[inverse][:, None] * self.effective[columns]  # (O, K) per occurrence
        share /= orders[:, None]  # per word of the occurrence
        for k in range(int(orders.max())):
            covers = orders > k
            np.add.at(out, starts[covers] + k, share[covers])
        return out

    def _occurrences(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column, first token, order) of every n-gram occurrence the model counts."""
        base = len(self.words)
        columns, starts, orders = [], [], []
        for n, (table, offset) in enumerate(zip(self.tables, self.offsets), start=1):
            m = len(ids) - n + 1
            if not len(table) or m <= 0:
                continue
            code, ok = ids[:m].copy(), ids[:m] >= 0
            for k in range(1, n):
                code = code * base + ids[k : k + m]
                ok &= ids[k : k + m] >= 0
            at = np.flatnonzero(ok)
            found = np.searchsorted(table, code[at])
            hit = found < len(table)
            hit[hit] = table[found[hit]] == code[at][hit]
            columns.append(offset + found[hit])
            starts.append(at[hit])
            orders.append(np.full(int(hit.sum()), n))
        if not columns:
            return (np.zeros(0, np.int64),) * 3
        return tuple(np.concatenate(parts).astype(np.int64) for parts in (columns, starts, orders))

    def explain(self, text: str, target: int, label: str, probabilities: dict) -> Explanation:
        tokens = model_tokens(text)  # the linear model reads words: no punctuation, lowercased
        per_token = self.contributions([t.text for t in tokens])
        if self.model.n_classes_ == 2:  # one scored class: class 1's log-odds is z, class 0's −z
            sign = 1.0 if target == 1 else -1.0
            scores, bias = sign * per_token[:, 0], sign * self.biases[0]
        else:
            scores, bias = per_token[:, target], self.biases[target]
        units = [(t.start, t.end) for t in tokens]
        spans, unseen = on_words(text, units, scores, np.ones(len(units), bool))
        return Explanation(
            label=label,
            probabilities=probabilities,
            target=list(probabilities)[target],
            method="linear",
            explains="logit",
            value=float(bias + scores.sum()),
            base=float(bias),
            spans=spans,
            unseen=unseen,
            completeness_error=0.0,
        )
