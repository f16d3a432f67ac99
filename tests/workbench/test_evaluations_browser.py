"""Issue 25, test 4 in headless Chromium: open the evaluation, click a confusion-matrix cell, see
only those errors; search the errors and open a whole text; run an evaluation on another dataset
version from the page as a job and open its result. Screenshots: workbench-evaluations.png,
workbench-evaluation.png, workbench-evaluation-errors.png."""

from __future__ import annotations

import re

import pytest

from tests.workbench.conftest import shot
from tests.workbench.test_evaluations import EXPERIMENT, OTHER, OWN, PAGE, build_home


@pytest.fixture
def evaluated(workspace):
    build_home(workspace.root)
    return workspace


def _pictures_loaded(page) -> None:
    page.wait_for_function("[...document.images].every((i) => i.complete && i.naturalWidth > 0)")


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, f"the page scrolls sideways: {width} > {inner}"


def test_a_confusion_matrix_cell_filters_the_errors(evaluated, page):
    from playwright.sync_api import expect

    page.goto(page.base + "/evaluations")
    page.get_by_role("link", name=EXPERIMENT).first.click()
    expect(page).to_have_url(re.compile(re.escape(PAGE) + "$"))
    expect(page.locator('[data-metric="accuracy"]')).to_be_visible()
    expect(page.locator("#picture-history img")).to_be_visible()
    _pictures_loaded(page)
    shot(page, "evaluation")
    total = page.locator("#errors-count").inner_text()

    # an off-diagonal cell with errors: its link filters the error browser to that pair
    cell = page.locator("td.ev-cell:not(.ev-diag)").filter(has=page.locator("a")).first
    true, pred = cell.get_attribute("data-true"), cell.get_attribute("data-pred")
    count = int(cell.get_attribute("data-count"))
    assert true != pred and count > 0
    page.evaluate("window.notReloaded = true")
    cell.locator("a").click()
    expect(page).to_have_url(re.compile(rf"\?true={true}&pred={pred}#errors$"))
    expect(page.locator("#errors-count")).to_have_text(re.compile(rf"^{count} of "))
    rows = page.locator("tr.ev-error")
    expect(rows).to_have_count(count)
    for i in range(count):
        expect(rows.nth(i).locator('[data-col="true"]')).to_have_text(true)
        expect(rows.nth(i).locator('[data-col="pred"]')).to_have_text(pred)
    expect(page.locator("#f-true")).to_have_value(true)
    expect(page.locator("#f-pred")).to_have_value(pred)
    expect(page.locator(f'td.ev-chosen[data-true="{true}"][data-pred="{pred}"]')).to_have_count(1)
    assert page.evaluate("window.notReloaded === true")  # swapped in place
    # the back button: all the errors again
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(PAGE) + "$"))
    expect(page.locator("#errors-count")).to_have_text(total)
    expect(page.locator("td.ev-chosen")).to_have_count(0)
    page.go_forward()
    expect(page.locator("tr.ev-error")).to_have_count(count)
    page.go_back()
    expect(page.locator("#errors-count")).to_have_text(total)
    assert page.evaluate("window.notReloaded === true")

    # search the text, open a whole text
    page.fill("#f-q", "went on")
    page.click("#f-apply")
    expect(page).to_have_url(re.compile(r"q=went\+on"))
    first = page.locator("tr.ev-error").filter(has=page.locator("details")).first
    expect(first).to_be_visible()
    whole = first.locator(".ev-whole")
    expect(whole).to_be_hidden()
    first.locator("summary").click()
    expect(whole).to_be_visible()
    expect(whole).to_contain_text("and then it went on and then it went on")
    for text in page.locator("tr.ev-error .ev-whole").all_text_contents():
        assert "went on" in text
    _pictures_loaded(page)
    shot(page, "evaluation-errors")

    page.set_viewport_size({"width": 380, "height": 800})
    _no_sideways_scroll(page)


def test_an_evaluation_runs_from_the_page_as_a_job(evaluated, page):
    from playwright.sync_api import expect

    page.goto(page.base + f"/evaluations?experiment={EXPERIMENT}")
    expect(page.locator("#ev-dataset option")).to_have_count(2)  # its own and elsewhere@1
    expect(page.locator("#ev-classes")).to_contain_text("not offered")
    page.select_option("#ev-dataset", OTHER)
    page.select_option("#ev-subset", "test")
    page.click("#ev-run")
    expect(page).to_have_url(re.compile(r"job=job-"))
    job = page.locator(".ev-job.ev-focus")
    expect(job.locator('[data-field="state"]')).to_have_text("done", timeout=90_000)
    result = job.get_by_role("link", name="Open the test evaluation")
    expect(result).to_be_visible()
    page.reload()  # the list now holds it too
    expect(page.locator("#evaluations tbody tr")).to_have_count(2)
    shot(page, "evaluations")
    page.set_viewport_size({"width": 380, "height": 800})
    _no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator(".ev-job.ev-focus").get_by_role("link", name="Open the test evaluation").click()
    expect(page).to_have_url(re.compile(re.escape(f"/evaluations/{EXPERIMENT}/best/{OTHER}/test")))
    expect(page.locator("h1")).to_contain_text(OTHER)
    expect(page.locator(".lead")).to_contain_text("other than the one it trained on")
    # a link to the other evaluation of the same experiment
    expect(page.locator(".ev-siblings").get_by_role("link", name=re.compile(OWN))).to_be_visible()
