"""How a server process behaves: limits and refresh, metrics and CORS, read from the environment
(CRITIC_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from critic.errors import SettingsError
from critic.limits import SETTINGS, Limits

__all__ = ["ServeSettings", "cors_origin"]


@dataclass(frozen=True)
class ServeSettings:
    max_body_bytes: int = (
        1_000_000  # CRITIC_MAX_BODY_BYTES: a request body above this is refused (413)
    )
    max_batch: int = 256  # CRITIC_MAX_BATCH: texts per batch request (JSON rows or form fields)
    # CRITIC_MAX_EXPLAIN: texts explained per request ("explain": true); a neural model's explanation
    # costs ~16-128 forward and backward passes (Integrated Gradients), the linear model's ~nothing
    max_explain: int = 32
    refresh_seconds: float = 1.0  # CRITIC_REFRESH_SECONDS: how stale the deployment cache may be
    # CRITIC_TORCH_THREADS: torch threads per worker; `critic serve` sets cores ÷ workers, because
    # workers whose thread pools together exceed the cores spin against each other (measured: a Kim CNN
    # at 16 concurrent requests fell from 543 to 39 requests/s with 2 workers × 2 threads on 2 cores)
    torch_threads: int = 0
    # CRITIC_MAX_JSON_DEPTH: a JSON body nested deeper is refused (413) before it is parsed; a batch
    # body is 3 deep. The same setting limits JSONL rows (critic.limits)
    max_json_depth: int = Limits.max_json_depth
    # CRITIC_SESSION_HOURS: how long a workbench login lasts (counted from the login, not sliding)
    session_hours: float = 12.0
    # CRITIC_MAX_UPLOAD_BYTES: a workbench upload above this is refused (413); streamed to disk
    max_upload_bytes: int = 2 * 1024**3
    # CRITIC_IMPORT_DIR (`critic serve --import-dir DIR`): the only server directory the workbench
    # may import files from; None: the browser can upload, or name a URL, but no server path
    import_dir: str | None = None
    # CRITIC_WORDPIECE_SOURCE: the tokenizer whose WordPiece tokens the workbench's coverage counts
    # (a model directory or hub name, as `critic data stats --tokenizer`)
    wordpiece_source: str = "sentence-transformers/all-MiniLM-L6-v2"
    # CRITIC_METRICS (on | off): GET /metrics answers Prometheus metrics, without a token (a scraper
    # on a private network usually has none); they hold deployment names and counts, never a token
    metrics: bool = True
    # CRITIC_CORS_ORIGINS (`critic serve --cors-origin`): the exact origins (https://host[:port],
    # comma-separated) whose pages may call the prediction API (/v1/...) from a browser; empty: none
    # (CORS off). Never the workbench's pages: they are a control plane behind a cookie
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> ServeSettings:
        return cls(
            max_body_bytes=_number("CRITIC_MAX_BODY_BYTES", cls.max_body_bytes, int),
            max_batch=_number("CRITIC_MAX_BATCH", cls.max_batch, int),
            max_explain=_positive("CRITIC_MAX_EXPLAIN", cls.max_explain),
            refresh_seconds=_number("CRITIC_REFRESH_SECONDS", cls.refresh_seconds, float),
            torch_threads=_number("CRITIC_TORCH_THREADS", cls.torch_threads, int),
            max_json_depth=_positive(SETTINGS["max_json_depth"], cls.max_json_depth),
            session_hours=_positive_hours("CRITIC_SESSION_HOURS", cls.session_hours),
            max_upload_bytes=_positive("CRITIC_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            import_dir=_directory("CRITIC_IMPORT_DIR"),
            wordpiece_source=os.environ.get("CRITIC_WORDPIECE_SOURCE") or cls.wordpiece_source,
            metrics=_switch("CRITIC_METRICS", cls.metrics),
            cors_origins=_origins("CRITIC_CORS_ORIGINS"),
        )


def _number(key: str, default, kind):
    raw = os.environ.get(key)
    try:
        return kind(raw) if raw is not None else default
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not a number") from None


def _positive(key: str, default: int) -> int:
    value = _number(key, default, int)
    if value < 1:
        raise SettingsError(f"{key} must be a positive number, got {value!r}")
    return value


def _positive_hours(key: str, default: float) -> float:
    value = _number(key, default, float)
    if not 0 < value <= 24 * 366:
        raise SettingsError(
            f"{key} must be a number of hours above 0 (at most a year), got {value!r}"
        )
    return value


def _directory(key: str) -> str | None:
    """An existing directory, resolved (symlinks followed), or None when the variable is unset."""
    raw = os.environ.get(key)
    if not raw:
        return None
    from pathlib import Path

    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise SettingsError(f"{key}={raw!r} is not a directory")
    return str(path)


def _switch(key: str, default: bool) -> bool:
    raw = os.environ.get(key, "").strip().lower()
    if not raw:
        return default
    if raw not in _SWITCH:
        raise SettingsError(f"{key}={raw!r}: write on or off")
    return _SWITCH[raw]


_SWITCH = {"on": True, "1": True, "true": True, "off": False, "0": False, "false": False}


def _origins(key: str) -> tuple[str, ...]:
    raw = os.environ.get(key, "")
    try:
        return tuple(dict.fromkeys(cors_origin(o) for o in raw.split(",") if o.strip()))
    except SettingsError as exc:
        raise SettingsError(f"{key}: {exc}") from None


def cors_origin(raw: str) -> str:
    """`raw` as the Origin header a browser sends (scheme://host[:port], lower case, no default port),
    or SettingsError: a path, a query, a user, a wildcard or another scheme than http(s)."""
    text = raw.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise SettingsError(f"{text!r} is not an origin: write scheme://host[:port]") from None
    host = parts.hostname or ""
    if "*" in text:
        raise SettingsError(f"{text!r}: name each origin, no wildcard (*)")
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise SettingsError(f"{text!r} is not an origin: write http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(f"{text!r} has a path: an origin is scheme://host[:port] only")
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")
