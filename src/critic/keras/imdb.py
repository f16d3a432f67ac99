"""`keras.datasets.imdb` built from the IMDB dataset in the critic workspace.

Word ranks come from `critic.text.words` over every labelled review (train and test, as Keras's
own index was made): 1 is the most frequent word, ties broken alphabetically. Sequences and
labels follow Keras exactly: shuffled with `seed`, ranks offset by `index_from`, `start_char`
first, words outside `num_words` or inside `skip_top` replaced by `oov_char`, reviews of
`maxlen` tokens or more dropped. "train" is aclImdb's train folder (critic's train + validation
subsets), "test" its test folder; label 1 = positive.

The word index and the encoded reviews are cached beside the dataset version (JSON and .npz,
no pickle), so only the first call tokenizes.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from pathlib import Path

import numpy as np

from critic.data.download import IMDB_URL
from critic.data.importer import import_dataset
from critic.data.store import DatasetVersion, load_version
from critic.errors import DatasetNotFound
from critic.names import parse_ref
from critic.progress import bar
from critic.text import words
from critic.workspace import Workspace

__all__ = ["load_data", "get_word_index"]

DATASET = "imdb"
_CACHE_FORMAT = "critic.keras-imdb/1"


def load_data(
    path: str | os.PathLike | None = None,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs,
):
    """((x_train, y_train), (x_test, y_test)): object arrays of int lists and int64 label arrays.

    `path`: None (the workspace's `imdb`, imported from $CRITIC_IMDB_SOURCE or the upstream URL
    if it is not there yet), a dataset reference such as "imdb@2", or an aclImdb folder/.tar.gz."""
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    cache = _cache(_version(path))
    rng = np.random.RandomState(seed)
    x_train, labels_train = _shuffled(cache, "train", rng)
    x_test, labels_test = _shuffled(cache, "test", rng)
    x_train, x_test = (_offset(x, start_char, index_from) for x in (x_train, x_test))
    if maxlen:
        x_train, labels_train = _shorter_than(maxlen, x_train, labels_train)
        x_test, labels_test = _shorter_than(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. Increase maxlen."
            )
    xs = x_train + x_test
    if not num_words:
        # Keras's code uses the largest index here, so its rarest word turns into oov_char although
        # its documentation says "all words are kept"; critic keeps them all, as documented.
        num_words = max(max(x) for x in xs if x) + 1
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    split = len(x_train)
    return (_objects(xs[:split]), np.asarray(labels_train)), (
        _objects(xs[split:]),
        np.asarray(labels_test),
    )


def get_word_index(path: str | os.PathLike | None = None) -> dict[str, int]:
    """{word: rank}, 1 = the most frequent word. Decode with `reverse.get(i - index_from, "#")`."""
    return _word_index(_version(path))


# -- the cached encoding of one dataset version ----------------------------------------------------


def _version(path) -> DatasetVersion:
    workspace = Workspace.from_env()
    if path is None or str(path) == "imdb.npz":  # Keras's default file name means "the usual IMDB"
        try:
            return load_version(DATASET, workspace)
        except DatasetNotFound:
            source = os.environ.get("CRITIC_IMDB_SOURCE") or IMDB_URL
            return import_dataset(DATASET, source, workspace=workspace).version
    if Path(path).exists():
        return import_dataset(DATASET, Path(path), workspace=workspace).version
    return load_version(parse_ref(str(path)), workspace)


def _cache_dir(version: DatasetVersion) -> Path:
    return version.path / "keras"


def _word_index(version: DatasetVersion) -> dict[str, int]:
    path = _cache_dir(version) / "word_index.json"
    if not path.exists():
        _build(version)
    return json.loads(path.read_text())


def _cache(version: DatasetVersion) -> dict[str, np.ndarray]:
    path = _cache_dir(version) / "sequences.npz"
    if not path.exists():
        _build(version)
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _build(version: DatasetVersion) -> None:
    """Tokenize once: word ranks over all labelled rows; ranks per review as flat arrays + offsets."""
    frame = version.frame(["text", "label", "subset"])
    frame = frame[frame["label"].notna()]
    with bar(f"tokenize {version.ref} for the Keras drop-in (once)", len(frame)) as advance:
        tokens = []
        for text in frame["text"]:
            tokens.append(words(text))
            advance(1)
    counts = Counter(w for t in tokens for w in t)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(ranked, start=1)}
    label_ids = {c: i for i, c in enumerate(version.classes)}
    arrays = {}
    for part, subsets in (("train", ("train", "validation")), ("test", ("test",))):
        mask = frame["subset"].isin(subsets).to_numpy()
        seqs = [[index[w] for w in t] for t, keep in zip(tokens, mask) if keep]
        arrays[f"{part}_flat"] = np.fromiter((i for s in seqs for i in s), dtype=np.int32)
        arrays[f"{part}_offsets"] = np.cumsum([0] + [len(s) for s in seqs], dtype=np.int64)
        arrays[f"{part}_labels"] = frame["label"][mask].map(label_ids).to_numpy(dtype=np.int64)
    folder = _cache_dir(version)
    folder.mkdir(exist_ok=True)
    _atomic(
        folder / "sequences.npz", lambda f: np.savez(f, format=np.array(_CACHE_FORMAT), **arrays)
    )
    _atomic(folder / "word_index.json", lambda f: f.write(json.dumps(index).encode()))


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def _shuffled(
    cache: dict, part: str, rng: np.random.RandomState
) -> tuple[list[list[int]], np.ndarray]:
    flat, offsets, labels = cache[f"{part}_flat"], cache[f"{part}_offsets"], cache[f"{part}_labels"]
    seqs = [flat[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1)]
    order = np.arange(len(seqs))
    rng.shuffle(order)
    return [seqs[i] for i in order], labels[order]


def _offset(seqs: list[list[int]], start_char: int | None, index_from: int) -> list[list[int]]:
    head = [start_char] if start_char is not None else []
    return [head + [w + index_from for w in x] for x in seqs]


def _shorter_than(maxlen: int, seqs: list, labels: np.ndarray) -> tuple[list, np.ndarray]:
    keep = [i for i, x in enumerate(seqs) if len(x) < maxlen]
    return [seqs[i] for i in keep], labels[keep]


def _objects(seqs: list[list[int]]) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    for i, seq in enumerate(seqs):  # element-wise: equal-length lists must not become a 2-D array
        out[i] = seq
    return out
