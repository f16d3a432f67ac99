"""How a server process behaves: limits and refresh, read from the environment (CRITIC_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from critic.errors import SettingsError

__all__ = ["ServeSettings"]


@dataclass(frozen=True)
class ServeSettings:
    max_body_bytes: int = (
        1_000_000  # CRITIC_MAX_BODY_BYTES: a request body above this is refused (413)
    )
    max_batch: int = 256  # CRITIC_MAX_BATCH: texts per JSON batch request
    refresh_seconds: float = 1.0  # CRITIC_REFRESH_SECONDS: how stale the deployment cache may be
    # CRITIC_TORCH_THREADS: torch threads per worker; `critic serve` sets cores ÷ workers, because
    # workers whose thread pools together exceed the cores spin against each other (measured: a Kim CNN
    # at 16 concurrent requests fell from 543 to 39 requests/s with 2 workers × 2 threads on 2 cores)
    torch_threads: int = 0

    @classmethod
    def from_env(cls) -> ServeSettings:
        return cls(
            _number("CRITIC_MAX_BODY_BYTES", cls.max_body_bytes, int),
            _number("CRITIC_MAX_BATCH", cls.max_batch, int),
            _number("CRITIC_REFRESH_SECONDS", cls.refresh_seconds, float),
            _number("CRITIC_TORCH_THREADS", cls.torch_threads, int),
        )


def _number(key: str, default, kind):
    raw = os.environ.get(key)
    try:
        return kind(raw) if raw is not None else default
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not a number") from None
