"""What a job may run: a few critic commands, given as an argument list and never as a shell line.

The list is short on purpose: each command here writes only inside the workspace (a new dataset
version, an experiment, an evaluation) and prints nothing a job needs back. Names in the command
that become paths are checked here, before the job is queued, so a bad one is refused at once
instead of failing later in a log. Paths (`--config`, `data import --source`) are left to the
caller: the workbench allows only files under the directory its operator names."""

from __future__ import annotations

from collections.abc import Sequence

from critic.errors import SettingsError
from critic.names import parse_ref, validate_name

__all__ = ["COMMANDS", "kind_of", "check_command", "target_of", "check_target", "command_options"]

# kind → the words its argv starts with
COMMANDS: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "evaluate": ("evaluate",),
    "import": ("data", "import"),
    "split": ("data", "split"),
    "stats": ("data", "stats"),
    "cv": ("cv",),  # --name (the run; its folds are cv-NAME-fI) and --dataset checked like train's
    "trial": ("sweep", "trial"),  # one trial of a sweep (critic.experiments.sweep), named after it
}
# what the first word after the command names: an experiment, a dataset (version) or a sweep
_SUBJECT = {
    "evaluate": "experiment",
    "import": "dataset",
    "split": "ref",
    "stats": "ref",
    "trial": "sweep",
}
# options whose value is a name or a dataset reference (the same in every allowed command)
_NAMED = {"--name": "experiment", "--resume": "experiment", "--dataset": "ref", "-d": "ref"}
MAX_ARGS, MAX_ARG_CHARS = 256, 4096


def kind_of(argv: Sequence[str]) -> str:
    """The kind whose command words start `argv` (`["data", "import", ...]` → "import")."""
    for kind, words in COMMANDS.items():
        if tuple(argv[: len(words)]) == words:
            return kind
    raise SettingsError(_refusal(argv))


def check_command(kind: str, argv: Sequence[str]) -> tuple[str, ...]:
    """`argv` as a tuple when it is an allowed critic command of this kind with safe names."""
    if kind not in COMMANDS:
        raise SettingsError(f"unknown job kind {kind!r}; one of: {', '.join(COMMANDS)}")
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
        raise SettingsError("a job's command is a list of words, not one string")
    argv = tuple(argv)
    if len(argv) > MAX_ARGS or any(len(a) > MAX_ARG_CHARS or "\x00" in a for a in argv):
        raise SettingsError(
            f"a job's command takes at most {MAX_ARGS} words of {MAX_ARG_CHARS} characters, without NUL"
        )
    if kind_of(argv) != kind:
        raise SettingsError(f"a {kind} job runs `critic {' '.join(COMMANDS[kind])} ...`")
    for value, what in _names(kind, argv):
        _check(value, what)
    return argv


def target_of(kind: str, argv: Sequence[str]) -> str | None:
    """What the job makes or reads: the experiment (train --name or --resume, evaluate), the
    cross-validation (cv --name), the sweep (sweep trial), the dataset (data import) or the
    dataset version (data split, data stats); None when unnamed."""
    rest = argv[len(COMMANDS[kind]) :]
    if kind in _SUBJECT:
        return rest[0] if rest and not rest[0].startswith("-") else None
    return next((v for o, v in command_options(rest) if o in ("--name", "--resume")), None)


def check_target(target: str) -> str:
    """A target given by the caller: a name, or NAME@VERSION."""
    _check(target, "ref")
    return target


def _names(kind: str, argv: Sequence[str]) -> list[tuple[str, str]]:
    """(value, what) for the subject (the first word after the command) and the named options."""
    rest = argv[len(COMMANDS[kind]) :]
    found = []
    if kind in _SUBJECT:
        if not rest or rest[0].startswith("-"):
            what = "dataset" if _SUBJECT[kind] == "ref" else _SUBJECT[kind]
            raise SettingsError(
                f"name the {what} right after `{' '.join(COMMANDS[kind])}` in a job's command"
            )
        found.append((rest[0], _SUBJECT[kind]))
    return found + [
        (value, _NAMED[option]) for option, value in command_options(rest) if option in _NAMED
    ]


def command_options(words: Sequence[str]) -> list[tuple[str, str]]:
    """(option, value) for `--option value` and `--option=value`."""
    found = []
    for i, word in enumerate(words):
        option, eq, value = word.partition("=")
        if option.startswith("-") and eq:
            found.append((option, value))
        elif word.startswith("-") and i + 1 < len(words):
            found.append((word, words[i + 1]))
    return found


def _check(value: str, what: str) -> None:
    if what == "ref":
        parse_ref(value)
    else:
        validate_name(value, f"{what} name")


def _refusal(argv: Sequence[str]) -> str:
    shown = " ".join(map(str, argv[:2]))[:60] or "(nothing)"
    allowed = ", ".join(f"`critic {' '.join(w)}`" for w in COMMANDS.values())
    return f"a job runs one of {allowed}; not {shown!r}"
