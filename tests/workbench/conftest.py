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
