"""The word tokenization: one definition, two engines that agree.

A review is cleaned (HTML tags such as `<br />` become spaces, curly apostrophes become straight
ones, everything is lowercased) and split into words: runs of letters, digits and combining marks,
joined by inner apostrophes (`don't`, `rock'n'roll`). Punctuation is dropped.

`words()` runs it in Python with the `regex` module (fast for counting); `hf_normalizer()` and
`hf_pre_tokenizer()` run the very same patterns inside Hugging Face `tokenizers`, so a word
encoder saved as `tokenizer.json` cleans text exactly as the statistics counted it. A test checks
the two engines token for token.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex
from tokenizers import Regex, normalizers, pre_tokenizers

__all__ = [
    "TAG_PATTERN",
    "WORD_PATTERN",
    "PUNCT_PATTERN",
    "clean",
    "words",
    "words_batch",
    "hf_normalizer",
    "hf_pre_tokenizer",
]

TAG_PATTERN = r"<[^>]*>"
_WORD_CHAR = r"[\p{L}\p{N}\p{M}]"
WORD_PATTERN = rf"{_WORD_CHAR}+(?:'{_WORD_CHAR}+)*"
# with `punctuation`: every other visible character is a token of its own ("!", "?", "/", "...")
PUNCT_PATTERN = rf"{WORD_PATTERN}|[^\s\p{{L}}\p{{N}}\p{{M}}]"

_TAG = regex.compile(TAG_PATTERN)
_WORD = regex.compile(WORD_PATTERN)
_WORD_OR_PUNCT = regex.compile(PUNCT_PATTERN)


def clean(text: str, lowercase: bool = True) -> str:
    """Tags → spaces, ’ → ', lowercase (unless told not to). The order matches `hf_normalizer()`."""
    text = _TAG.sub(" ", text).replace("\u2019", "'")
    return text.lower() if lowercase else text


def words(text: str, *, punctuation: bool = False, lowercase: bool = True) -> list[str]:
    """The words of one text, e.g. "It's 10/10!<br />" → ["it's", "10", "10"]; with
    punctuation=True → ["it's", "10", "/", "10", "!"] (the platform's tokenizer keeps punctuation)."""
    return (_WORD_OR_PUNCT if punctuation else _WORD).findall(clean(text, lowercase))


def words_batch(texts: Iterable[str]) -> list[list[str]]:
    return [words(t) for t in texts]


def hf_normalizer(lowercase: bool = True) -> normalizers.Normalizer:
    steps = [normalizers.Replace(Regex(TAG_PATTERN), " "), normalizers.Replace("\u2019", "'")]
    return normalizers.Sequence(steps + ([normalizers.Lowercase()] if lowercase else []))


def hf_pre_tokenizer(punctuation: bool = False) -> pre_tokenizers.PreTokenizer:
    # invert=True: the pattern matches the words themselves; what lies between is removed.
    return pre_tokenizers.Split(
        Regex(PUNCT_PATTERN if punctuation else WORD_PATTERN), behavior="removed", invert=True
    )
