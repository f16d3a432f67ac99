"""Drop-ins for code written against `keras.datasets.imdb` and `keras.utils.pad_sequences`:

from critic.keras import imdb, pad_sequences, vectorize
(x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)
"""

from critic.keras import imdb
from critic.keras.sequence import pad_sequences, vectorize

__all__ = ["imdb", "pad_sequences", "vectorize"]
