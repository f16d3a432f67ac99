import numpy as np
import torch

from critic.batching import micro_batches
from critic.config import TrainSettings
from critic.models.graph import GraphModel, GraphSpec
from critic.text.encoders import PAD, WordSequenceEncoder, WordSequenceSettings
from critic.train import Data, batch_order, fit, make_optimizer
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
    # one untrimmed part; trimmed parts; parts of at most 100 padded tokens (~5 rows each)
    for bucket, tokens in ((False, 0), (True, 0), (True, 100), (False, 100)):
        torch.manual_seed(0)
        model = GraphModel(GraphSpec.from_dict({"blocks": BLOCKS}), encoder.input_spec, 2)
        settings = TrainSettings(
            epochs=2, batch_size=32, bucket=bucket, class_weight="balanced", part_tokens=tokens
        )
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
    for other in weights[1:]:
        for key in weights[0]:
            torch.testing.assert_close(weights[0][key], other[key], atol=1e-5, rtol=1e-4)


def test_micro_batches_cover_the_batch_once_sorted_by_length_within_the_budget():
    rows = np.arange(100)
    cost = np.random.default_rng(0).integers(1, 500, 100)
    parts = micro_batches(rows, cost, 2_000)
    assert sorted(np.concatenate(parts)) == list(rows)
    assert all(cost[a].max() <= cost[b].min() for a, b in zip(parts, parts[1:]))
    assert all(len(p) * cost[p].max() <= 2_000 for p in parts)
    # greedy: a part stops only where the next row would cross the budget
    assert all((len(a) + 1) * cost[b[0]] > 2_000 for a, b in zip(parts, parts[1:]))
    assert [len(p) for p in micro_batches(rows, cost, 10**9)] == [100]
    assert [len(p) for p in micro_batches(rows[:3], cost, 1)] == [1, 1, 1]  # a row is never cut
    assert micro_batches(rows, None, 10) == [rows]  # no widths (multi-hot): one part


def _largest_activation(n: int, part_tokens: int) -> int:
    """Elements of the largest tensor any layer outputs while training one batch of all `n` rows."""
    rows = sentiment_rows(n, seed=1)
    encoder = WordSequenceEncoder(WordSequenceSettings(max_words=100, sequence_length=40))
    train = _data(rows, encoder.fit(t for t, _ in rows))
    torch.manual_seed(0)
    model = GraphModel(GraphSpec.from_dict({"blocks": BLOCKS}), encoder.input_spec, 2)
    seen = []
    for module in model.modules():
        module.register_forward_hook(
            lambda m, i, out: seen.append(out.numel()) if torch.is_tensor(out) else None
        )
    settings = TrainSettings(epochs=1, batch_size=n, part_tokens=part_tokens)
    fit(
        model,
        train,
        None,
        settings,
        classes=["negative", "positive"],
        optimizer=make_optimizer(model, settings),
        checkpoint=lambda result, best: None,
    )
    return max(seen)


def test_the_memory_of_a_cnn_batch_does_not_grow_with_the_batch_or_the_data():
    """The largest activation a training pass holds is bounded by part_tokens × the widest
    channels (Embedding 8), for 64 rows as for 512 in one batch; without the bound it grows
    with the batch (the Kim CNN's 1,024 reviews padded to 650 once held ~2 GB of activations)."""
    bound = 256 * 8
    assert _largest_activation(64, 256) <= bound and _largest_activation(512, 256) <= bound
    assert _largest_activation(512, 10**9) > 4 * bound  # the control: one part of everything


def test_batch_order_depends_on_seed_and_epoch_only():
    a, b = batch_order(50, 8, 3, 2), batch_order(50, 8, 3, 2)
    assert all((x == y).all() for x, y in zip(a, b))
    assert not all((x == y).all() for x, y in zip(a, batch_order(50, 8, 3, 3)))
    assert sorted(np.concatenate(a)) == list(range(50)) and len(a[-1]) == 2
