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

_ESCAPE = re.compile(r"\\.", re.S)  # a backslash and what it escapes (\" is no quote)
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]], _STEP[[ord("]"), ord("}")]] = 1, -1


def depth(text: str) -> int:
    """The deepest nesting of [ and { in `text`, brackets inside strings not counted. Linear in
    time and memory (NumPy over the bytes, no backtracking regex): escapes are dropped, then a
    bracket is inside a string when an odd number of quotes comes before it."""
    if text.count("[") + text.count("{") <= 1:
        return text.count("[") + text.count("{")
    data = np.frombuffer(_ESCAPE.sub("", text).encode("utf-8", "surrogateescape"), dtype=np.uint8)
    outside = (np.cumsum(data == ord('"'), dtype=np.int32) & 1) == 0
    steps = np.where(outside, _STEP[data], 0).astype(np.int8)
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
