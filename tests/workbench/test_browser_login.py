"""The workbench's door in real headless Chromium (Playwright, as tests/test_browser.py): log in
through the form with the keyboard, see the home page, be refused a cross-site POST that carries
the session cookie, log out. Screenshots go to the test artifacts."""

from __future__ import annotations

import re

import pytest

from critic.serve import ServeSettings, create_app
from critic.users import add_user
from tests.conftest import LiveServer
from tests.test_browser import ARTIFACTS, _chromium
from tests.workbench.conftest import PASSWORD


@pytest.fixture
def live(workspace):
    add_user("alice", PASSWORD, admin=True, workspace=workspace)
    server = LiveServer(create_app(workspace, ServeSettings(refresh_seconds=0), workbench=True))
    yield server
    server.stop()


def attacker_page(target: str) -> bytes:
    """Another origin's page with a form that posts to the workbench (it cannot know the token)."""
    return (
        f'<!doctype html><form method="post" action="{target}/logout">'
        '<input type="hidden" name="csrf" value="guessed">'
        '<button id="prize">Claim your prize</button></form>'
    ).encode()


def test_log_in_see_home_refuse_a_cross_site_post_log_out(live, file_server):
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    url = live.url
    file_server.files["/prize.html"] = attacker_page(url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(url + "/")  # logged out: sent to the login, to come back here
            expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
            expect(page.locator("#name")).to_be_focused()
            page.screenshot(path=str(ARTIFACTS / "workbench-login.png"))

            page.keyboard.type("alice")
            page.keyboard.press("Tab")
            page.keyboard.type("not the password")
            page.keyboard.press("Enter")
            expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")

            page.fill("#password", PASSWORD)
            page.keyboard.press("Enter")
            expect(page).to_have_url(url + "/")
            expect(page.locator("#user")).to_have_text("alice")
            expect(page.locator("#count-experiments")).to_have_text("0")
            page.screenshot(path=str(ARTIFACTS / "workbench-home.png"), full_page=True)
            (cookie,) = [c for c in context.cookies() if c["name"] == "critic_session"]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            assert page.evaluate("document.cookie") == ""  # no script can read it

            page.set_viewport_size(
                {"width": 380, "height": 800}
            )  # a narrow window: no sideways scroll
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(ARTIFACTS / "workbench-home-narrow.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 800})

            # another site's form posts to /logout; the browser sends the cookie along (same host,
            # another port: same site) and the server refuses it for its Origin
            page.goto(file_server.url("/prize.html"))
            page.click("#prize")
            expect(page.locator("#error-title")).to_contain_text("403")
            expect(page.locator("main")).to_contain_text("cross_origin")
            page.screenshot(path=str(ARTIFACTS / "workbench-cross-site-refused.png"))
            # the same with the real CSRF token stolen somehow: the Origin still refuses it
            page.goto(url + "/")
            expect(page.locator("#user")).to_have_text("alice")  # still logged in
            token = page.get_attribute('meta[name="csrf-token"]', "content")
            forged = context.request.post(
                url + "/logout",
                headers={"Origin": "http://evil.example", "X-CSRF-Token": token},
                max_redirects=0,
            )
            assert forged.status == 403 and forged.json()["error"] == "cross_origin"

            page.locator("#logout").focus()
            page.keyboard.press("Enter")
            expect(page).to_have_url(url + "/login?out=1")
            expect(page.locator(".notice")).to_have_text("You are logged out.")
            page.goto(url + "/")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            assert not [c for c in context.cookies() if c["name"] == "critic_session"]
        finally:
            browser.close()
    assert (ARTIFACTS / "workbench-home.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
