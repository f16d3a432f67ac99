import numpy as np
import pytest

from critic.errors import SettingsError
from critic.text.encoders import (
    OOV,
    PAD,
    MultiHotEncoder,
    MultiHotSettings,
    WordSequenceEncoder,
    WordSequenceSettings,
    load_encoder,
    settings_from_dict,
)

TRAIN = ["a a a b b c", "d e f", "A<br />b"]  # counts: a 4, b 3, c 1, d 1, e 1, f 1


def test_vocabulary_is_top_words_of_what_it_was_fitted_on():
    enc = WordSequenceEncoder(WordSequenceSettings(max_words=5, sequence_length=4)).fit(TRAIN)
    vocab = enc.fitted.get_vocab()
    assert vocab == {
        "[PAD]": PAD,
        "[OOV]": OOV,
        "a": 2,
        "b": 3,
        "c": 4,
    }  # ties alphabetical; d, e, f cut
    np.testing.assert_array_equal(enc.encode(["b a zzz", ""]), [[3, 2, OOV, PAD], [PAD] * 4])


def test_min_freq():
    enc = WordSequenceEncoder(
        WordSequenceSettings(max_words=50, min_freq=2, sequence_length=3)
    ).fit(TRAIN)
    assert set(enc.fitted.get_vocab()) == {"[PAD]", "[OOV]", "a", "b"}


@pytest.mark.parametrize(
    "padding,truncation,expected",
    [
        (
            "post",
            "post",
            [[2, 3, 4], [2, PAD, PAD]],
        ),  # keeps the beginning, pads after (the platform)
        ("pre", "pre", [[4, 2, 3], [PAD, PAD, 2]]),  # keeps the end, pads before (Keras)
        ("pre", "post", [[2, 3, 4], [PAD, PAD, 2]]),
    ],
)
def test_padding_and_truncation_sides(padding, truncation, expected):
    enc = WordSequenceEncoder(
        WordSequenceSettings(
            max_words=10, sequence_length=3, padding=padding, truncation=truncation
        )
    ).fit(TRAIN)
    np.testing.assert_array_equal(enc.encode(["a b c a b", "a"]), expected)


def test_save_and_load_give_identical_encodings(tmp_path):
    enc = WordSequenceEncoder(
        WordSequenceSettings(max_words=6, sequence_length=5, padding="pre")
    ).fit(TRAIN)
    enc.save(tmp_path / "enc")
    assert (tmp_path / "enc" / "tokenizer.json").exists()
    again = load_encoder(tmp_path / "enc")
    texts = ["a b c d e f g", "<p>B</p> a", ""]
    np.testing.assert_array_equal(enc.encode(texts), again.encode(texts))
    assert again.settings == enc.settings


def test_multi_hot_is_sparse_until_batched(tmp_path):
    enc = MultiHotEncoder(MultiHotSettings(max_words=5)).fit(TRAIN)
    encoded = enc.encode(["a b a zzz", "", "c"])
    assert encoded.shape == (3, 5) and encoded.nnz == 4  # a, b, OOV; c
    dense = enc.batch(encoded, np.array([0, 2])).numpy()
    np.testing.assert_array_equal(dense, [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1]])
    enc.save(tmp_path / "m")
    assert (load_encoder(tmp_path / "m").encode(["a b a zzz"]) != encoded[0]).nnz == 0


def test_settings_validation():
    with pytest.raises(SettingsError, match="sequence_length"):
        WordSequenceSettings(sequence_length=0)
    with pytest.raises(SettingsError, match="padding"):
        WordSequenceSettings(padding="middle")
    with pytest.raises(SettingsError, match="max_words"):
        MultiHotSettings(max_words=2)
    with pytest.raises(SettingsError, match="unknown encoder setting"):
        settings_from_dict({"kind": "words", "sequence_len": 5})
    with pytest.raises(SettingsError, match="unknown encoder kind"):
        settings_from_dict({"kind": "chars"})
    with pytest.raises(SettingsError, match="not fitted"):
        WordSequenceEncoder().encode(["x"])


def test_the_platform_tokenization_keeps_punctuation_and_case(tmp_path):
    from critic.text.encoders import WordSequenceEncoder, WordSequenceSettings, load_encoder

    settings = WordSequenceSettings(
        max_words=50, sequence_length=6, punctuation=True, lowercase=False
    )
    encoder = WordSequenceEncoder(settings).fit(["Great film!", "great film?", "Great!"])
    vocab = encoder.fitted.get_vocab()
    assert {"!", "?", "Great", "great"} <= set(vocab)
    ids = encoder.encode(["Great!", "great!"])
    assert ids[0, 0] != ids[1, 0] and ids[0, 1] == ids[1, 1] == vocab["!"]
    encoder.save(tmp_path / "enc")
    assert (load_encoder(tmp_path / "enc").encode(["Great!", "great!"]) == ids).all()
