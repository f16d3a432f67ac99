"""The issue's test 5 in headless Chromium: deploy a trained experiment from the page, copy the
token with the copy button (read back from the clipboard), open Test deployment (the tester, filled
in), paste the token and get a prediction; disable the deployment and see the tester show the error;
rotate the token and see the old one refused; delete it with its name typed. Screenshots:
workbench-deployments, -deployment, -deployment-token, -deployment-tester, -deployment-tester-error."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from critic.data import import_dataset
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from tests.conftest import sentiment_rows, write_csv
from tests.workbench.conftest import shot

TEXT = "a superb and wonderful film, I loved it"


@pytest.fixture
def trained(workspace, tmp_path) -> str:
    """A finished linear experiment `films` on 160 rows (its text column: `text`)."""
    ref = import_dataset(
        "films", write_csv(tmp_path / "films.csv", sentiment_rows(160)), progress=False
    ).version.ref
    train_experiment(build_config(ref, preset="linear"), name="films")
    return "films"


def _play(tester, token: str):
    tester.fill("#token", token)
    tester.fill("#text", TEXT)
    tester.click("#play")


def test_deploy_copy_the_token_test_it_disable_rotate_delete(page, trained):
    from playwright.sync_api import expect

    base = page.base
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)

    # the list, empty; the form from its button
    page.goto(base + "/deployments")
    expect(page.locator("#no-deployments")).to_be_visible()
    page.click("#new-deployment")
    expect(page).to_have_url(base + "/deployments/new")
    page.select_option("#experiment", "films")
    expect(page.locator("#name")).to_have_attribute("placeholder", "films-best")
    page.check("#checkpoint-last")
    expect(page.locator("#name")).to_have_attribute("placeholder", "films-last")
    page.check("#checkpoint-best")
    shot(page, "deployment-new")
    page.fill("#name", "web")
    page.click("#create")

    # the token, once, with its copy button
    expect(page.locator("h1")).to_have_text("Deployed: web")
    expect(page.locator("#token-warning")).to_contain_text("will not be shown again")
    token = page.input_value("#token")
    assert token.startswith("critic_")
    page.click("#copy-token")
    expect(page.locator("#copy-token")).to_have_text("Copied")
    expect(page.locator("#copy-status")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == token
    assert token not in page.url
    shot(page, "deployment-token")

    # Test deployment: the tester in a new tab, URL and input name filled in, the token not
    with page.context.expect_page() as opened:
        page.click("#test-deployment")
    tester = opened.value
    tester.wait_for_load_state()
    assert tester.input_value("#url") == base + "/v1/deployments/web/predict"
    assert tester.input_value("#input") == "text"
    assert tester.input_value("#token") == ""
    assert token not in tester.url
    _play(tester, copied)
    expect(tester.locator(".bar.winner")).to_have_attribute("data-label", "positive")
    shot(tester, "deployment-tester")

    # the deployment's page: the figures count the call, the examples, the switch
    page.click("#deployment-link")
    expect(page).to_have_url(base + "/deployments/web")
    expect(page.locator("#predict-url")).to_have_text(base + "/v1/deployments/web/predict")
    expect(page.locator("#input-name")).to_have_text("text")
    expect(page.locator("#stat-requests")).to_have_text("1")
    expect(page.locator("#curl-form")).to_contain_text('-u "$CRITIC_TOKEN:"')
    expect(page.locator("#python")).to_contain_text("httpx.post(")
    expect(page.locator("#test-deployment")).to_have_attribute(
        "href",
        "/tester?" + urlencode({"url": base + "/v1/deployments/web/predict", "input": "text"}),
    )
    shot(page, "deployment")

    # where the browser refuses the clipboard, the copy button selects the text for Ctrl+C
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('refused')); }"
    )
    page.click('[data-copy="#predict-url"]')
    expect(page.locator(".visually-hidden[aria-live]")).not_to_be_empty()
    assert page.evaluate("String(window.getSelection())") == base + "/v1/deployments/web/predict"

    page.click("#enabled-switch")
    expect(page.locator("#state")).to_have_text("disabled")
    expect(page.locator("#enabled-switch")).to_have_attribute("aria-checked", "false")
    expect(page.locator("#disabled-note")).to_be_visible()

    # the tester now shows the disabled deployment's error
    tester.click("#play")
    expect(tester.locator("#error")).to_contain_text("404")
    expect(tester.locator("#error")).to_contain_text("is disabled")
    shot(tester, "deployment-tester-error")

    # enabled again, the token rotated (after a confirm dialog): the old one is refused
    page.click("#enabled-switch")
    expect(page.locator("#state")).to_have_text("enabled")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#rotate")
    expect(page.locator("h1")).to_have_text("New token for web")
    new = page.input_value("#token")
    assert new.startswith("critic_") and new != token
    tester.click("#play")
    expect(tester.locator("#error")).to_contain_text("401")
    expect(tester.locator("#error")).to_contain_text("not valid")
    _play(tester, new)
    expect(tester.locator(".bar.winner")).to_have_attribute("data-label", "positive")

    # the list: state, URL, requests since start (1 + 1 refused + 1 refused + 1)
    page.goto(base + "/deployments")
    row = page.locator('tr[data-name="web"]')
    expect(row).to_contain_text("enabled")
    expect(row).to_contain_text(base + "/v1/deployments/web/predict")
    expect(row.locator("td.num").first).to_have_text("4")
    shot(page, "deployments")

    # readable in a narrow window: no page scrolls sideways (tables and code scroll in their box)
    page.set_viewport_size({"width": 380, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    page.goto(base + "/deployments/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    page.goto(base + "/deployments/web")
    expect(page.locator("#deployment-name")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    shot(page, "deployment-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})

    # delete: the button waits for the name
    expect(page.locator("#delete")).to_be_disabled()
    page.fill("#confirm", "we")
    expect(page.locator("#delete")).to_be_disabled()
    page.fill("#confirm", "web")
    page.click("#delete")
    expect(page).to_have_url(base + "/deployments?deleted=web")
    expect(page.locator("#deleted")).to_contain_text("web")
    expect(page.locator("#no-deployments")).to_be_visible()
    tester.click("#play")
    expect(tester.locator("#error")).to_contain_text("does not exist")
