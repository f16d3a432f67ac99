"""Word-level explanations (critic.explain): the linear model's exact decomposition, offsets that
always cut the original text between words (HTML, emoji, accents, repeated words), words beyond
the sequence length shown as not read, Integrated Gradients' completeness, and a planted word that
decides the label ranked first."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from critic.errors import SettingsError
from critic.explain import explain
from critic.explain.spans import display_spans, erase, is_boundary, keep_only, model_tokens
from critic.models.graph import GraphModel, GraphSpec
from critic.models.linear import LinearSettings, NBLinear
from critic.predictor import Predictor
from critic.text.encoders import (
    MultiHotEncoder,
    MultiHotSettings,
    WordSequenceEncoder,
    WordSequenceSettings,
)
from critic.text.words import words
from tests.conftest import NEGATIVE, POSITIVE, sentiment_rows

HARD = [
    "A <b>great</b> film.<br /><br />Great acting, GREAT story!",
    "café, naïve, CAFÉ and cafe\u0301 (combining accent); don’t (curly) and rock'n'roll",
    "loved it 😍😍 👍🏽 ❤️ great😍film and ❤️great too",
    "İstanbul ΣΑΣ ΟΔΟΣ: dull, dull, dull... dull",
    "tabs\tand\nnewlines\r\nand   spaces <a href='x'>link</a>",
    "great great great great",
    "",
    "   ",
    "<br /><br />",
]


def _linear(rows, **settings) -> Predictor:
    classes = sorted({label for _, label in rows})
    texts = [t for t, _ in rows]
    labels = np.array([classes.index(label) for _, label in rows])
    model = NBLinear(LinearSettings(**settings)).fit(texts, labels, len(classes))
    return Predictor(model, None, classes, {})


def _logits(model: NBLinear, text: str) -> np.ndarray:
    """The model's own scores for one text, (K,): X · (ratios ∘ weights)ᵀ + biases."""
    X = model.transform([text])
    return np.asarray(X @ (model.ratios_ * model.weights_).T)[0] + model.biases_


def _check_spans(text: str, explanation) -> None:
    previous_end = 0
    for span in explanation.spans:
        assert previous_end <= span.start < span.end <= len(text)
        assert is_boundary(text, span.start) and is_boundary(text, span.end), (text, span)
        assert text[span.start : span.end] == span.word
        assert not any(c.isspace() for c in span.word)
        previous_end = span.end


# -- the linear model: exact --------------------------------------------------------------------


@pytest.mark.parametrize("counts", ["binary", "sublinear"])
def test_linear_scores_plus_bias_are_the_logit(counts):
    rows = sentiment_rows(120, classes=2) + [("great great film awful", "positive")] * 3
    predictor = _linear(rows, counts=counts, min_df=1)
    texts = ["great film, loved it", "awful awful plot", "the movie was great and dull", *HARD]
    for text, ex in zip(texts, predictor.explain(texts)):
        z = float(_logits(predictor.model, text)[0])  # class 1 ("positive") over class 0
        value = z if ex.target == "positive" else -z
        assert ex.explains == "logit" and ex.method == "linear" and ex.completeness_error == 0
        assert ex.value == pytest.approx(value, abs=1e-4)
        assert ex.base + sum(s.score for s in ex.spans) == pytest.approx(ex.value, abs=1e-9)
        sign = 1 if ex.target == "positive" else -1
        assert ex.base == pytest.approx(sign * float(predictor.model.biases_[0]), abs=1e-6)
        _check_spans(text, ex)
        # the same probabilities as predict, and the logit is theirs
        p = predictor.predict_proba([text])[0]
        assert ex.probabilities == {c: float(v) for c, v in zip(predictor.classes, p)}
        assert np.log(p[1] / p[0]) == pytest.approx(z, abs=1e-4)


def test_linear_multiclass_explains_any_class():
    predictor = _linear(sentiment_rows(150, classes=3))
    text = "the plot was okay but the actor was great"
    for target in predictor.classes:
        (ex,) = predictor.explain([text], target=target)
        k = predictor.classes.index(target)
        assert ex.target == target and ex.label == "positive"
        assert ex.value == pytest.approx(float(_logits(predictor.model, text)[k]), abs=1e-4)
        assert ex.base + sum(s.score for s in ex.spans) == pytest.approx(ex.value, abs=1e-9)
    (positive,) = predictor.explain([text], target="positive")
    (neutral,) = predictor.explain([text], target="neutral")
    assert positive.top(1)[0].word == "great" and neutral.top(1)[0].word in ("okay", "great")
    with pytest.raises(SettingsError, match="no class 'happy'"):
        predictor.explain([text], target="happy")


def test_linear_ngrams_are_shared_by_their_words():
    rows = [("not good at all", "negative"), ("good fun", "positive")] * 20
    predictor = _linear(rows, ngram_max=2, min_df=1)
    (ex,) = predictor.explain(["not good"])
    # "not", "good" and the bigram "not good": each word gets its unigram plus half the bigram
    e = (predictor.model.ratios_ * predictor.model.weights_)[0]
    names = predictor.model.vectorizer_.feature_names()
    sign = 1 if ex.target == "positive" else -1
    half = e[names.index("not good")] / 2
    assert ex.spans[0].score == pytest.approx(sign * (e[names.index("not")] + half), abs=1e-6)
    assert ex.spans[1].score == pytest.approx(sign * (e[names.index("good")] + half), abs=1e-6)


# -- offsets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HARD)
def test_offsets_cut_the_original_text_between_words(text):
    spans = display_spans(text)
    for a, b in spans:
        assert is_boundary(text, a) and is_boundary(text, b)
        assert text[a:b].strip() == text[a:b] != ""
    tokens = model_tokens(text)
    assert [t.text for t in tokens] == words(text)  # the model's own token strings
    assert [t.start for t in tokens] == sorted({t.start for t in tokens})  # repeated words apart
    for t in tokens:
        assert any(a <= t.start and t.end <= b for a, b in spans)
        assert text[t.start : t.end].lower().replace("\u2019", "'") == t.text
    for punctuation in (False, True):
        tokens = model_tokens(text, punctuation=punctuation, lowercase=False)
        assert [t.text for t in tokens] == words(text, punctuation=punctuation, lowercase=False)


def test_graphemes_stay_whole():
    text = "❤️great and 👍🏽 cafe\u0301"
    spans = [text[a:b] for a, b in display_spans(text)]
    assert spans == ["❤️great", "and", "👍🏽", "cafe\u0301"]


def test_erase_and_keep_only():
    text = "a <b>great</b> film, truly"
    spans = display_spans(text)
    words_ = [text[a:b] for a, b in spans]
    assert words_ == ["a", "great", "film", ",", "truly"]
    assert words(erase(text, [spans[1]])) == ["a", "film", "truly"]
    assert keep_only(text, [spans[4], spans[1]]) == "great truly"


def test_repeated_words_each_get_their_own_span():
    predictor = _linear(sentiment_rows(100))
    text = "dull, dull... DULL! and great"
    (ex,) = predictor.explain([text])
    dull = [s for s in ex.spans if s.word.lower() == "dull"]
    assert [s.start for s in dull] == [0, 6, 14]
    assert len({round(s.score, 9) for s in dull}) == 1  # one binary feature, shared evenly


# -- neural models --------------------------------------------------------------------------------


def _graph_predictor(encoder, blocks, classes, rows, epochs: int, seed: int = 0) -> Predictor:
    """A graph model trained here in a few lines (Adam, full batches): tests need no workspace."""
    texts = [t for t, _ in rows]
    y = torch.tensor([classes.index(label) for _, label in rows])
    encoder.fit(texts)
    torch.manual_seed(seed)
    model = GraphModel(GraphSpec.from_dict({"blocks": blocks}), encoder.input_spec, len(classes))
    encoded = encoder.encode(texts)
    x = encoder.batch(encoded, np.arange(len(texts)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    return Predictor(model, encoder, classes, {})


CNN = [
    {"type": "Embedding", "dim": 16},
    {"type": "Conv1D", "filters": 16, "kernel": 2, "activation": "relu"},
    {"type": "GlobalMaxPool1D"},
    {"type": "Output"},
]


@pytest.fixture(scope="module")
def planted() -> Predictor:
    """A small CNN trained on reviews of filler words where one planted word decides the label."""
    encoder = WordSequenceEncoder(WordSequenceSettings(max_words=100, sequence_length=30))
    rows = sentiment_rows(200, classes=2)
    return _graph_predictor(encoder, CNN, ["negative", "positive"], rows, epochs=30)


def test_the_planted_word_is_ranked_first(planted):
    rows = sentiment_rows(20, classes=2, seed=7)
    texts = [t for t, _ in rows]
    explanations = planted.explain(texts)
    for (text, label), ex in zip(rows, explanations):
        assert ex.label == label  # the model learned the cue
        cue = next(w for w in text.split() if w in POSITIVE + NEGATIVE)
        top = ex.top(1)[0]
        assert top.word == cue and top.score > 0, (text, ex.top(3))
        assert ex.completeness_error <= 0.05 and ex.explains == "log-odds"
        gap = ex.base + sum(s.score for s in ex.spans) - ex.value
        assert abs(gap) <= 0.05 * abs(ex.value - ex.base)
        _check_spans(text, ex)
    # asked about the other class, the cue pushes away from it
    (other,) = planted.explain(
        [texts[0]], target="positive" if rows[0][1] == "negative" else "negative"
    )
    assert other.top(1)[0].score < 0
    # the same probabilities as predict: equal up to float32 rounding, since a batch of 20 and a
    # batch of 1 may take different CPU kernels (a CI run differed in the 7th digit)
    p = planted.predict_proba(texts[:1])[0]
    expected = {c: pytest.approx(float(v), rel=1e-5, abs=1e-7) for c, v in zip(planted.classes, p)}
    assert explanations[0].probabilities == expected


def test_integrated_gradients_keep_to_the_models_part_tokens(planted):
    """The path points go through the model in passes of at most a training part's tokens (what
    bounds the activations kept for the backward pass); the attributions are the same."""
    texts = [t for t, _ in sentiment_rows(4, classes=2, seed=11)]
    whole = planted.explain(texts)
    shapes: list[tuple[int, int]] = []  # (rows, ids) of each pass kept for a backward pass
    hook = planted.model.register_forward_hook(
        lambda m, i, out: shapes.append(i[0].shape) if out.requires_grad else None
    )
    budget, planted.model.part_tokens = planted.model.part_tokens, 45
    try:
        split = Predictor(planted.model, planted.encoder, planted.classes, {}).explain(texts)
    finally:
        planted.model.part_tokens = budget
        hook.remove()
    # each text's 16 points (or more) in passes of at most 45 ids (a text trimmed to its length)
    assert all(rows * ids <= 45 for rows, ids in shapes if rows > 1)
    assert max(rows for rows, _ in shapes) < 16 and len(shapes) > 4 * 2
    for a, b in zip(whole, split):
        assert b.steps == a.steps
        assert [s.score for s in b.spans] == pytest.approx([s.score for s in a.spans], abs=1e-5)


def test_occlusion_finds_the_planted_word_too(planted):
    text = "the movie and the plot was awful and the actor"
    (ex,) = planted.explain([text], method="occlusion")
    assert ex.method == "occlusion" and ex.top(1)[0].word == "awful"


@pytest.mark.parametrize("truncation", ["post", "pre"])
def test_words_beyond_the_sequence_length_are_not_seen(truncation):
    settings = WordSequenceSettings(
        max_words=60, sequence_length=5, truncation=truncation, padding=truncation
    )
    rows = sentiment_rows(60)
    predictor = _graph_predictor(
        WordSequenceEncoder(settings), CNN, ["negative", "positive"], rows, 2
    )
    text = "one two, three four five six seven eight! nine ten"
    (ex,) = predictor.explain([text])
    seen = [s.word for s in ex.spans]
    if truncation == "post":
        assert seen == ["one", "two", "three", "four", "five"]
        assert ex.unseen == [(text.index("six"), len(text))]
    else:
        assert seen == ["six", "seven", "eight", "nine", "ten"]
        assert ex.unseen == [(0, text.index("five") + 4)]
    assert (
        abs(ex.base + sum(s.score for s in ex.spans) - ex.value)
        <= 0.05 * max(abs(ex.value - ex.base), 0.1)
        or ex.steps == 128
    )


def test_multi_hot_scores_are_shared_by_repeated_words():
    encoder = MultiHotEncoder(MultiHotSettings(max_words=60))
    blocks = [{"type": "Dense", "units": 16}, {"type": "Output"}]
    rows = sentiment_rows(200, classes=3)
    classes = ["negative", "neutral", "positive"]
    predictor = _graph_predictor(encoder, blocks, classes, rows, epochs=60)
    text = "great film, great story and a zzzunknown qqqunknown"
    (ex,) = predictor.explain([text], target="positive")
    assert ex.top(1)[0].word == "great"
    great = [s.score for s in ex.spans if s.word == "great"]
    assert len(great) == 2 and great[0] == pytest.approx(great[1])
    unknown = [s.score for s in ex.spans if s.word.endswith("unknown")]
    assert unknown[0] == pytest.approx(unknown[1])  # OOV's score shared
    assert ex.completeness_error <= 0.05
    _check_spans(text, ex)


def test_wordpiece_pieces_fold_back_onto_words(tiny_bert):
    from critic.explain.reading import read
    from critic.models.pretrained import load_pretrained_weights, resolve_pretrained
    from critic.text.wordpiece import WordPieceEncoder, WordPieceSettings

    settings = WordPieceSettings(source=tiny_bert, sequence_length=24, truncation="head+tail")
    encoder = WordPieceEncoder(settings).fit()
    blocks = [{"type": "Transformer", "source": tiny_bert, "pooling": "mean"}, {"type": "Output"}]
    spec = resolve_pretrained(GraphSpec.from_dict({"blocks": blocks}))
    torch.manual_seed(0)
    model = GraphModel(spec, encoder.input_spec, 2)
    load_pretrained_weights(model)
    predictor = Predictor(model.eval(), encoder, ["negative", "positive"], {})
    long = "Loved <i>every</i> minute " + "the plot was average and the scene was fine " * 4
    texts = [*HARD[:4], long + "but the ending was dull"]
    for text, ex in zip(texts, predictor.explain(texts)):
        reading = read(predictor, text)
        # the pieces the encoder reads, with offsets into the original text (tags blanked)
        ids = encoder.pieces([text])[0]
        assert [encoder.fitted.token_to_id(t) for t in reading.tokens] == ids
        seen = [ids[i] for i in np.flatnonzero(reading.seen)]
        assert list(reading.row[1 : 1 + len(seen)]) == seen == list(encoder.window(ids))
        _check_spans(text, ex)
        assert ex.completeness_error <= 0.05 or ex.steps == 128
        assert abs(ex.base + sum(s.score for s in ex.spans) - ex.value) <= 0.06 * max(
            abs(ex.value - ex.base), 0.1
        )
    (ex,) = predictor.explain([texts[-1]])
    words_read = [s.word for s in ex.spans]
    # head+tail: the first quarter of the window and the last three quarters; the middle unread
    assert words_read[:2] == ["Loved", "every"] and words_read[-1] == "dull"
    assert (
        len(ex.unseen) == 1
        and ex.spans[1].end < ex.unseen[0][0] < ex.unseen[0][1] < ex.spans[-1].start
    )
    # "great😍film" is one BERT word ([UNK] here): its score is shared by the three spans
    (emoji,) = predictor.explain(["so great😍film"])
    shared = [s.score for s in emoji.spans if s.word in ("great", "😍", "film")]
    assert len(shared) == 3 and shared[0] == pytest.approx(shared[1]) == pytest.approx(shared[2])


def test_unknown_method_is_refused():
    predictor = _linear(sentiment_rows(40))
    with pytest.raises(SettingsError, match="no explanation method"):
        explain(predictor, ["a"], method="shap")
    with pytest.raises(SettingsError, match="use method linear"):
        explain(predictor, ["a"], method="integrated-gradients")


@pytest.mark.parametrize("text", [HARD[0], HARD[4], "one two, three... four!", ""])
def test_the_ascii_shortcut_folds_as_the_general_path(text):
    from critic.explain.spans import on_words

    tokens = model_tokens(text)
    units = [(t.start, t.end) for t in tokens]
    scores = np.arange(len(units), dtype=float) - 1.5
    for seen in (np.ones(len(units), bool), np.arange(len(units)) < 2):
        assert on_words(text, units, scores, seen, words=True) == on_words(
            text, units, scores, seen, words=False
        )
