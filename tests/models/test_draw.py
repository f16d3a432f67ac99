"""The drawn graph: shapes and parameter counts per block, a layout by depth, a valid PNG."""

from critic.models.draw import depths, graph_png, positions, summarize
from critic.models.graph import GraphSpec
from critic.presets import get_preset
from critic.text.spec import InputSpec

TWO_ARMS = GraphSpec.from_dict(
    {
        "blocks": [
            {"type": "Embedding", "dim": 16},
            {"id": "conv3", "type": "Conv1D", "filters": 8, "kernel": 3},
            {"id": "pool3", "type": "GlobalMaxPool1D"},
            {"id": "conv5", "type": "Conv1D", "filters": 8, "kernel": 5, "inputs": ["embedding"]},
            {"id": "pool5", "type": "GlobalMaxPool1D"},
            {"type": "Concatenate", "inputs": ["pool3", "pool5"]},
            {"type": "Output"},
        ]
    }
)


def test_summary_gives_each_blocks_shape_and_parameters():
    summary = summarize(TWO_ARMS, InputSpec("ids", 500, 50, "post"), n_classes=3)
    rows = {r.id: r for r in summary.rows}
    assert rows["input"].output == "ids (B, 50)" and rows["input"].parameters == 0
    assert (
        rows["embedding"].output == "seq (B, 16, 50)" and rows["embedding"].parameters == 500 * 16
    )
    assert rows["conv5"].output == "seq (B, 8, 46)" and rows["conv5"].parameters == 16 * 8 * 5 + 8
    assert (
        rows["concatenate"].inputs == ("pool3", "pool5")
        and rows["concatenate"].output == "vec (B, 16)"
    )
    assert rows["output"].output == "vec (B, 3)" and rows["output"].settings == {"max_norm": None}
    assert summary.total == sum(r.parameters for r in summary.rows)


def test_the_summary_of_a_preset_matches_its_published_size():
    p = get_preset("multi-hot-mlp")
    summary = summarize(p.model, InputSpec("vector", 10000))
    assert summary.total == 505_252  # seed 003's 505,201 + one more output unit (softmax over 2)


def test_layout_puts_parallel_arms_side_by_side():
    rows = summarize(TWO_ARMS, InputSpec("ids", 500, 50, "post")).rows
    depth = depths(rows)
    assert depth["input"] == 0 and depth["conv3"] == depth["conv5"] == 2 and depth["output"] == 5
    at = positions(rows)
    assert at["conv3"][1] == at["conv5"][1] and at["conv3"][0] == -at["conv5"][0] != 0
    assert at["output"][0] == 0


def test_png_is_written(tmp_path):
    summary = summarize(TWO_ARMS, InputSpec("ids", 500, 50, "post"))
    path = graph_png(summary, tmp_path / "deep" / "graph.png", "two arms")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert height > width > 300  # six layers tall, two boxes wide
