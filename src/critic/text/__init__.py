"""Text cleaning and tokenization shared by statistics, encoders, training and serving."""

from critic.text.words import clean, hf_normalizer, hf_pre_tokenizer, words, words_batch

__all__ = ["clean", "words", "words_batch", "hf_normalizer", "hf_pre_tokenizer"]
