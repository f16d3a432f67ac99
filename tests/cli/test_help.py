"""Every option and argument says what it is for, and flags read as flags (no `<bool>`)."""

import pytest
import typer

from critic.cli import app
from tests.test_cli import run


def _commands(group=None, path=()):
    """(path, click command) for every command and group under the root."""
    group = group or typer.main.get_command(app)
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


COMMANDS = [path for path, _ in _commands()]


def test_every_option_and_argument_has_help():
    missing = [
        f"{' '.join(path) or 'critic'} {param.name}"
        for path, command in _commands()
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == []


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "critic")
def test_flags_show_no_type(path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, *path, "--help")
    assert code == 0 and "--help" in out
    assert "<bool>" not in out


def test_the_training_numbers_are_explained(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "train", "--help")
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ --")}
    for flag in (
        "--epochs",
        "--batch-size",
        "--learning-rate,--lr",
        "--seed",
        "--sequence-length",
        "--max-words",
        "--weight-decay",
    ):
        words = lines[flag].split("<", 1)[1].split(">", 1)[1].strip(" │")
        assert len(words) > 10, (flag, lines[flag])


def test_no_help_text_loses_a_bracketed_word_to_rich_markup(monkeypatch, capsys):
    import re

    raw = [
        f"{' '.join(path)} {param.name}: {param.help}"
        for path, command in _commands()
        for param in command.params
        if re.search(r"(?<!\\)\[[a-z_/ ]+\]", getattr(param, "help", None) or "")
    ]
    assert raw == []  # write \\[model] in a help string: rich would drop an unescaped [model]
    code, out, _ = run(monkeypatch, capsys, "train", "--help")
    assert "[model]" in " ".join(out.split())
