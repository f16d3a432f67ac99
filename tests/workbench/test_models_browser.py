"""Issue 25, test 2, in real headless Chromium: on the canvas build Input → Embedding →
GlobalMaxPool1D → Output, wire it wrongly and see the shape message on the offending block, fix it,
copy and paste a block, save, and train the saved TOML with `critic train --config`. Also the
gallery, and a saved graph opened back in the canvas. Screenshots: workbench-models.png,
workbench-canvas.png, workbench-canvas-error.png."""

from __future__ import annotations

import re

from critic.experiments.canvas import canvas_of, load_graph, tables_from_canvas
from tests.test_cli import run
from tests.workbench.conftest import shot

WIDEST = """Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getBoundingClientRect().right > 381 && !e.closest(".drawflow"))
  .slice(0, 5).map((e) => e.tagName + "." + e.className + "#" + e.id).join(", ")"""


def node(page, block_id: str):
    return page.locator(f'.drawflow-node[data-block="{block_id}"]')


def wire(page, source: str, target: str) -> None:
    """Drag from the source block's output dot to the target block's input dot (a real mouse),
    once the last change's check is drawn: its answer may grow a block by an error line and
    move its dots, and a drag that starts beside a dot moves the block instead."""
    from playwright.sync_api import expect

    settled(page)
    out = node(page, source).locator(".output_1").bounding_box()
    into = node(page, target).locator(".input_1").bounding_box()
    page.mouse.move(out["x"] + out["width"] / 2, out["y"] + out["height"] / 2)
    page.mouse.down()
    page.mouse.move(into["x"] + 2, into["y"] + 2, steps=8)
    page.mouse.move(into["x"] + into["width"] / 2, into["y"] + into["height"] / 2, steps=2)
    page.mouse.up()
    ids = [node(page, b).get_attribute("id").removeprefix("node-") for b in (source, target)]
    expect(
        page.locator(f"svg.connection.node_out_node-{ids[0]}.node_in_node-{ids[1]}")
    ).to_have_count(1)


def settled(page) -> None:
    """No check pending or in flight: every block shows the answer to the last change."""
    page.wait_for_selector("#canvas-app:not([data-checking])", state="attached")


def choose(page, block_id: str) -> None:
    """Select a block with the settings panel's block list (the keyboard's way)."""
    option = page.locator("#pick option").filter(has_text=re.compile(rf"^{block_id} \("))
    page.select_option("#pick", value=option.get_attribute("value"))


def set_field(page, label: str, value: str) -> None:
    field = page.locator("#settings").get_by_label(label, exact=True)
    field.fill(value)
    field.press("Tab")  # change fires on leaving the field


def test_models_gallery_and_the_canvas_round_trip(
    page, tiny_dataset, workspace, monkeypatch, capsys
):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # each check is a request: slow on a loaded 2-core machine

    # -- the gallery: every preset drawn, with its parameter count and figures
    page.goto(page.base + "/models")
    kim = page.locator("#preset-kim-cnn")
    expect(kim.locator("svg.graph")).to_be_visible()
    expect(kim.locator(".params")).to_have_text("1,592,706")
    expect(kim.locator(".measured")).to_contain_text("88.60 %")
    expect(page.locator("#preset-bert .measured")).to_have_text("–")
    expect(page.locator("#preset-linear .nograph")).to_be_visible()
    shot(page, "models")

    # -- an empty canvas; blocks added from the palette (mouse, then keyboard)
    page.goto(page.base + "/models/canvas")
    expect(page.locator("#check")).to_contain_text("empty canvas")
    page.get_by_role("button", name="Input", exact=True).click()
    page.get_by_role("button", name="GlobalMaxPool1D", exact=True).click()
    page.get_by_role("button", name="Embedding", exact=True).focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Output", exact=True).click()
    for block in ("input", "globalmaxpool1d", "embedding", "output"):
        expect(node(page, block)).to_be_visible()

    # -- wired wrongly: the pooling takes word ids (a wrong rank); the message is on that block
    wire(page, "input", "globalmaxpool1d")
    wire(page, "globalmaxpool1d", "embedding")
    wire(page, "embedding", "output")
    bad = node(page, "globalmaxpool1d")
    expect(bad).to_have_class(re.compile(r"\bblk-bad\b"))
    expect(bad.locator(".blk-error")).to_contain_text("cannot take ids (B, 650)")
    expect(page.locator("#check")).to_contain_text("block 'globalmaxpool1d'")
    shot(page, "canvas-error")

    # -- fixed with the settings panel's inputs: Input → Embedding → GlobalMaxPool1D → Output
    choose(page, "embedding")
    page.locator("#wire-globalmaxpool1d input").uncheck()
    page.locator("#wire-input input").check()
    choose(page, "globalmaxpool1d")
    page.locator("#wire-input input").uncheck()
    page.locator("#wire-embedding input").check()
    choose(page, "output")
    page.locator("#wire-embedding input").uncheck()
    page.locator("#wire-globalmaxpool1d input").check()
    expect(page.locator("#check")).to_contain_text("The graph fits")
    expect(bad).not_to_have_class(re.compile(r"\bblk-bad\b"))
    expect(node(page, "output").locator(".blk-shape")).to_contain_text("vec (B, 2)")

    # -- the encoder's settings on the Input block, the embedding's width: typed fields
    choose(page, "input")
    set_field(page, "sequence length", "20")
    set_field(page, "max words", "200")
    choose(page, "embedding")
    set_field(page, "dim", "8")
    expect(node(page, "embedding").locator(".blk-shape")).to_have_text(
        "seq (B, 8, 20) · 1,600 params"
    )
    expect(page.locator("#check")).to_contain_text("The graph fits: 1,618 parameters")

    # -- copy and paste a block (Ctrl+C, Ctrl+V on the canvas), then delete the copy
    node(page, "embedding").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(node(page, "embedding2")).to_be_visible()
    expect(node(page, "embedding2").locator(".blk-main")).to_have_text("dim 8")
    expect(page.locator("#check")).to_contain_text("goes nowhere")
    page.get_by_role("button", name="Delete block").click()
    expect(node(page, "embedding2")).to_have_count(0)
    expect(page.locator("#check")).to_contain_text("The graph fits")

    # -- a block dragged in from the palette, then removed with the Delete key on the canvas
    page.get_by_role("button", name="Dropout", exact=True).drag_to(
        page.locator("#drawflow"), target_position={"x": 420, "y": 200}
    )
    expect(node(page, "dropout")).to_be_visible()
    expect(node(page, "dropout").locator(".blk-main")).to_have_text("rate 0.2")  # seed 000's
    node(page, "dropout").click()
    page.keyboard.press("Delete")
    expect(node(page, "dropout")).to_have_count(0)
    expect(page.locator("#check")).to_contain_text("The graph fits")

    # -- a name the graph reader refuses is named on its block; the tidy layout keeps the graph
    choose(page, "embedding")
    set_field(page, "Name", "2nd")
    expect(node(page, "2nd").locator(".blk-error")).to_contain_text("not a valid name")
    set_field(page, "Name", "embedding")
    page.get_by_role("button", name="Tidy layout").click()
    expect(page.locator("#check")).to_contain_text("The graph fits: 1,618 parameters")

    # -- a bad name is refused in words; a good one is saved, with the command that trains it
    page.fill("#graph-name", "no good")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#save-form [data-error]")).to_contain_text("graph name")
    page.fill("#graph-name", "tiny-graph")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#saved-command")).to_contain_text("critic train --config")
    assert page.url.endswith("/models/canvas?graph=tiny-graph")

    # -- the file: what the canvas drew, and it loads back unchanged in meaning
    path = workspace.graphs / "tiny-graph.toml"
    tables = load_graph("tiny-graph", workspace)
    assert [b["type"] for b in tables["model"]["blocks"]] == [
        "Input",
        "Embedding",
        "GlobalMaxPool1D",
        "Output",
    ]
    assert tables["encoder"]["sequence_length"] == 20 and tables["encoder"]["max_words"] == 200
    assert tables_from_canvas(canvas_of(tables)) == tables
    page.goto(page.base + "/models/canvas?graph=tiny-graph")
    expect(page.locator("#check")).to_contain_text("The graph fits: 1,618 parameters")
    page.goto(page.base + "/models")
    expect(page.locator("#graph-tiny-graph")).to_be_visible()

    # -- the saved TOML trains from the command line
    code, out, err = run(
        monkeypatch, capsys, "train", "--config", str(path), "--dataset", tiny_dataset,
        "--epochs", "1", "--name", "from-canvas",
    )  # fmt: skip
    assert code == 0, out + err
    from critic.experiments.store import get_experiment

    experiment = get_experiment("from-canvas", workspace)
    assert experiment.status == "done"
    assert experiment.record.config["encoder"]["sequence_length"] == 20

    # -- a preset in the canvas: every block with its shape, a Conv1D's settings in the panel
    page.goto(page.base + "/models")
    page.locator("#preset-kim-cnn").get_by_role("link", name=re.compile("Open in canvas")).click()
    expect(page.locator("#check")).to_contain_text("The graph fits: 1,592,706 parameters")
    expect(node(page, "conv2").locator(".blk-shape")).to_have_text(
        "seq (B, 256, 649) · 33,024 params"
    )
    choose(page, "conv2")
    expect(page.locator("#settings").get_by_label("kernel", exact=True)).to_have_value("2")
    expect(page.locator("#settings").get_by_label("activation", exact=True)).to_have_value("tanh")
    shot(page, "canvas")

    # -- a narrow window: no sideways scroll of the page
    page.set_viewport_size({"width": 380, "height": 800})
    wide = "document.documentElement.scrollWidth"
    assert page.evaluate(wide) <= 380, page.evaluate(WIDEST)
    page.goto(page.base + "/models")
    assert page.evaluate(wide) <= 380, page.evaluate(WIDEST)
    page.set_viewport_size({"width": 1280, "height": 800})

    # -- delete it from the gallery, after the confirmation
    page.goto(page.base + "/models")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#graph-tiny-graph").get_by_role("button", name="Delete tiny-graph").click()
    expect(page.locator("#graph-tiny-graph")).to_have_count(0)
    assert not path.exists()


def test_seed_000s_copy_of_a_convolution_arm(page):
    """Seed 000: a Conv1D and its pooling copied together and pasted; the copy keeps its wire
    between them and its input from the Dropout, and one more wire joins it to Concatenate."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    page.goto(page.base + "/models/canvas?preset=kim-cnn")
    expect(page.locator("#check")).to_contain_text("The graph fits: 1,592,706 parameters")
    node(page, "conv5").click()
    node(page, "pool5").click(modifiers=["Shift"])
    expect(node(page, "pool5")).to_have_class(re.compile(r"\bblk-marked\b"))
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#check")).to_have_text("Copied conv5, pool5.")
    page.get_by_role("button", name="Paste").click()
    expect(node(page, "conv1d")).to_be_visible()
    expect(page.locator("#check")).to_contain_text("['globalmaxpool1d'] goes nowhere")
    choose(page, "conv1d")
    expect(page.locator("#wire-dropout input")).to_be_checked()
    set_field(page, "kernel", "4")
    choose(page, "concatenate")
    page.locator("#wire-globalmaxpool1d input").check()
    # a fifth arm: 256 more features into Dense 128, and its own 64·4·256 + 256 weights
    expect(page.locator("#check")).to_contain_text(
        f"The graph fits: {1_592_706 + 64 * 4 * 256 + 256 + 256 * 128:,} parameters"
    )
