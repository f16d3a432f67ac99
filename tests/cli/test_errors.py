"""No traceback reaches a CLI user: critic's own errors are one line (exit 2); a bug is one line
naming the log file that holds its traceback (exit 1), or the traceback with --debug; Ctrl-C
prints `interrupted` (exit 130)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import critic.data
from critic.cli import failure
from critic.errors import DatasetNotFound
from tests.conftest import run_cli

LOG_LINE = re.compile(
    r"^error: unexpected RuntimeError: the disk said no \(a bug in critic; the traceback is in "
    r"(?P<log>\S+\.log) — rerun with --debug to see it\)$"
)


run = run_cli  # critic ARGS in this process: (code, stdout, stderr)


def _raise(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.fixture
def broken_list(monkeypatch):
    """`critic data list` meets a bug: the library function it calls raises RuntimeError."""
    monkeypatch.setattr(critic.data, "list_versions", _raise(RuntimeError("the disk said no")))


def test_a_bug_is_one_line_naming_the_log_that_holds_the_traceback(
    workspace, broken_list, monkeypatch, capsys
):
    monkeypatch.delenv("CRITIC_DEBUG", raising=False)
    code, out, err = run(monkeypatch, capsys, "data", "list")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    found = LOG_LINE.match(lines[0])
    assert found, lines[0]
    log = Path(found["log"])
    assert log.parent == workspace.root / "logs"
    assert re.fullmatch(rf"critic-\d{{8}}-\d{{6}}-{os.getpid()}\.log", log.name)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: the disk said no" in text and "data_list" in text
    assert "command: " in text and "data list" in text


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(workspace, broken_list, monkeypatch, capsys, how):
    monkeypatch.delenv("CRITIC_DEBUG", raising=False)
    if how == "env":
        monkeypatch.setenv("CRITIC_DEBUG", "1")
    args = ("--debug", "data", "list") if how == "flag" else ("data", "list")
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 1
    assert err.startswith("Traceback (most recent call last)")
    assert err.rstrip().endswith("RuntimeError: the disk said no")
    assert not (workspace.root / "logs").exists()


def test_a_critic_error_is_still_one_line_and_exit_2(workspace, monkeypatch, capsys):
    monkeypatch.setattr(
        critic.data,
        "list_versions",
        _raise(DatasetNotFound("no dataset 'x'; run `critic data import x` first [model]")),
    )
    code, _, err = run(monkeypatch, capsys, "data", "list")
    assert code == 2
    assert err == "error: no dataset 'x'; run `critic data import x` first [model]\n"


def test_ctrl_c_prints_interrupted_and_exits_130(workspace, monkeypatch, capsys):
    monkeypatch.setattr(critic.data, "list_versions", _raise(KeyboardInterrupt()))
    code, _, err = run(monkeypatch, capsys, "data", "list")
    assert (code, err) == (130, "interrupted\n")


def test_the_log_goes_to_a_temporary_file_when_the_workspace_cannot_be_written(
    tmp_path, monkeypatch, capsys
):
    blocked = tmp_path / "home"
    blocked.write_text("a file where the workspace folder should be")
    monkeypatch.setenv("CRITIC_HOME", str(blocked))
    monkeypatch.setattr(sys, "argv", ["critic", "data", "list"])
    try:
        raise RuntimeError("the disk said no")
    except RuntimeError as exc:
        assert failure.bug(exc, debug=False) == 1
    (line,) = capsys.readouterr().err.splitlines()
    log = Path(LOG_LINE.match(line)["log"])
    assert log.parent == Path(tempfile.gettempdir()) and log.name.startswith("critic-")
    assert "RuntimeError: the disk said no" in log.read_text()
    log.unlink()


@pytest.mark.parametrize(
    "argv,wanted",
    [
        (["--debug", "data", "list"], True),
        (["data", "list", "--debug"], False),  # a command's own option, not the root's
        (["data", "import", "x", "--source", "--debug"], False),
        (["data", "list"], False),
    ],
)
def test_debug_is_a_root_option(argv, wanted):
    assert failure.debug_requested(argv, environ={}) is wanted
    assert failure.debug_requested(argv, environ={"CRITIC_DEBUG": "1"}) is True


def test_the_installed_command_reports_a_bug_in_one_line(tmp_path):
    """The real entry point (the `critic` script) in a child process; the bug is planted by a
    sitecustomize module on PYTHONPATH."""
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(
        "import critic.data\n"
        "def list_versions(*args, **kwargs):\n"
        "    raise RuntimeError('the disk said no')\n"
        "critic.data.list_versions = list_versions\n"
    )
    script = Path(sys.executable).with_name("critic")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "critic.cli"]
    env = {**os.environ, "CRITIC_HOME": str(tmp_path / "home"), "PYTHONPATH": str(plant)}
    env.pop("CRITIC_DEBUG", None)
    done = subprocess.run(
        [*command, "data", "list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.splitlines()
    log = Path(LOG_LINE.match(line)["log"])
    assert log.parent == tmp_path / "home" / "logs"
    assert "RuntimeError: the disk said no" in log.read_text()
    debug = subprocess.run(
        [*command, "--debug", "data", "list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
