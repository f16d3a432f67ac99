"""The API tester page in real headless Chromium (Debian's `chromium`, driven by Playwright).

Locally the test skips, saying what to install, when Chromium or Playwright is missing;
`.ci/run` installs both and sets CRITIC_REQUIRE_BROWSER=1, so there a missing browser fails."""

import os
import shutil
import urllib.parse
from pathlib import Path

import pytest

from critic.data import import_dataset
from critic.deploy import create_deployment
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.serve import ServeSettings, create_app
from tests.conftest import LiveServer, sentiment_rows

ARTIFACTS = Path(
    os.environ.get("CRITIC_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts")
)


def _chromium() -> str:
    found = (
        os.environ.get("CRITIC_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        found = None
    if not found:
        message = (
            "the browser test needs Chromium and Playwright: `apt-get install -y chromium` and "
            "`pip install playwright` (or `make test`, which installs Playwright)"
        )
        if os.environ.get("CRITIC_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def live(workspace, tmp_path):
    source = tmp_path / "three.csv"
    source.write_text(
        "review,mood\n" + "".join(f'"{t}",{label}\n' for t, label in sentiment_rows(150, classes=3))
    )
    ref = import_dataset("moods", source, label="mood", progress=False).version.ref
    train_experiment(build_config(ref, preset="linear"), name="moods-linear")
    created = create_deployment("moods-linear", name="moods")
    server = LiveServer(create_app(workspace, ServeSettings(refresh_seconds=0)))
    yield server, created.token
    server.stop()


def test_the_tester_page_plays_and_shows_errors(live):
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    server, token = live
    predict = f"{server.url}/v1/deployments/moods/predict"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            page.goto(
                f"{server.url}/tester?"
                + urllib.parse.urlencode({"url": predict, "input": "review"})
            )
            assert page.input_value("#url") == predict and page.input_value("#input") == "review"
            assert page.input_value("#token") == ""  # never pre-filled
            page.fill("#token", token)
            page.fill("#text", "a superb and wonderful film, I loved it")
            page.click("#play")
            bars = page.locator(".bar")
            expect(bars).to_have_count(3)
            probabilities = {
                bars.nth(i).get_attribute("data-label"): float(
                    bars.nth(i).get_attribute("data-probability")
                )
                for i in range(3)
            }
            assert set(probabilities) == {"negative", "neutral", "positive"}
            assert abs(sum(probabilities.values()) - 1) < 1e-5
            assert (
                page.locator(".bar.winner").get_attribute("data-label")
                == "positive"
                == max(probabilities, key=probabilities.get)
            )
            page.screenshot(path=str(ARTIFACTS / "tester.png"), full_page=True)
            assert (
                page.evaluate("localStorage.getItem('critic.tester.token')") is None
            )  # not remembered unless asked

            page.fill("#token", "critic_not-the-token")
            page.click("#play")
            expect(page.locator("#error")).to_contain_text("401")
            expect(page.locator("#error")).to_contain_text("not valid")
            page.screenshot(path=str(ARTIFACTS / "tester-error.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "tester.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
