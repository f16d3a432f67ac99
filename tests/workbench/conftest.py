"""A workbench app on a fresh workspace, a user, and a logged-in client."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from critic.serve import ServeSettings, create_app
from critic.users import add_user

PASSWORD = "correct horse battery"
ORIGIN = "http://testserver"


@pytest.fixture
def app(workspace):
    return create_app(workspace, ServeSettings(refresh_seconds=0), workbench=True)


@pytest.fixture
def alice(workspace):
    return add_user("alice", PASSWORD, admin=True, workspace=workspace)


@pytest.fixture
def client(app):
    with TestClient(app, base_url=ORIGIN) as client:
        yield client


def login_token(client: TestClient) -> str:
    """The hidden `csrf` field of a fresh login form (its cookie is set on the client)."""
    return hidden(client.get("/login").text, "csrf")


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def log_in(client: TestClient, name: str = "alice", password: str = PASSWORD, **extra):
    form = {"csrf": login_token(client), "name": name, "password": password, **extra}
    return client.post("/login", data=form, follow_redirects=False)


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as the home page carries it."""
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


@pytest.fixture
def logged_in(client, alice) -> TestClient:
    assert log_in(client).status_code == 303
    return client


# --- the workbench in real headless Chromium (Playwright), shared by the pages' browser tests ---


@pytest.fixture
def live_workbench(workspace, alice):
    """The workbench with its job pool on uvicorn, on a free port of 127.0.0.1; alice is an admin."""
    from tests.conftest import LiveServer

    server = LiveServer(create_app(workspace, ServeSettings(refresh_seconds=0), workbench=True))
    yield server
    server.stop()


@pytest.fixture
def chromium():
    """Headless Chromium through Playwright (skips locally when missing; fails under .ci/run)."""
    from tests.test_browser import _chromium

    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, live_workbench):
    """A 1280×800 page logged in as alice on `live_workbench` (its base URL is `page.base`). A
    script error on any page fails the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base = live_workbench.url
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_workbench.url + "/login")
    page.fill("#name", "alice")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(live_workbench.url + "/")
    yield page
    context.close()
    assert not errors, f"script errors in the page: {errors}"


def shot(page, name: str, full_page: bool = True) -> None:
    """A screenshot kept as a test artifact: test-artifacts/workbench-NAME.png."""
    from tests.test_browser import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"), full_page=full_page)
