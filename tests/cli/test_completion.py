"""Shell completion: the script is produced, and completing a word runs the app (fast)."""

import os
import shutil
import subprocess
import sys
import time

import pytest


def _critic(*args: str, **env: str) -> subprocess.CompletedProcess:
    # the installed entry point, so the program name (and the completion variable) are the user's
    exe = shutil.which("critic", path=os.path.dirname(sys.executable)) or "critic"
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )


def _complete(words: str) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    done = _critic(_CRITIC_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(cword))
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_commands_and_subcommands_complete():
    assert _complete("critic da") == ["data"]
    assert set(_complete("critic ")) >= {
        "quickstart",
        "train",
        "evaluate",
        "predict",
        "serve",
        "data",
        "experiments",
        "models",
        "deploy",
    }
    assert _complete("critic deploy ro") == ["rotate-token"]
    assert "--preset" in _complete("critic train --pre")


def test_completion_is_fast():
    start = time.perf_counter()
    _complete("critic experiments c")
    assert time.perf_counter() - start < 2.0  # it runs the app once per keypress


@pytest.mark.parametrize(
    "shell,marker", [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --command")]
)
def test_show_completion_prints_the_script(shell, marker):
    done = _critic("--show-completion", shell, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "_CRITIC_COMPLETE" in done.stdout


def test_install_and_show_completion_are_in_the_help():
    done = _critic("--help", COLUMNS="120")
    assert "--install-completion" in done.stdout and "--show-completion" in done.stdout
