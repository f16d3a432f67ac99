import numpy as np
import torch

from critic.config import TrainSettings
from critic.models.graph import GraphModel, GraphSpec
from critic.text.encoders import PAD, WordSequenceEncoder, WordSequenceSettings
from critic.train import Data, batch_order, fit, make_optimizer, micro_batches
from tests.conftest import sentiment_rows

BLOCKS = [
    {"type": "Embedding", "dim": 8},
    {"id": "c3", "type": "Conv1D", "filters": 6, "kernel": 3, "activation": "tanh"},
    {"type": "GlobalMaxPool1D"},
    {"type": "Dense", "units": 5},
    {"type": "Output"},
]


def _data(rows, encoder):
    encoded = encoder.encode([t for t, _ in rows])
    labels = np.array([1 if label == "positive" else 0 for _, label in rows])
    return Data(encoded, labels, encoder, (encoded != PAD).sum(1))


def test_micro_batches_give_the_update_of_the_whole_batch():
    rows = sentiment_rows(96)
    encoder = WordSequenceEncoder(WordSequenceSettings(max_words=100, sequence_length=40)).fit(
        t for t, _ in rows
    )
    train, val = _data(rows[:64], encoder), _data(rows[64:], encoder)
    weights = []
    for bucket in (False, True):
        torch.manual_seed(0)
        model = GraphModel(GraphSpec.from_dict({"blocks": BLOCKS}), encoder.input_spec, 2)
        settings = TrainSettings(epochs=2, batch_size=32, bucket=bucket, class_weight="balanced")
        fit(
            model,
            train,
            val,
            settings,
            classes=["negative", "positive"],
            optimizer=make_optimizer(model, settings),
            checkpoint=lambda result, best: None,
        )
        weights.append({k: v.clone() for k, v in model.state_dict().items()})
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], atol=1e-5, rtol=1e-4)


def test_micro_batches_cover_the_batch_once_sorted_by_length():
    rows = np.arange(100)
    lengths = np.random.default_rng(0).integers(1, 500, 100)
    parts = micro_batches(rows, lengths)
    assert len(parts) == 4 and sorted(np.concatenate(parts)) == list(rows)
    assert all(lengths[a].max() <= lengths[b].min() for a, b in zip(parts, parts[1:]))
    assert len(micro_batches(rows[:10], lengths)) == 1  # too small to split


def test_batch_order_depends_on_seed_and_epoch_only():
    a, b = batch_order(50, 8, 3, 2), batch_order(50, 8, 3, 2)
    assert all((x == y).all() for x, y in zip(a, b))
    assert not all((x == y).all() for x, y in zip(a, batch_order(50, 8, 3, 3)))
    assert sorted(np.concatenate(a)) == list(range(50)) and len(a[-1]) == 2
