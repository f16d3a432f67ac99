"""Users and passwords: scrypt hashes only, constant-time comparison, names and lengths checked,
the first start's admin, and `critic users`."""

from __future__ import annotations

import base64
import hmac

import pytest

from critic import users
from critic.catalog import open_catalog
from critic.errors import InvalidName, SettingsError
from critic.users import (
    add_user,
    authenticate,
    delete_user,
    ensure_first_admin,
    hash_password,
    list_users,
    set_password,
    verify_password,
)
from tests.conftest import catalog_rows, stored_bytes
from tests.test_cli import run
from tests.workbench.conftest import PASSWORD

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines


def test_a_hash_is_scrypt_with_its_parameters_and_a_random_salt():
    stored = hash_password(PASSWORD)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**15), "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert hash_password(PASSWORD) != stored  # a fresh salt each time
    assert PASSWORD not in stored


def test_the_right_password_passes_and_any_other_is_refused():
    stored = hash_password(PASSWORD, n=2**10)  # the cost is read back from the hash
    assert verify_password(PASSWORD, stored)
    for wrong in ("", PASSWORD + " ", PASSWORD.upper(), "correct horse batterz"):
        assert not verify_password(wrong, stored)
    for broken in (
        "",
        "plain",
        stored.replace("scrypt", "md5"),
        stored[:-4] + "!!!!",
        "scrypt$x$8$1$a$b",
    ):
        assert not verify_password(PASSWORD, broken)


def test_hashes_are_compared_in_constant_time(monkeypatch):
    calls, real = [], hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(users.hmac, "compare_digest", spy)
    stored = hash_password(PASSWORD, n=2**10)
    assert verify_password(PASSWORD, stored) and not verify_password("wrong password", stored)
    assert len(calls) == 2 and all(isinstance(a, bytes) and len(a) == 32 for a, _ in calls)


def test_the_catalog_holds_no_password(workspace):
    add_user("alice", PASSWORD, workspace=workspace)
    ((stored,),) = catalog_rows(workspace, "SELECT password_hash FROM users")
    assert stored.startswith("scrypt$") and verify_password(PASSWORD, stored)
    raw = stored_bytes(workspace)
    assert PASSWORD.encode() not in raw


def test_names_lengths_and_duplicates_are_checked(workspace):
    with pytest.raises(InvalidName):
        add_user("../root", PASSWORD, workspace=workspace)
    with pytest.raises(SettingsError, match="at least 10"):
        add_user("bob", "short", workspace=workspace)
    with pytest.raises(SettingsError, match="at most"):
        add_user("bob", "x" * 1025, workspace=workspace)
    add_user("bob", PASSWORD, workspace=workspace)
    with pytest.raises(SettingsError, match="exists"):
        add_user("bob", PASSWORD, workspace=workspace)
    assert [(u.name, u.admin) for u in list_users(workspace)] == [("bob", False)]


def test_authenticate_answers_alike_for_an_unknown_name_and_a_wrong_password(
    workspace, monkeypatch
):
    add_user("alice", PASSWORD, workspace=workspace)
    users._decoy_hash()  # made once per process, on the first unknown name
    hashed = []
    real = users._scrypt
    monkeypatch.setattr(users, "_scrypt", lambda *a: hashed.append(a[1:]) or real(*a))
    assert authenticate("alice", PASSWORD, workspace).name == "alice"
    for name, password in [("alice", "wrong password"), ("nobody", PASSWORD), ("../x", PASSWORD)]:
        assert authenticate(name, password, workspace) is None
    assert len(hashed) == 4  # one scrypt each, whether the name exists or not
    assert all(n == 2**15 for _, n, _, _ in hashed)


def test_a_new_password_or_a_deleted_user_ends_the_sessions(workspace):
    add_user("alice", PASSWORD, workspace=workspace)
    catalog = open_catalog(workspace)
    for key in ("a", "b"):
        catalog.add_session(
            key, "alice", "csrf", "2000-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"
        )
    set_password("alice", "another good password", workspace)
    assert catalog.session("a", "2001-01-01") is None and catalog.session("b", "2001-01-01") is None
    assert authenticate("alice", PASSWORD, workspace) is None
    assert authenticate("alice", "another good password", workspace) is not None
    catalog.add_session(
        "c", "alice", "csrf", "2000-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"
    )
    delete_user("alice", workspace)
    assert catalog.session("c", "2001-01-01") is None and list_users(workspace) == []
    with pytest.raises(SettingsError, match="no user 'alice'"):
        delete_user("alice", workspace)


def test_the_first_start_creates_admin_once(workspace):
    password = ensure_first_admin(workspace)
    assert len(password) >= 20
    assert authenticate("admin", password, workspace).admin
    assert ensure_first_admin(workspace) is None
    assert [u.name for u in list_users(workspace)] == ["admin"]


def test_cli_users_add_list_passwd_delete(workspace, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    code, out, _ = run(monkeypatch, capsys, "users", "add", "carol", "--admin", "--password-stdin")
    assert code == 0 and "added administrator carol" in out
    code, out, _ = run(monkeypatch, capsys, "users", "list")
    assert code == 0 and "carol" in out and "yes" in out
    monkeypatch.setattr("sys.stdin", _Lines("a brand new password"))
    code, out, _ = run(monkeypatch, capsys, "users", "passwd", "carol", "--password-stdin")
    assert code == 0 and authenticate("carol", "a brand new password", workspace)
    monkeypatch.setattr("sys.stdin", _Lines("short"))
    code, _, err = run(monkeypatch, capsys, "users", "add", "dave", "--password-stdin")
    assert code == 2 and "at least 10 characters" in err
    code, _, err = run(monkeypatch, capsys, "users", "add", "bad/name", "--password-stdin")
    assert code == 2 and "invalid user name" in err
    code, out, _ = run(monkeypatch, capsys, "users", "delete", "carol")
    assert code == 0 and list_users(workspace) == []
    code, _, err = run(monkeypatch, capsys, "users", "delete", "carol")
    assert code == 2 and "no user 'carol'" in err


def test_cli_asks_for_the_password_twice(workspace):
    from typer.testing import CliRunner

    from critic.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["users", "add", "erin"], input=f"{PASSWORD}\n{PASSWORD}x\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower() or "error" in result.output.lower()
    assert authenticate("erin", PASSWORD, workspace) is not None


class _Lines:
    def __init__(self, text: str):
        self.text = text + "\n"

    def readline(self) -> str:
        text, self.text = self.text, ""
        return text
