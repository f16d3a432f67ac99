import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from critic.errors import SettingsError
from critic.text.ngrams import NgramSettings, NgramVectorizer
from critic.text.words import words
from tests.conftest import sentiment_rows

TEXTS = [t for t, _ in sentiment_rows(60)] + [
    "It's 10/10!<br />Great, great fun.",
    "",
    "great fun great fun",
]


def _by_name(vectorizer_or_names, X):
    """(sorted feature names, dense matrix with its columns in that order)."""
    names = (
        vectorizer_or_names
        if isinstance(vectorizer_or_names, list)
        else list(vectorizer_or_names.get_feature_names_out())
    )
    order = np.argsort(names)
    return [names[i] for i in order], X.toarray()[:, order]


def _assert_same(a, b):
    assert a[0] == b[0]
    np.testing.assert_allclose(a[1], b[1], rtol=1e-6)


@pytest.mark.parametrize("counts", ["binary", "sublinear"])
@pytest.mark.parametrize("ngram_min,ngram_max,min_df", [(1, 1, 1), (1, 2, 1), (1, 3, 2), (2, 3, 2)])
def test_counts_equal_scikit_learns_count_vectorizer(ngram_min, ngram_max, min_df, counts):
    ours = NgramVectorizer(NgramSettings(ngram_min, ngram_max, min_df, None, counts))
    X = ours.fit_transform(TEXTS)
    reference = CountVectorizer(
        tokenizer=words,
        lowercase=False,
        token_pattern=None,
        ngram_range=(ngram_min, ngram_max),
        min_df=min_df,
    )
    R = _weigh(reference.fit_transform(TEXTS).astype(np.float32), counts)
    _assert_same(_by_name(ours.feature_names(), X), _by_name(reference, R))
    unseen = [
        "great fun and a zebra",
        "zebra zebra",
        "",
    ]  # zebra: unknown, so no n-gram holding it counts
    _assert_same(
        _by_name(ours.feature_names(), ours.transform(unseen)),
        _by_name(reference, _weigh(reference.transform(unseen).astype(np.float32), counts)),
    )


def _weigh(R, counts):
    R.data = np.ones_like(R.data) if counts == "binary" else 1 + np.log(R.data)
    return R


def test_n_grams_never_cross_texts_and_max_features_keeps_the_most_common():
    vectorizer = NgramVectorizer(NgramSettings(1, 2, 1, None, "binary"))
    vectorizer.fit_transform(["a b", "c d"])
    assert "b c" not in vectorizer.feature_names()
    small = NgramVectorizer(NgramSettings(1, 2, 1, 3, "binary"))
    X = small.fit_transform(["good film", "good film", "good plot", "bad"])
    assert sorted(small.feature_names()) == ["film", "good", "good film"] and X.shape == (4, 3)


def test_saved_state_counts_the_same():
    vectorizer = NgramVectorizer(NgramSettings(1, 3, 2, None, "binary"))
    X = vectorizer.fit_transform(TEXTS)
    words_, tensors = vectorizer.state()
    again = NgramVectorizer.from_state(vectorizer.settings, words_, tensors)
    assert (
        again.transform(TEXTS) != X
    ).nnz == 0 and again.feature_names() == vectorizer.feature_names()


def test_unfitted_vectorizer_says_so():
    with pytest.raises(SettingsError, match="not fitted"):
        NgramVectorizer(NgramSettings()).transform(["text"])
