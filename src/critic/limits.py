"""What one input may cost: the limits every door checks (an imported file, an uploaded one, an
HTTP request). Each has a default, an environment setting, and a message that names the setting,
so a refusal says what to change if the input was meant.

The defaults sit far above real data (the longest IMDB review has 13,704 characters; its tarball
inflates 3.6 times) and far below what hurts a laptop (a 400 MB field, a 1,000× zip bomb)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from critic.errors import SettingsError

__all__ = ["Limits", "SETTINGS"]

# field → the environment variable that sets it (also the name every message gives)
SETTINGS = {
    "max_text_chars": "CRITIC_MAX_TEXT_CHARS",
    "max_inflated_bytes": "CRITIC_MAX_INFLATED_BYTES",
    "max_compression_ratio": "CRITIC_MAX_COMPRESSION_RATIO",
    "max_json_depth": "CRITIC_MAX_JSON_DEPTH",
    "max_columns": "CRITIC_MAX_COLUMNS",
    "max_header_chars": "CRITIC_MAX_HEADER_CHARS",
}


@dataclass(frozen=True)
class Limits:
    # the longest text one row may hold; a longer row is rejected (a book is ~1 M characters)
    max_text_chars: int = 1_000_000
    # the most bytes a compressed source (zip member, .gz, .tar.gz) may inflate to, all members together
    max_inflated_bytes: int = 4 * 2**30
    # inflated ÷ compressed: text gzips 3–5×, a zip bomb 1,000× and more
    max_compression_ratio: float = 100.0
    # nesting of a JSON value (a JSONL row, a request body); a table row is 1 deep, a batch body 3
    max_json_depth: int = 32
    # columns of a table (header cells, or keys of a JSONL object)
    max_columns: int = 1_000
    # the header line of a CSV or TSV, in characters
    max_header_chars: int = 65_536

    def __post_init__(self):
        for f in fields(self):
            if not getattr(self, f.name) > 0:
                raise SettingsError(
                    f"{SETTINGS[f.name]} must be a positive number, got {getattr(self, f.name)!r}"
                )

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with every CRITIC_MAX_* variable that is set."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(SETTINGS[f.name])
            if raw is None:
                continue
            kind = float if f.name == "max_compression_ratio" else int
            try:
                values[f.name] = kind(raw.replace("_", ""))
            except ValueError:
                raise SettingsError(f"{SETTINGS[f.name]}={raw!r} is not a number") from None
        return cls(**values)
