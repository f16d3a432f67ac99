"""Every missing, unknown, mistyped or out-of-range block setting is named with its block."""

import pytest

from critic.errors import GraphError
from critic.models.graph import GraphSpec, check_graph
from critic.text.spec import InputSpec

IDS = InputSpec("ids", 100, 20, "post")


def _error(blocks: list[dict]) -> str:
    with pytest.raises(GraphError) as found:
        check_graph(GraphSpec.from_dict({"blocks": blocks}), IDS)
    return str(found.value)


@pytest.mark.parametrize(
    "block,names",
    [
        ({"id": "words", "type": "Embedding"}, ["block 'words' (Embedding)", "missing", "dim"]),
        (
            {"id": "words", "type": "Embedding", "dim": 8, "size": 3},
            ["block 'words' (Embedding)", "unknown", "size"],
        ),
        (
            {"id": "words", "type": "Embedding", "dim": "big"},
            ["block 'words' (Embedding)", "'dim'", "whole number", "'big'"],
        ),
        (
            {"id": "words", "type": "Embedding", "dim": True},
            ["block 'words' (Embedding)", "'dim'", "whole number"],
        ),
        ({"id": "words", "type": "Embedding", "dim": 0}, ["block 'words'", "dim", "positive"]),
        (
            {"id": "words", "type": "Embedding", "dim": 8, "pretrain": "glove"},
            ["block 'words'", "pretrain", "glove"],
        ),
    ],
)
def test_embedding_settings(block, names):
    message = _error([block, {"type": "GlobalMaxPool1D"}, {"type": "Output"}])
    assert all(name in message for name in names), message
    assert (
        message.count("block 'words'") == 1
    )  # named once, not "block 'words': block 'words': ..."


@pytest.mark.parametrize(
    "block,names",
    [
        ({"id": "hidden", "type": "Dense"}, ["block 'hidden' (Dense)", "missing", "units"]),
        (
            {"id": "hidden", "type": "Dense", "units": 1.5},
            ["block 'hidden' (Dense)", "'units'", "whole number", "1.5"],
        ),
        ({"id": "hidden", "type": "Dense", "units": -4}, ["block 'hidden'", "units", "positive"]),
        (
            {"id": "hidden", "type": "Dense", "units": 4, "activation": "swish"},
            ["block 'hidden'", "activation", "swish"],
        ),
        (
            {"id": "hidden", "type": "Dense", "units": 4, "max_norm": -1.0},
            ["block 'hidden'", "max_norm", "positive"],
        ),
        (
            {"id": "hidden", "type": "Dense", "units": 4, "max_norm": "3"},
            ["block 'hidden' (Dense)", "'max_norm'", "number"],
        ),
        (
            {"id": "hidden", "type": "Dense", "units": 4, "unit": 4},
            ["block 'hidden' (Dense)", "unknown", "unit"],
        ),
    ],
)
def test_dense_settings(block, names):
    message = _error(
        [{"type": "Embedding", "dim": 8}, {"type": "GlobalMaxPool1D"}, block, {"type": "Output"}]
    )
    assert all(name in message for name in names), message
    assert message.count("block 'hidden'") == 1


@pytest.mark.parametrize(
    "block,names",
    [
        ({"id": "c", "type": "Conv1D", "kernel": 3}, ["block 'c' (Conv1D)", "missing", "filters"]),
        (
            {"id": "c", "type": "Conv1D", "filters": 4, "kernel": 3, "padding": "full"},
            ["block 'c'", "padding", "full"],
        ),
        (
            {"id": "c", "type": "Conv1D", "filters": 4, "kernel": 30},
            ["block 'c'", "kernel 30", "longer"],
        ),
        ({"id": "c", "type": "Dropout", "rate": 1.5}, ["block 'c'", "rate", "1.5"]),
        (
            {"id": "c", "type": "Dropout", "rate": "half"},
            ["block 'c' (Dropout)", "'rate'", "number"],
        ),
        (
            {"id": "c", "type": "MaxPool1D", "pool": 2.5},
            ["block 'c' (MaxPool1D)", "'pool'", "whole number"],
        ),
        ({"id": "c", "type": "Conv2D"}, ["block 'c'", "unknown type", "Conv2D"]),
    ],
)
def test_sequence_block_settings(block, names):
    message = _error(
        [{"type": "Embedding", "dim": 8}, block, {"type": "GlobalMaxPool1D"}, {"type": "Output"}]
    )
    assert all(name in message for name in names), message


def test_output_max_norm_is_checked():
    message = _error(
        [
            {"type": "Embedding", "dim": 8},
            {"type": "GlobalMaxPool1D"},
            {"id": "out", "type": "Output", "max_norm": 0},
        ]
    )
    assert "block 'out'" in message and "max_norm" in message
