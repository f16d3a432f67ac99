"""`critic serve`, the torch thread policy of its workers, and the address it records so that other
commands print URLs that reach it.

While it runs, `critic serve` keeps its base URL and process id in $CRITIC_HOME/serve.json and
removes the file when it stops; `deploy create` and `deploy show` print their URLs there (unless
--base-url or CRITIC_PUBLIC_URL says otherwise). A file left by a server that was killed names a
process that no longer exists and is ignored."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from critic.cli.defaults import BASE_URL
from critic.cli.render import console, plural

__all__ = ["serve_command", "torch_threads", "base_url", "recorded_url", "recording_url", "url_of"]

ADDRESS_FILE = "serve.json"
SERVE_APP = "critic.serve:create_app_from_env"  # uvicorn imports it in each worker: an import string, not an object


def serve_command(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: every interface)."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
    workers: int = typer.Option(
        1, "--workers", help="Worker processes (each loads the enabled models)."
    ),
    api_only: bool = typer.Option(
        False,
        "--api-only",
        help="Serve the prediction API, health and tester only, without the workbench "
        "(for replicas).",
    ),
    import_dir: Path | None = typer.Option(
        None,
        "--import-dir",
        help="A directory the workbench may import dataset files from (no server path otherwise).",
        exists=True,
        file_okay=False,
        resolve_path=True,
    ),
    cors_origins: list[str] | None = typer.Option(
        None,
        "--cors-origin",
        metavar="ORIGIN",
        help="An origin (https://host[:port]) whose pages may call the prediction API (/v1) from "
        "a browser; repeat for more (replaces CRITIC_CORS_ORIGINS). None by default: CORS off. "
        "Never the workbench.",
    ),
) -> None:
    """Serve every enabled deployment over HTTP (FastAPI on uvicorn), the tester at /tester, and
    the workbench (log in at /login) unless --api-only."""
    import uvicorn

    from critic.deploy import list_deployments
    from critic.serve.settings import ServeSettings

    os.environ.setdefault(
        "CRITIC_TORCH_THREADS", str(torch_threads(workers))
    )  # read by each worker's ServeSettings
    os.environ["CRITIC_WORKBENCH"] = "0" if api_only else "1"  # read by create_app_from_env
    if import_dir is not None:
        os.environ["CRITIC_IMPORT_DIR"] = str(import_dir)  # read by each worker's ServeSettings
    if cors_origins:
        os.environ["CRITIC_CORS_ORIGINS"] = ",".join(_origins(cors_origins))
    settings = ServeSettings.from_env()  # a wrong CRITIC_* stops here, before a worker starts
    url = url_of(host, port)
    enabled = sum(d.enabled for d in list_deployments())
    console.print(
        f"serving {plural(enabled, 'enabled deployment')} on http://{host}:{port} "
        f"(tester: http://{host}:{port}/tester, docs: http://{host}:{port}/docs); Ctrl-C stops"
    )
    if settings.cors_origins:
        console.print(f"prediction API open to pages from: {', '.join(settings.cors_origins)}")
    if not api_only:
        announce_workbench(url, host)
    if settings.metrics and not _loopback(host):
        console.print(
            f"  [yellow]/metrics answers anyone who reaches {host} (deployment names and request "
            "counts, no token); CRITIC_METRICS=off turns it off[/]"
        )
    with recording_url(url):
        uvicorn.run(
            SERVE_APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )


def announce_workbench(url: str, host: str) -> None:
    """The workbench's address and how to log in: on its first start (no user yet), the admin's
    password, once; later, how to set a password again."""
    from critic.users import FIRST_ADMIN, ensure_first_admin

    password = ensure_first_admin()
    console.print(f"workbench: {url}/ (log in at {url}/login)")
    if not password:
        console.print(
            f"  log in as a workbench user (`critic users list`); `critic users passwd {FIRST_ADMIN}` "
            "sets a new password",
            soft_wrap=True,
        )
    if password:
        console.print(
            f"  first start: created the workbench user [bold]{FIRST_ADMIN}[/] with the password "
            f"[bold yellow]{password}[/] (shown once; change it with "
            f"`critic users passwd {FIRST_ADMIN}`)",
            soft_wrap=True,
        )
    if not _loopback(host):
        console.print(
            f"  [yellow]the workbench listens on {host}: anyone who reaches it sees the login "
            "page; put it behind HTTPS (its cookie is Secure only over HTTPS) or use --api-only[/]"
        )


def _origins(given: list[str]) -> list[str]:
    """--cors-origin values, each checked and written as a browser's Origin header."""
    from critic.errors import SettingsError
    from critic.serve.settings import cors_origin

    try:
        return [cors_origin(o) for o in given]
    except SettingsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cors-origin") from None


def _loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def torch_threads(workers: int, cores: int | None = None) -> int:
    """Torch threads per server worker: the cores shared out, at least one each, so that the workers'
    thread pools together are no larger than the machine (more would only contend for the cores)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


def url_of(host: str, port: int) -> str:
    """The base URL a client on this machine reaches `host:port` at (every interface: the loopback one)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def base_url(given: str | None) -> str:
    """Where printed URLs point: --base-url or CRITIC_PUBLIC_URL, else a running `critic serve`, else
    the address `critic serve` takes by default."""
    return given or recorded_url() or BASE_URL


def _address_file() -> Path:
    from critic.workspace import Workspace

    return Workspace.from_env().root / ADDRESS_FILE


def recorded_url() -> str | None:
    """The URL of a `critic serve` running on this workspace, if one is."""
    try:
        record = json.loads(_address_file().read_text())
        return record["url"] if _alive(int(record["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def recording_url(url: str) -> Iterator[None]:
    """Record `url` as this process's while the block runs; remove it after (if still ours), on
    Ctrl-C and on SIGTERM too."""
    path = _address_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    # uvicorn shuts down on SIGTERM, then raises it again under the handler it found: SIGTERM's default
    # would end the process before `finally`, so the handler found is one that exits through it
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main_thread else None
    try:
        yield
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        _forget(path)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # the shell's status for a process ended by the signal


def _forget(path: Path) -> None:
    try:
        if (
            json.loads(path.read_text()).get("pid") == os.getpid()
        ):  # a later server may have taken over
            path.unlink()
    except (OSError, ValueError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
