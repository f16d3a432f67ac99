"""Issue 25, test 1, in real headless Chromium: log in; upload a tiny CSV with quoted commas; the
preview guesses the label column, the person picks the other one; import with progress; the
version page draws its statistics and answers a typed sequence length at once, in words and in
WordPiece tokens (of a tiny local tokenizer, named by the operator's CRITIC_WORDPIECE_SOURCE).
Screenshots: workbench-datasets, workbench-dataset-preview, workbench-dataset-version."""

from __future__ import annotations

import re

import pytest

from critic.data import load_version
from critic.serve import ServeSettings, create_app
from tests.conftest import LiveServer, sentiment_rows
from tests.workbench.conftest import shot

TOPICS = ("film", "book")


@pytest.fixture
def live_workbench(workspace, alice, tiny_bert):
    """The page fixture's server, with the tiny tokenizer as the WordPiece source."""
    settings = ServeSettings(refresh_seconds=0, wordpiece_source=tiny_bert)
    server = LiveServer(create_app(workspace, settings, workbench=True))
    yield server
    server.stop()


def _csv(path):
    """60 rows: text (with commas, quoted), label (the sentiment) and topic: two plausible labels."""
    rows = [("Great, really great", "positive")] + [
        (t.replace(" ", ", ", 1), label) for t, label in sentiment_rows(59)
    ]
    lines = ["text,label,topic"] + [
        f'"{t}",{label},{TOPICS[i % 2]}' for i, (t, label) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_upload_preview_change_the_label_import_see_statistics_and_coverage(
    page, workspace, tmp_path
):
    from playwright.sync_api import expect

    page.goto(page.base + "/datasets")
    expect(page.locator("h1")).to_have_text("Datasets")
    page.set_input_files("#upload-file", str(_csv(tmp_path / "reviews.csv")))
    page.click("#upload-button")
    page.wait_for_url(re.compile(r"/datasets/-/preview\?upload=[0-9a-f]{16}$"))

    # the preview: quoted commas kept in their cells, the importer's guess, then the person's choice
    expect(page.locator("#preview-table td").first).to_have_text("Great, really great")
    expect(page.locator("#text-column")).to_have_value("text")
    expect(page.locator("#label-column")).to_have_value("label")
    page.select_option("#label-column", "topic")
    expect(page.locator('#preview-table th[data-column="topic"]')).to_have_class(
        re.compile("role-label")
    )
    page.fill("#dataset-name", "a..b")  # passes the field's pattern, not the server's check
    page.click("#import-button")
    expect(page.locator("#import-form [data-error]")).to_contain_text("invalid dataset name")
    page.set_viewport_size({"width": 380, "height": 800})
    assert _no_sideways_scroll(page)  # the wide table scrolls inside its box
    page.set_viewport_size({"width": 1280, "height": 800})
    page.fill("#dataset-name", "reviews")
    shot(page, "dataset-preview")
    page.click("#import-button")

    # the job's page follows the import, then links the version it made
    page.wait_for_url(re.compile(r"/datasets/-/jobs/job-"))
    expect(page.locator("#version-link")).to_have_text("reviews@1", timeout=90_000)
    expect(page.locator("#job-state")).to_have_text("done")
    expect(page.locator("#job-log")).to_contain_text("reviews@1")
    shot(page, "dataset-job")
    assert load_version("reviews@1", workspace).manifest["columns"]["label"] == "topic"
    page.click("#version-link")
    page.wait_for_url(page.base + "/datasets/reviews/1")

    # statistics: computed by a job the page starts, then drawn (the page reloads itself)
    expect(page.locator("#plot-length_histogram")).to_be_visible(timeout=120_000)
    for plot in ("length_histogram", "label_balance", "vocabulary"):
        img = page.locator(f"#plot-{plot}")
        expect(img).to_be_visible()
        assert page.evaluate("(el) => el.complete && el.naturalWidth > 0", img.element_handle())
    counts = page.locator(".counts-table")
    expect(counts.locator("thead")).to_contain_text("book")
    expect(counts.locator("thead")).to_contain_text("film")
    expect(page.locator("#about")).to_contain_text("label = topic")

    # the sequence-length field: the shares change as the person types
    words = page.locator('#coverage-table tr[data-subset="all"] .words')
    pieces = page.locator('#coverage-table tr[data-subset="all"] .pieces')
    expect(page.locator("#coverage-table")).to_have_attribute("data-length", "512")
    expect(words).to_have_text("0.0%")
    page.fill("#seq-length", "5")
    expect(page.locator("#coverage-table")).to_have_attribute("data-length", "5")
    expect(words).not_to_have_text("0.0%")
    expect(pieces).to_have_text(re.compile(r"^\d+\.\d%$"))
    expect(pieces).not_to_have_text("0.0%")
    short = words.inner_text()
    page.fill("#seq-length", "12")
    expect(page.locator("#coverage-table")).to_have_attribute("data-length", "12")
    expect(words).not_to_have_text(short)
    page.locator("#seq-length").press_sequentially("0")  # 120: nothing is cut
    expect(words).to_have_text("0.0%")
    page.fill("#seq-length", "20")
    expect(page.locator("#coverage-table")).to_have_attribute("data-length", "20")
    shot(page, "dataset-version")

    # rejected rows: none here, and a link-free empty note; readable on a narrow window
    expect(page.locator("#rejected")).to_contain_text("Every row of the source was imported")
    page.set_viewport_size({"width": 380, "height": 800})
    assert _no_sideways_scroll(page)
    shot(page, "dataset-version-narrow")
    page.goto(page.base + "/datasets")
    assert _no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.locator('a[href="/datasets/reviews/1"]')).to_have_text("reviews@1")
    shot(page, "datasets")
