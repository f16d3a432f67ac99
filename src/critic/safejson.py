"""JSON from an untrusted source (a JSONL row, a request body): nesting deeper than a limit is
refused before the parser recurses into it (Python's decoder raises RecursionError near 1,000
levels), and every way the parser can fail comes out as one `UnsafeJSON` with a short reason
(`JSONTooDeep` for nesting)."""

from __future__ import annotations

import json
import re

import numpy as np

from critic.errors import JSONTooDeep, UnsafeJSON

__all__ = ["loads", "depth"]

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)  # a JSON string, escapes included
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]], _STEP[[ord("]"), ord("}")]] = 1, -1


def depth(text: str) -> int:
    """The deepest nesting of [ and { in `text`, brackets inside strings not counted."""
    if text.count("[") + text.count("{") <= 1:
        return text.count("[") + text.count("{")
    # one byte a character (brackets are ASCII): +1 for [ {, -1 for ] }, the running sum's peak
    data = np.frombuffer(_STRING.sub("", text).encode("utf-8", "surrogateescape"), dtype=np.uint8)
    steps = _STEP[data]
    return int(max(np.cumsum(steps, dtype=np.int32).max(initial=0), 0))


def loads(text: str | bytes, max_depth: int, setting: str = "CRITIC_MAX_JSON_DEPTH"):
    """`json.loads(text)`, or UnsafeJSON: nesting over `max_depth` (named by `setting`), invalid
    UTF-8, invalid JSON, or a number Python will not read (over 4,300 digits)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnsafeJSON(f"not UTF-8 (byte {exc.start})") from None
    # more brackets than the limit is needed for nesting past it; only then is the text scanned
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise JSONTooDeep(f"nested more than {max_depth} levels deep (the limit is {setting})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnsafeJSON(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise UnsafeJSON(str(exc).split(";")[0] or type(exc).__name__) from None
