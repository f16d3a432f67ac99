from tokenizers import Tokenizer, models

from critic.text import clean, hf_normalizer, hf_pre_tokenizer, words

TRICKY = [
    "I DON'T like it!<br /><br />It's 10/10... rock'n'roll",
    "café-au-lait, naïve, don’t (curly), 3½ stars, _under_score_",
    "Tags <b>bold</b> and <a href='x'>links</a> vanish; e-mail: a@b.c",
    "dońt (a combining accent used as an apostrophe) and CAPS",
    "numbers 1,000,000 and 3.14; emoji 😀 and CJK 映画 too",
    "",
]


def test_words_examples():
    assert words("It's 10/10!<br />Great") == ["it's", "10", "10", "great"]
    assert words("rock'n'roll don’t 'quoted'") == ["rock'n'roll", "don't", "quoted"]
    assert clean("A<br />B") == "a b"


def test_python_and_tokenizers_engines_agree():
    """The word encoder runs the HF pipeline; statistics run `words`. They must not drift."""
    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = hf_normalizer(), hf_pre_tokenizer()
    for text in TRICKY:
        normalized = tok.normalizer.normalize_str(text)
        assert normalized == clean(text)
        assert [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(normalized)] == words(text)


def test_the_platform_variant_keeps_punctuation_and_case_in_both_engines():
    assert words("It's 10/10!<br />Great...", punctuation=True) == [
        "it's",
        "10",
        "/",
        "10",
        "!",
        "great",
        ".",
        ".",
        ".",
    ]
    assert words("Great FILM", lowercase=False) == ["Great", "FILM"]
    for punctuation in (False, True):
        for lowercase in (False, True):
            tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
            tok.normalizer, tok.pre_tokenizer = (
                hf_normalizer(lowercase),
                hf_pre_tokenizer(punctuation),
            )
            for text in TRICKY:
                normalized = tok.normalizer.normalize_str(text)
                assert normalized == clean(text, lowercase)
                pieces = [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(normalized)]
                assert pieces == words(text, punctuation=punctuation, lowercase=lowercase)
