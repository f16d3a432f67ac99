"""Every state-changing request needs this session's CSRF token and, when it says where it comes
from (Origin, else Referer), this server's origin; the login form has its own token."""

from __future__ import annotations

import re

import pytest

from critic.serve.workbench.security import local_path
from tests.workbench.conftest import ORIGIN, csrf_of, log_in, login_token


def _logout(client, **kwargs):
    return client.post("/logout", follow_redirects=False, **kwargs)


def _still_logged_in(client) -> bool:
    return client.get("/").status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"data": {"csrf": ""}},
        {"data": {"csrf": "forged"}},
        {"headers": {"x-csrf-token": "forged"}},
        {"headers": {"x-csrf-token": "é-not-ascii".encode("latin-1")}},
        {"data": {"other": "field"}},
    ],
    ids=["none", "empty", "wrong-field", "wrong-header", "non-ascii", "absent"],
)
def test_a_missing_or_wrong_token_is_refused(logged_in, kwargs):
    response = _logout(logged_in, **kwargs)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_token_invalid"
    assert _still_logged_in(logged_in)


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "https://testserver"},  # another scheme is another origin
        {"origin": "http://testserver:8080"},
        {"referer": "http://evil.example/page"},
    ],
)
def test_another_origin_is_refused_even_with_the_right_token(logged_in, headers):
    response = _logout(logged_in, headers={"x-csrf-token": csrf_of(logged_in), **headers})
    assert response.status_code == 403 and response.json()["error"] == "cross_origin"
    assert _still_logged_in(logged_in)


@pytest.mark.parametrize(
    "how",
    [
        {"data": "field"},
        {"header": "header"},
        {"header": "header", "origin": ORIGIN},
        {"data": "field", "referer": ORIGIN + "/"},
    ],
    ids=["form-field", "header", "same-origin", "same-origin-referer"],
)
def test_the_right_token_from_our_own_origin_passes(logged_in, how):
    token, headers, data = csrf_of(logged_in), {}, None
    if "data" in how:
        data = {"csrf": token}
    else:
        headers["x-csrf-token"] = token
    if "origin" in how:
        headers["origin"] = how["origin"]
    if "referer" in how:
        headers["referer"] = how["referer"]
    assert _logout(logged_in, data=data, headers=headers).status_code == 303
    assert not _still_logged_in(logged_in)


def test_a_browser_gets_the_refusal_as_a_page(logged_in):
    response = _logout(logged_in, headers={"accept": "text/html", "origin": "http://evil.example"})
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "403 · Forbidden" in response.text and "evil.example" in response.text
    # scripts only from our own files, none inline (the CSP would refuse one anyway)
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", response.text, re.IGNORECASE)


def test_a_large_form_is_refused_before_it_is_read(logged_in):
    response = _logout(logged_in, data={"csrf": csrf_of(logged_in), "pad": "x" * 70_000})
    assert response.status_code == 413 and response.json()["error"] == "form_too_large"


def test_the_login_form_needs_its_own_token_and_our_origin(client, alice):
    form = {"name": "alice", "password": "correct horse battery"}
    no_cookie = client.post("/login", data={**form, "csrf": "guessed"}, follow_redirects=False)
    assert no_cookie.status_code == 403 and "expired" in no_cookie.text
    token = login_token(client)
    cross = client.post(
        "/login", data={**form, "csrf": token}, headers={"origin": "http://evil.example"}
    )
    assert cross.status_code == 403 and cross.json()["error"] == "cross_origin"
    assert log_in(client).status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "///evil.example",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_next_never_leaves_the_server(client, alice, target):
    assert local_path(target) == "/"
    response = log_in(client, next=target)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_next_brings_a_browser_back_to_the_page_it_asked_for(client, alice):
    asked = client.get("/?tab=2", headers={"accept": "text/html"}, follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/login?next=%2F%3Ftab%3D2"
    page = client.get(asked.headers["location"])
    assert 'name="next" value="/?tab=2"' in page.text
    response = log_in(client, next="/?tab=2")
    assert response.headers["location"] == "/?tab=2"
