import pytest
import torch

from critic.errors import GraphError
from critic.models.graph import GraphModel, GraphSpec, trim
from critic.presets import get_preset, preset_names
from critic.text.encoders import InputSpec

IDS = InputSpec("ids", vocab_size=50, length=30)


def _model(blocks, spec=IDS, n=3):
    return GraphModel(GraphSpec.from_dict({"blocks": blocks}), spec, n)


KIM = [
    {"type": "Embedding", "dim": 8},
    {"id": "drop", "type": "Dropout", "rate": 0.2},
    {"id": "c2", "type": "Conv1D", "filters": 4, "kernel": 2, "inputs": ["drop"]},
    {"id": "p2", "type": "GlobalMaxPool1D"},
    {
        "id": "c5",
        "type": "Conv1D",
        "filters": 4,
        "kernel": 5,
        "padding": "same",
        "inputs": ["drop"],
    },
    {"id": "p5", "type": "GlobalMaxPool1D"},
    {"type": "Concatenate", "inputs": ["p2", "p5"]},
    {"type": "Output"},
]


@pytest.mark.parametrize(
    "blocks,message",
    [
        (
            [{"type": "Embedding", "dim": 8}, {"type": "Dense", "units": 4}, {"type": "Output"}],
            "'dense'.*Flatten or GlobalMaxPool1D",
        ),
        (
            [
                {"type": "Embedding", "dim": 8},
                {"type": "Conv1D", "filters": 2, "kernel": 40},
                {"type": "GlobalMaxPool1D"},
                {"type": "Output"},
            ],
            "'conv1d'.*kernel 40 is longer",
        ),
        ([{"type": "Embedding", "dim": 8}, {"type": "Attention"}], "unknown type 'Attention'"),
        (
            [{"type": "Embedding", "dim": 8, "size": 3}, {"type": "Flatten"}, {"type": "Output"}],
            "'embedding'.*unknown setting",
        ),
        ([{"type": "Embedding", "dim": 8}, {"type": "Flatten"}], "exactly one Output"),
        (
            [
                {"type": "Embedding", "dim": 8},
                {"id": "x", "type": "Flatten"},
                {"type": "Flatten", "inputs": ["embedding"]},
                {"type": "Output"},
            ],
            "goes nowhere",
        ),
        (
            [
                {"type": "Embedding", "dim": 8, "inputs": ["nope"]},
                {"type": "Flatten"},
                {"type": "Output"},
            ],
            "'nope' is not a block",
        ),
        (
            [
                {"type": "Embedding", "dim": 8},
                {"type": "Flatten"},
                {"id": "cat", "type": "Concatenate"},
                {"type": "Output"},
            ],
            "'cat'.*two or more",
        ),
        (
            [{"type": "Embedding", "dim": 0}, {"type": "Flatten"}, {"type": "Output"}],
            "dim must be a positive",
        ),
        (
            [{"type": "Dense", "units": 4, "activation": "swish"}, {"type": "Output"}],
            "unknown activation",
        ),
        (
            [
                {"type": "Embedding", "dim": 8, "pretrain": "glove"},
                {"type": "Flatten"},
                {"type": "Output"},
            ],
            "pretrain must be",
        ),
    ],
)
def test_shape_and_wiring_errors_name_the_block(blocks, message):
    spec = InputSpec("vector", 50) if blocks[0]["type"] == "Dense" else IDS
    with pytest.raises(GraphError, match=message):
        _model(blocks, spec)


def test_every_preset_builds_in_the_block_language():
    for name in preset_names():
        preset = get_preset(name)
        if preset.encoder is None:  # the linear model is not a graph
            continue
        assert preset.name.startswith(name + ".v") and preset.model.blocks[-1].type == "Output"


def test_trimming_padding_does_not_change_a_length_invariant_model():
    torch.manual_seed(0)
    model = _model(KIM).eval()
    assert model.trim_margin == 4
    x = torch.randint(1, 50, (3, 30))
    x[0, 7:] = 0
    x[1, 12:] = 0
    x[2, 3:] = 0
    full = model(x)
    trimmed_x = trim(x, model.trim_margin, "post")
    assert trimmed_x.shape[1] == 16
    torch.testing.assert_close(model(trimmed_x), full)


def test_empty_text_gives_finite_output():
    model = _model(KIM).eval()
    out = model(torch.zeros(2, 30, dtype=torch.long))
    assert torch.isfinite(out).all()


def test_flatten_and_lstm_models_are_not_trimmed():
    flat = _model([{"type": "Embedding", "dim": 4}, {"type": "Flatten"}, {"type": "Output"}])
    lstm = _model(
        [
            {"type": "Embedding", "dim": 4},
            {"type": "LSTM", "units": 3, "bidirectional": True},
            {"type": "Output"},
        ]
    )
    assert flat.trim_margin is None and lstm.trim_margin is None
    assert lstm(torch.randint(0, 50, (2, 30))).shape == (2, 3)


def test_keras_initialization():
    model = _model(
        [
            {"type": "Embedding", "dim": 4},
            {"type": "LSTM", "units": 3},
            {"type": "Dense", "units": 5},
            {"type": "Output"},
        ]
    )
    emb = model.layers["embedding"].embedding.weight
    assert emb.abs().max() <= 0.05
    lstm = model.layers["lstm"].lstm
    assert torch.equal(lstm.bias_ih_l0[3:6], torch.ones(3)) and lstm.bias_hh_l0.abs().sum() == 0
    assert model.layers["dense"].linear.bias.abs().sum() == 0


def test_max_norm_constraint():
    model = _model(
        [{"type": "Dense", "units": 4}, {"type": "Output", "max_norm": 0.5}],
        InputSpec("vector", 20),
    )
    with torch.no_grad():
        model.layers["output"].linear.weight.mul_(100)
    model.constrain()
    assert model.layers["output"].linear.weight.norm(dim=1).max() <= 0.5 + 1e-6


def test_activation_after_pooling_gives_the_same_numbers():
    """The graph applies a conv's monotonic activation after global max pooling; check against
    the literal order (activation, then pool) on the same weights."""
    torch.manual_seed(1)
    model = _model(KIM).eval()
    assert model.layers["c2"].deferred and model.layers["c5"].deferred
    x = torch.randint(1, 50, (4, 30))
    x[1, 9:] = 0
    fused = model(x)
    for conv in ("c2", "c5"):
        model.layers[conv].deferred = False
    for pool in ("p2", "p5"):
        model.layers[pool].activation = torch.nn.Identity()
    torch.testing.assert_close(model(x), fused)


def test_unmasked_pooling_sees_padding_and_still_trims_exactly_in_evaluation():
    torch.manual_seed(2)
    blocks = [dict(b) for b in KIM]
    blocks[4] = {
        "id": "c5",
        "type": "Conv1D",
        "filters": 4,
        "kernel": 5,
        "inputs": ["drop"],
    }  # valid, not same
    for b in blocks:
        if b["type"] == "GlobalMaxPool1D":
            b["mask_padding"] = False
    model = _model(blocks).eval()
    masked = _model(KIM).eval()
    assert model.trim_margin == masked.trim_margin + 1
    x = torch.randint(1, 50, (3, 30))
    x[0, 7:] = 0
    x[1, 12:] = 0
    full = model(x)
    torch.testing.assert_close(model(trim(x, model.trim_margin, "post")), full)
    # padding does take part: with the PAD embedding pushed up, the output moves
    with torch.no_grad():
        model.layers["embedding"].embedding.weight[0] += 5.0
    assert not torch.allclose(model(x), full)
    same = [dict(b) for b in blocks]
    same[4]["padding"] = "same"
    assert _model(same).trim_margin is None  # "same" edges would see zeros: no trimming


def test_skipgram_pretraining_sets_the_rows_of_the_words_seen_the_same_way_every_time():
    import numpy as np

    from critic.models.pretrained import pretrain_embeddings

    rng = np.random.default_rng(0)
    ids = np.zeros((200, 30), dtype=np.int64)  # post-padded rows of ids 2..19 (20..49 never occur)
    for row in ids:
        n = rng.integers(5, 30)
        row[:n] = rng.integers(2, 20, size=n)
    blocks = [
        {"type": "Embedding", "dim": 8, "pretrain": "skipgram"},
        {"type": "GlobalMaxPool1D"},
        {"type": "Output"},
    ]
    torch.manual_seed(0)
    a, untouched = _model(blocks), _model(blocks)
    untouched.load_state_dict(a.state_dict())
    assert pretrain_embeddings(a, ids, seed=3) == ["embedding (18 of 50 rows)"]
    b = _model(blocks)
    b.load_state_dict(untouched.state_dict())
    pretrain_embeddings(b, ids, seed=3)
    wa, wb, w0 = (m.layers["embedding"].embedding.weight for m in (a, b, untouched))
    assert torch.equal(wa[2:20], wb[2:20]) and not torch.allclose(wa[2:20], w0[2:20])
    assert wa[2:20].std().item() == pytest.approx(
        w0.std().item(), rel=0.2
    )  # at the initializer's spread
    assert torch.equal(wa[20:], w0[20:]) and torch.equal(
        wa[:2], w0[:2]
    )  # unseen ids and PAD/OOV keep their rows
    assert (
        pretrain_embeddings(_model([{"type": "Embedding", "dim": 8}, *blocks[1:]]), ids, seed=3)
        == []
    )
