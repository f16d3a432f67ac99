import numpy as np
import pytest

from critic.keras import imdb, pad_sequences, vectorize
from tests.conftest import tar_folder, write_aclimdb

# Counts over all labelled reviews: good 4, bad 3, movie 3, plot 1 → ranks good 1, bad 2, movie 3
# (tie with bad, alphabetical), plot 4. With index_from=3 the sequences hold rank + 3.
CORPUS = [
    ("train", "pos", 0, 9, "Good, good GOOD movie!"),
    ("train", "neg", 0, 1, "Bad<br />bad movie."),
    ("test", "pos", 0, 8, "good movie"),
    ("test", "neg", 0, 2, "bad plot"),
]


@pytest.fixture
def corpus(tmp_path, workspace):
    return tar_folder(write_aclimdb(tmp_path / "k", CORPUS), tmp_path / "k.tar.gz")


def _by_label(x, y):
    return {int(label): list(seq) for seq, label in zip(x, y)}


def test_word_index_ranks_by_frequency(corpus):
    assert imdb.get_word_index(corpus) == {"good": 1, "bad": 2, "movie": 3, "plot": 4}


def test_load_data_defaults(corpus):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(corpus)
    assert x_train.dtype == object and isinstance(x_train[0], list) and y_train.dtype == np.int64
    assert _by_label(x_train, y_train) == {1: [1, 4, 4, 4, 6], 0: [1, 5, 5, 6]}
    assert _by_label(x_test, y_test) == {1: [1, 4, 6], 0: [1, 5, 7]}


def test_seed_shuffles_train_and_test_like_keras(corpus):
    (x_a, y_a), _ = imdb.load_data(corpus, seed=113)
    rng = np.random.RandomState(113)
    order = np.arange(2)
    rng.shuffle(order)
    stored = [[1, 5, 5, 6], [1, 4, 4, 4, 6]]  # stored order: neg before pos
    assert [list(x) for x in x_a] == [stored[i] for i in order]
    assert y_a.tolist() == [[0, 1][i] for i in order]


def test_num_words_skip_top_oov_and_maxlen(corpus):
    (x, y), (xt, yt) = imdb.load_data(corpus, num_words=5)  # keep indices < 5: start 1 and good 4
    assert _by_label(x, y) == {1: [1, 4, 4, 4, 2], 0: [1, 2, 2, 2]}
    (x, y), _ = imdb.load_data(corpus, skip_top=5)  # Keras drops the start mark too when skipping
    assert _by_label(x, y) == {1: [2, 2, 2, 2, 6], 0: [2, 5, 5, 6]}
    (x, y), _ = imdb.load_data(corpus, oov_char=None, num_words=5)
    assert _by_label(x, y) == {1: [1, 4, 4, 4], 0: [1]}
    (x, y), (xt, yt) = imdb.load_data(corpus, maxlen=5)  # strictly shorter than maxlen
    assert _by_label(x, y) == {0: [1, 5, 5, 6]} and len(xt) == 2
    (x, _), _ = imdb.load_data(corpus, start_char=None, index_from=0)
    assert sorted(map(list, x)) == [[1, 1, 1, 3], [2, 2, 3]]
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(corpus, maxlen=2)
    with pytest.raises(TypeError, match="Unrecognized"):
        imdb.load_data(corpus, nb_words=3)


def test_seed_003_decode_snippet_reads_back_the_words(corpus):
    (x_train, y_train), _ = imdb.load_data(corpus)
    index = imdb.get_word_index()
    reverse_index = dict([(value, key) for (key, value) in index.items()])
    decoded = {
        int(label): " ".join([reverse_index.get(i - 3, "#") for i in seq])
        for seq, label in zip(x_train, y_train)
    }
    assert decoded == {1: "# good good good movie", 0: "# bad bad movie"}


def test_imports_from_environment_when_missing(corpus, monkeypatch):
    monkeypatch.setenv("CRITIC_IMDB_SOURCE", str(corpus))
    (x, _), _ = imdb.load_data()
    assert len(x) == 2
    assert imdb.get_word_index("imdb@1")["plot"] == 4


def test_pad_sequences_keras_defaults():
    seqs = [[1, 2, 3, 4], [5], []]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3), [[2, 3, 4], [0, 0, 5], [0, 0, 0]])
    np.testing.assert_array_equal(
        pad_sequences(seqs, maxlen=3, padding="post", truncating="post"),
        [[1, 2, 3], [5, 0, 0], [0, 0, 0]],
    )
    assert pad_sequences(seqs).shape == (3, 4) and pad_sequences(seqs).dtype == np.int32
    np.testing.assert_array_equal(pad_sequences([[7]], maxlen=2, value=9), [[9, 7]])
    with pytest.raises(ValueError):
        pad_sequences(seqs, padding="middle")


def test_vectorize_multi_hot():
    out = vectorize([[0, 3, 3], [1]], dimension=4)
    np.testing.assert_array_equal(out, [[1, 0, 0, 1], [0, 1, 0, 0]])
    with pytest.raises(ValueError, match="num_words=4"):
        vectorize([[4]], dimension=4)
