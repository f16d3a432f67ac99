"""The tester page's explanation in headless Chromium: the words shaded by score (the marks are
exactly the words the API's offsets name, emoji and line breaks included), the legend, the
strongest words, the class picker; under a CSP that refuses inline script and style."""

from __future__ import annotations

import urllib.parse

from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from tests.test_browser import ARTIFACTS, _chromium, live  # noqa: F401 (the `live` fixture)

TEXT = "A superb and wonderful film 😍, I loved it!\nBut the plot was dull… dull <br /> okay"


def test_the_tester_shades_the_words_with_a_legend(live):  # noqa: F811
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    server, token = live
    predict = f"{server.url}/v1/deployments/moods/predict"
    predictor = Predictor.from_checkpoint(get_experiment("moods-linear").checkpoint("best"))
    sent = TEXT.replace("\n", "\r\n")  # a form sends line breaks as CRLF
    (expected,) = predictor.explain([sent])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            problems = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            query = urllib.parse.urlencode({"url": predict, "input": "review"})
            response = page.goto(f"{server.url}/tester?{query}")
            assert "'unsafe-inline'" not in response.headers["content-security-policy"]
            page.fill("#token", token)
            page.fill("#text", TEXT)
            page.click("#play")
            expect(page.locator("#why")).to_be_visible()
            marks = page.locator("#why-text mark.xp-word")
            expect(marks).to_have_count(len(expected.spans))
            assert marks.all_text_contents() == [s.word for s in expected.spans]
            shown = page.evaluate("document.getElementById('why-text').textContent")
            assert shown == sent  # the whole text, cut only at the offsets
            # the strongest word is the most intense shade, toward the predicted class
            top = expected.top(1)[0]
            assert expected.target == "positive" and top.word in ("superb", "wonderful", "loved")
            strongest = page.locator("#why-text mark.xp-p4")
            assert top.word in strongest.all_text_contents()
            assert page.locator("#why-top li").first.locator(".word").text_content() == top.word
            legend = page.locator("#why-legend")
            expect(legend).to_contain_text("toward positive")
            expect(legend).to_contain_text("away from positive")
            colours = page.evaluate(
                "[...document.querySelectorAll('#why-legend i')].map(i => getComputedStyle(i).backgroundImage)"
            )
            assert "33, 102, 172" in colours[0] and "179, 88, 6" in colours[1]  # blue, orange
            page.screenshot(path=str(ARTIFACTS / "tester-explain.png"), full_page=True)

            # another class: "dull" now pushes toward it, "superb" away
            page.select_option("#why-class", "negative")
            expect(page.locator("#why-title")).to_contain_text("explaining negative")
            expect(legend).to_contain_text("toward negative")
            dull = page.locator("#why-text mark", has_text="dull").first
            assert int(dull.get_attribute("data-level")) > 0
            superb = page.locator("#why-text mark", has_text="superb")
            assert int(superb.get_attribute("data-level")) < 0
            assert "xp-n" in superb.get_attribute("class")

            # explain off: the answer alone
            page.uncheck("#explain")
            page.click("#play")
            expect(page.locator(".bar")).to_have_count(3)
            expect(page.locator("#why")).to_be_hidden()
            assert problems == []
        finally:
            browser.close()
