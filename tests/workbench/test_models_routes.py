"""The Models pages' routes (TestClient) and the canvas's library side they carry: the gallery, the
canvas page, the JSON routes (check, save, load, delete) with their refusals, and the one
translation canvas ⇄ tables (`critic.experiments.canvas`)."""

from __future__ import annotations

import json
import random
import re
from dataclasses import MISSING, fields

import pytest

from critic.errors import GraphError
from critic.experiments.canvas import (
    canvas_of,
    check_canvas,
    from_toml,
    load_graph,
    palette,
    tables_from_canvas,
    tables_of,
    to_toml,
)
from critic.experiments.configure import assemble_config
from critic.models.blocks import BLOCK_TYPES
from critic.presets import preset_names
from tests.workbench.conftest import csrf_of

GRAPHS = [p for p in preset_names() if p not in ("linear", "ensemble")]


def tiny_canvas(*, wrong: bool = False) -> dict:
    """Input → Embedding → GlobalMaxPool1D → Output; wrong: the pooling straight after Input."""
    chain = (
        ["input", "pool", "embedding", "output"]
        if wrong
        else ["input", "embedding", "pool", "output"]
    )
    types = {
        "input": "Input",
        "embedding": "Embedding",
        "pool": "GlobalMaxPool1D",
        "output": "Output",
    }
    settings = {
        "input": {"kind": "words", "sequence_length": 20, "max_words": 200},
        "embedding": {"dim": 8},
        "pool": {},
        "output": {},
    }
    blocks = []
    for i, name in enumerate(chain):
        blocks.append(
            {
                "id": name,
                "type": types[name],
                "settings": settings[name],
                "inputs": chain[i - 1 : i],
            }
        )
    return {"blocks": blocks, "init": "keras", "train": {"epochs": 1}}


def meaning(tables: dict):
    config = assemble_config("x", tables=tables)
    return config.encoder, config.model, config.train


def post(client, url: str, body) -> object:
    return client.post(url, json=body, headers={"X-CSRF-Token": csrf_of(client)})


# -- the library: canvas ⇄ tables --------------------------------------------------------------


@pytest.mark.parametrize("preset", GRAPHS)
def test_every_preset_goes_to_the_canvas_and_back_unchanged(preset):
    tables = tables_of(preset)
    canvas = json.loads(json.dumps(canvas_of(tables)))  # as the page receives and sends it
    assert tables_from_canvas(canvas) == tables
    assert from_toml(to_toml(tables_from_canvas(canvas))) == tables


def test_the_canvas_places_blocks_by_depth_and_keeps_the_encoder_on_the_input_block():
    canvas = canvas_of(tables_of("kim-cnn"))
    place = {b["id"]: (b["column"], b["row"]) for b in canvas["blocks"]}
    assert place["input"] == (0, 0) and place["embedding"] == (1, 0)
    assert [place[f"conv{k}"] for k in (1, 2, 3, 5)] == [(3, 0), (3, 1), (3, 2), (3, 3)]
    assert place["output"] == (8, 0)
    assert canvas["blocks"][0]["settings"]["sequence_length"] == 650
    assert next(b for b in canvas["blocks"] if b["id"] == "concatenate")["inputs"] == [
        "pool1",
        "pool2",
        "pool3",
        "pool5",
    ]


def test_blocks_in_any_canvas_order_are_written_each_after_its_inputs():
    canvas = canvas_of(tables_of("kim-cnn"))
    shuffled = dict(canvas, blocks=random.Random(1).sample(canvas["blocks"], len(canvas["blocks"])))
    blocks = tables_from_canvas(shuffled)["model"]["blocks"]
    assert blocks[0]["type"] == "Input" and blocks[-1]["type"] == "Output"
    seen = set()
    for block in blocks:
        assert set(block["inputs"]) <= seen
        seen.add(block["id"])
    key = lambda b: b["id"]  # noqa: E731
    assert sorted(blocks, key=key) == sorted(tables_of("kim-cnn")["model"]["blocks"], key=key)


def test_numbers_are_typed_as_their_settings():
    canvas = canvas_of(tables_of("kim-cnn-2014"))
    output = next(b for b in canvas["blocks"] if b["type"] == "Output")
    output["settings"]["max_norm"] = 3  # JSON writes 3.0 as 3
    tables = tables_from_canvas(canvas)
    assert tables["model"]["blocks"][-1]["max_norm"] == 3.0
    assert isinstance(tables["model"]["blocks"][-1]["max_norm"], float)


@pytest.mark.parametrize(
    "change, block, words",
    [
        (lambda c: c["blocks"].pop(0), None, "Input block"),
        (lambda c: c["blocks"][1].update(id="output"), "output", "two blocks have this name"),
        (lambda c: c["blocks"][1].update(inputs=["ghost"]), "embedding", "not on the canvas"),
        (lambda c: c["blocks"][1].update(inputs=["input", "pool"]), "embedding", "circle"),
        (lambda c: c["blocks"].append(dict(c["blocks"][0], id="input2")), "input2", "one Input"),
    ],
)
def test_what_only_a_canvas_gets_wrong_is_named_with_its_block(change, block, words):
    canvas = tiny_canvas()
    change(canvas)
    with pytest.raises(GraphError, match=words):
        tables_from_canvas(canvas)
    tables, check = check_canvas(canvas)
    assert tables is None and not check.ok and check.block == block and words in check.error


def test_a_wrong_wiring_is_named_on_the_offending_block():
    tables, check = check_canvas(tiny_canvas(wrong=True))
    assert tables is not None and not check.ok
    assert check.block == "pool" and "cannot take ids (B, 20)" in check.error
    _, check = check_canvas(tiny_canvas())
    assert check.ok and [b.output for b in check.blocks] == [
        "ids (B, 20)",
        "seq (B, 8, 20)",
        "vec (B, 8)",
        "vec (B, 2)",
    ]


def test_the_palette_has_every_block_type_with_the_dataclass_defaults():
    catalogue = {b["type"]: b for b in palette()["blocks"]}
    assert list(catalogue) == list(BLOCK_TYPES)
    for name, cls in BLOCK_TYPES.items():
        shown = {s["name"]: s for s in catalogue[name]["settings"]}
        for f in fields(cls):
            if f.name == "config":  # a Transformer's config is read from its source
                assert f.name not in shown
                continue
            assert shown[f.name]["required"] is (f.default is MISSING)
            if f.default is not MISSING:
                assert shown[f.name]["default"] == f.default
    assert catalogue["Embedding"]["settings"][0]["default"] == 64  # seed 000's suggestion
    assert (
        "tanh" in {s["name"]: s for s in catalogue["Conv1D"]["settings"]}["activation"]["choices"]
    )
    encoders = {e["kind"]: e for e in palette()["encoders"]}
    assert set(encoders) == {"words", "multi-hot", "wordpiece"}
    words = {s["name"]: s for s in encoders["words"]["settings"]}
    assert words["sequence_length"]["default"] == 650 and words["padding"]["choices"] == [
        "post",
        "pre",
    ]
    assert "source" in {s["name"] for s in encoders["wordpiece"]["settings"]}


# -- the routes -----------------------------------------------------------------------------------


def test_the_gallery_shows_each_preset_with_its_figures(logged_in):
    page = logged_in.get("/models")
    assert page.status_code == 200
    html = page.text
    for name in preset_names():
        assert f'id="preset-{name}"' in html
    assert "1,592,706" in html  # kim-cnn's parameters
    assert "88.60 % test accuracy" in html and "85-90 % validation accuracy" in html
    assert 'href="/models/canvas?preset=kim-cnn"' in html
    assert "No saved graph yet" in html


def test_the_pages_are_behind_the_login(client):
    assert client.get("/models", headers={"Accept": "application/json"}).status_code == 401
    assert client.post("/models/check", json={"canvas": tiny_canvas()}).status_code == 401


def test_the_canvas_page_from_a_preset_an_empty_one_and_refusals(logged_in):
    page = logged_in.get("/models/canvas?preset=kim-cnn")
    assert page.status_code == 200 and "data-palette='" in page.text and "conv5" in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script
    assert logged_in.get("/models/canvas").status_code == 200
    json_accept = {"Accept": "application/json"}
    assert logged_in.get("/models/canvas?graph=nope", headers=json_accept).status_code == 404
    assert logged_in.get("/models/canvas?preset=nope", headers=json_accept).status_code == 422
    linear = logged_in.get("/models/canvas?preset=linear", headers=json_accept)
    assert linear.status_code == 422 and "no block graph" in linear.json()["message"]


def test_check_answers_shapes_or_the_offending_block(logged_in):
    answer = post(logged_in, "/models/check", {"canvas": canvas_of(tables_of("kim-cnn"))}).json()
    assert answer["ok"] and answer["parameters"] == 1_592_706 and answer["block"] is None
    assert answer["blocks"]["conv2"] == {"output": "seq (B, 256, 649)", "parameters": 33_024}
    wrong = post(logged_in, "/models/check", {"canvas": tiny_canvas(wrong=True)}).json()
    assert not wrong["ok"] and wrong["block"] == "pool" and "cannot take ids" in wrong["error"]


def test_check_refuses_what_is_not_a_canvas(logged_in):
    token = {"X-CSRF-Token": csrf_of(logged_in)}
    assert logged_in.post("/models/check", json={"canvas": tiny_canvas()}).status_code == 403
    assert post(logged_in, "/models/check", [1, 2]).status_code == 400
    assert post(logged_in, "/models/check", {"canvas": "x"}).status_code == 400
    not_json = logged_in.post("/models/check", content=b"canvas", headers=token)
    assert not_json.status_code == 415
    broken = logged_in.post(
        "/models/check", content=b"{", headers={**token, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    big = {"canvas": tiny_canvas(), "pad": "x" * 300_000}
    assert post(logged_in, "/models/check", big).status_code == 413
    deep = {"canvas": {"blocks": [[[[[[[[[[1]]]]]]]]]]}}
    assert post(logged_in, "/models/check", deep).status_code == 400


def test_save_load_delete_a_graph(logged_in, workspace):
    bad = post(logged_in, "/models/graphs", {"name": "../etc", "canvas": tiny_canvas()})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_name"
    assert post(logged_in, "/models/graphs", {"canvas": tiny_canvas()}).status_code == 400
    wrong = post(logged_in, "/models/graphs", {"name": "tiny", "canvas": tiny_canvas(wrong=True)})
    assert wrong.status_code == 422 and "fix the graph" in wrong.json()["message"]
    assert not (workspace.graphs / "tiny.toml").exists()

    saved = post(logged_in, "/models/graphs", {"name": "tiny", "canvas": tiny_canvas()})
    assert saved.status_code == 200
    answer = saved.json()
    path = workspace.graphs / "tiny.toml"
    assert answer["path"] == str(path) and path.is_file()
    assert answer["command"].startswith(f"critic train --config {path}")
    assert answer["url"] == "/models/canvas?graph=tiny"
    tables = load_graph("tiny", workspace)
    assert tables == tables_from_canvas(tiny_canvas())

    # loaded back: the defaults of the settings left out are filled in, the meaning unchanged
    loaded = logged_in.get("/models/graphs/tiny").json()
    again = tables_from_canvas(loaded["canvas"])
    assert "[encoder]" in loaded["toml"] and meaning(again) == meaning(tables)
    assert tables_from_canvas(canvas_of(again)) == again
    assert logged_in.get("/models/graphs/missing").status_code == 404
    gallery = logged_in.get("/models").text
    row = gallery.split('id="graph-tiny"')[1].split("</tr>")[0]
    assert "1,618" in row and "word ids, 200 words, length 20" in row
    assert logged_in.get("/models/canvas?graph=tiny").status_code == 200

    assert post(logged_in, "/models/graphs/missing/delete", {}).status_code == 404
    deleted = post(logged_in, "/models/graphs/tiny/delete", {})
    assert deleted.status_code == 200 and deleted.json()["redirect"] == "/models"
    assert not path.exists()


def test_the_gallery_shows_the_best_run_of_each_preset_in_this_workspace(logged_in, tiny_dataset):
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    for name in ("lin-a", "lin-b"):
        train_experiment(build_config(tiny_dataset, preset="linear"), name=name)
    html = logged_in.get("/models").text
    card = html.split('id="preset-linear"')[1].split("</li>")[0]
    ours = re.search(r'class="ours">([^<]*)<a href="/experiments/(lin-[ab])">', card)
    assert ours and "% validation accuracy" in ours.group(1) and "(best of 2 runs)" in card
    assert 'href="/experiments/new?model=preset:linear"' in card
    kim = html.split('id="preset-kim-cnn"')[1].split("</li>")[0]
    assert 'class="ours">–' in kim


def test_the_measured_figures_are_the_benchmarks_own():
    """presets.MEASURED (the gallery's "Measured by us") is what bench/ recorded, never invented."""
    from pathlib import Path

    from critic.presets import MEASURED

    results = Path(__file__).resolve().parents[2] / "bench" / "results"
    rows = [
        *json.loads((results / "presets.json").read_text())["rows"],
        *json.loads((results / "bert-minilm.json").read_text())["rows"],
    ]
    recorded = {r["preset"]: r["test_accuracy"] for r in rows}
    recorded["linear"] = json.loads((results / "linear.json").read_text())["rows"][0][
        "test_accuracy"
    ]
    recorded["ensemble"] = json.loads((results / "ensemble.json").read_text())[
        "mean_test_accuracy"
    ]  # over the seeds run
    assert set(MEASURED) == set(recorded)
    for preset, text in MEASURED.items():
        assert text.startswith(f"{100 * recorded[preset]:.2f} % test accuracy"), preset


def test_a_canvas_starts_from_a_preset_or_a_graph_not_both(logged_in):
    answer = logged_in.get(
        "/models/canvas?preset=kim-cnn&graph=x", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 400


def test_the_canvas_offers_every_graph_preset_to_start_from(logged_in):
    html = logged_in.get("/models/canvas?preset=cnn-1d").text
    assert '<option value="cnn-1d" selected>' in html and '<option value="minilm">' in html
    assert '<option value="linear"' not in html
