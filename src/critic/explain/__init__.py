"""Why did it say that: word-level explanations beside the Predictor.

    explain(predictor, ["A fun brain candy movie..."], target=None)
    → [Explanation(label, probabilities, target, method, spans=[Span(start, end, score, word)], ...)]

The probabilities are `Predictor.predict_proba`'s own (the one text → prediction path); the
spans are the words of the original text, with character offsets, scored for the explained class
(the predicted one unless `target` names another):

    linear model         exact n-gram contributions spread onto their words (`linear.py`)
    models over word ids Integrated Gradients at the embeddings, WordPiece pieces folded back onto
                         their words (`gradients.py`, Captum)
    multi-hot MLP        Integrated Gradients on the multi-hot vector (`gradients.py`)
    method="occlusion"   any model: each word taken out in turn (`occlusion.py`), the plain method
                         the others are measured against (bench/explain.py); an ensemble's own

Light to import (numpy and regex): torch and Captum load with the first neural explainer."""

from __future__ import annotations

from collections.abc import Sequence

from critic.errors import SettingsError
from critic.explain.result import METHODS, QUANTITIES, Explanation, Span

__all__ = [
    "explain",
    "explainer_for",
    "target_index",
    "Explanation",
    "Span",
    "METHODS",
    "QUANTITIES",
]


def explainer_for(predictor, method: str = "auto", steps=None):
    """The explainer of `predictor`'s model: `auto` is the exact or gradient method of its kind."""
    if method not in ("auto", *METHODS):
        raise SettingsError(f"no explanation method {method!r}; one of auto, {', '.join(METHODS)}")
    ensemble = getattr(predictor.model, "kind", None) == "ensemble"
    if ensemble and method not in ("auto", "occlusion"):
        raise SettingsError(
            "an ensemble is explained by occlusion (its members read text differently)"
        )
    if method == "occlusion" or ensemble:
        from critic.explain.occlusion import OcclusionExplainer

        return OcclusionExplainer(predictor)
    if predictor.encoder is None:
        if method not in ("auto", "linear"):
            raise SettingsError("the linear model is explained exactly: use method linear")
        from critic.explain.linear import LinearExplainer

        return LinearExplainer(predictor.model)
    if method == "linear":
        raise SettingsError("only the linear model has the linear method; use integrated-gradients")
    from critic.explain.gradients import IdsExplainer, Steps, VectorExplainer

    kind = VectorExplainer if predictor.encoder.input_spec.kind == "vector" else IdsExplainer
    return kind(predictor, steps or Steps())


def target_index(classes: list[str], target: str | None) -> int | None:
    """The column of class `target` (None: each text's predicted class), or SettingsError."""
    if target is None:
        return None
    if target not in classes:
        raise SettingsError(f"no class {target!r}; this model's classes are {', '.join(classes)}")
    return classes.index(target)


def explain(
    predictor,
    texts: Sequence[str],
    target: str | None = None,
    *,
    method: str = "auto",
    steps=None,
    explainer=None,
) -> list[Explanation]:
    """One Explanation per text, for class `target` (default: each text's predicted class).
    `explainer`: one made before by `explainer_for` (a server keeps it), else one is made."""
    texts = list(texts)
    column = target_index(predictor.classes, target)
    explainer = explainer or explainer_for(predictor, method, steps)
    # one batch through the Predictor, as `predict` runs it (the linear explainer computes the
    # same probabilities from the features it explains)
    probs = None if getattr(explainer, "predicts", False) else predictor.predict_proba(texts)
    return [
        explainer.explain(text, column, predictor.classes, None if probs is None else probs[i])
        for i, text in enumerate(texts)
    ]
