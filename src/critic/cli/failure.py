"""What the `critic` command shows when a command fails, so that no traceback reaches a user.

- a CriticError (something the user can fix): its message on one line, exit 2;
- any other exception (a bug in critic): one line naming the exception and a log file that holds
  the traceback ($CRITIC_HOME/logs/critic-YYYYmmdd-HHMMSS-PID.log, or a temporary file when the
  workspace cannot be written), exit 1; with `--debug` or CRITIC_DEBUG=1, the traceback itself;
- Ctrl-C: `interrupted`, exit 130."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.markup import escape

import critic
from critic.workspace import Workspace

__all__ = ["say", "user_error", "bug", "interrupted", "debug_requested", "write_log", "LOGS"]

LOGS = "logs"  # under CRITIC_HOME


def say(line: str, error: bool = True) -> None:
    """One line on stderr, never wrapped (a log path stays whole); `error: ` in red before it."""
    # escaped: messages name config tables ("[model]"), which rich would take for markup and drop
    prefix = "[red]error:[/] " if error else ""
    Console(stderr=True).print(prefix + escape(line), highlight=False, soft_wrap=True)


def user_error(exc: BaseException) -> int:
    say(str(exc))
    return 2


def bug(exc: BaseException, debug: bool) -> int:
    """Report an unexpected exception: the traceback with `debug`, else one line and a log file."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
        return 1
    what = f"unexpected {type(exc).__name__}" + (f": {_one_line(exc)}" if str(exc) else "")
    try:
        where = f"the traceback is in {write_log(exc)}"
    except OSError as failed:  # neither the workspace nor the temporary folder can be written
        where = f"its traceback could not be saved ({failed})"
    say(f"{what} (a bug in critic; {where} — rerun with --debug to see it)")
    return 1


def interrupted(exc: BaseException) -> bool:
    """Whether Ctrl-C caused `exc` (typer turns a KeyboardInterrupt into a silent exit 130)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def debug_requested(argv: list[str], environ=os.environ) -> bool:
    """`critic --debug ...` (a root option: before the command's name) or CRITIC_DEBUG=1."""
    if environ.get("CRITIC_DEBUG", "").strip().lower() in ("1", "true", "t", "yes", "y", "on"):
        return True
    for arg in argv:
        if not arg.startswith("-"):  # the command's name: its own options follow
            return False
        if arg == "--debug":
            return True
    return False


def write_log(exc: BaseException) -> Path:
    """The traceback, with the version and the command line, in a new file; its path."""
    text = (
        f"critic {critic.__version__}, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}\ncommand: {' '.join(sys.argv)}\n\n"
        + "".join(traceback.format_exception(exc))
    )
    name = f"critic-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        folder = Workspace.from_env().root / LOGS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(text, encoding="utf-8")
    except OSError:
        fd, temporary = tempfile.mkstemp(prefix=name.removesuffix(".log") + "-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        path = Path(temporary)
    return path


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
