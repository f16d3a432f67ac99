"""Sessions: a random cookie of which only the SHA-256 is stored, its attributes, its expiry, the
logout that ends it on the server, and the login's answers (same words for unknown name and wrong
password, throttled failures)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from critic.catalog import open_catalog
from critic.serve.workbench.sessions import COOKIE, find_session, open_session
from critic.serve.workbench.throttle import LoginThrottle
from tests.conftest import catalog_rows, stored_bytes
from tests.workbench.conftest import PASSWORD, csrf_of, log_in

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_a_login_sets_a_strict_httponly_cookie_and_stores_only_its_hash(client, alice, workspace):
    response = log_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = _set_cookies(response)[COOKIE]
    token = cookie.split("=", 1)[1].split(";")[0]
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict", "max-age=43200"} <= attributes
    assert "secure" not in attributes  # plain HTTP: a Secure cookie would never come back
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    rows = catalog_rows(workspace, 'SELECT token_hash, "user", csrf FROM sessions')
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "alice", rows[0][2])]
    raw = stored_bytes(workspace)
    assert token.encode() not in raw


def test_the_cookie_is_secure_under_https(app, alice):
    with TestClient(app, base_url="https://testserver") as client:
        response = log_in(client)
    assert "secure" in _set_cookies(response)[COOKIE].lower().split("; ")


def test_logout_ends_the_session_on_the_server(logged_in):
    token = logged_in.cookies.get(COOKIE)
    response = logged_in.post("/logout", data={"csrf": csrf_of(logged_in)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?out=1"
    assert "max-age=0" in _set_cookies(response)[COOKIE].lower()
    logged_in.cookies.set(COOKIE, token)  # a copy of the old cookie is worth nothing now
    answer = logged_in.get("/")
    assert answer.status_code == 401 and answer.json()["error"] == "login_required"
    assert "You are logged out." in logged_in.get("/login?out=1").text


def test_a_session_expires(workspace, alice, client):
    catalog = open_catalog(workspace)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    token, session = open_session(catalog, "alice", timedelta(hours=12), now=start)
    assert session.expires == "2030-01-01T12:00:00+00:00"
    assert find_session(catalog, token, now=start + timedelta(hours=11, minutes=59)).user == "alice"
    assert find_session(catalog, token, now=start + timedelta(hours=12)) is None
    assert find_session(catalog, "not-a-token") is None and find_session(catalog, None) is None
    expired, _ = open_session(catalog, "alice", timedelta(seconds=-1))
    client.cookies.set(COOKIE, expired)
    assert client.get("/").status_code == 401


def test_expired_sessions_are_swept_at_the_next_login(workspace, alice, client):
    catalog = open_catalog(workspace)
    open_session(catalog, "alice", timedelta(seconds=-1))
    log_in(client)
    assert catalog_rows(workspace, "SELECT COUNT(*) FROM sessions") == [(1,)]


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(client, alice):
    wrong = log_in(client, password="not the password")
    unknown = log_in(client, name="mallory")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Wrong user name or password." in response.text and COOKIE not in response.cookies


def test_failed_logins_are_throttled_per_name_and_address(client, alice):
    for _ in range(5):
        assert log_in(client, password="not the password").status_code == 401
    refused = log_in(client)  # even the right password waits now
    assert refused.status_code == 429 and "Too many failed logins" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 900


def test_the_throttle_forgets_after_its_window_and_stays_bounded():
    now = [0.0]
    throttle = LoginThrottle(per_name=2, per_address=3, window=60, max_keys=4, clock=lambda: now[0])
    throttle.failed("alice", "1.2.3.4")
    assert throttle.wait("alice", "1.2.3.4") == 0
    throttle.failed("alice", "1.2.3.4")
    assert throttle.wait("alice", "1.2.3.4") == 60 and throttle.wait("bob", "1.2.3.4") == 0
    throttle.failed("bob", "1.2.3.4")  # the address's third failure: every name waits
    assert throttle.wait("carol", "1.2.3.4") == 60 and throttle.wait("carol", "5.6.7.8") == 0
    now[0] = 61
    assert throttle.wait("alice", "1.2.3.4") == 0
    for i in range(10):
        throttle.failed(f"user{i}", f"10.0.0.{i}")
    assert len(throttle._failures) == 4
    throttle.failed("dave", "9.9.9.9")
    throttle.succeeded("dave", "9.9.9.9")
    assert ("name", "dave", "9.9.9.9") not in throttle._failures


def test_logged_in_the_login_page_goes_home_and_the_home_shows_the_user(logged_in):
    response = logged_in.get("/login", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = logged_in.get("/")
    assert home.status_code == 200 and '<strong id="user">alice</strong>' in home.text
    assert (
        'action="/logout"' in home.text
        and "frame-ancestors 'none'" in home.headers["content-security-policy"]
    )
    assert home.headers["cache-control"] == "no-store" and PASSWORD not in home.text
