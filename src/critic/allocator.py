"""glibc's malloc under PyTorch on a CPU: a fixed mmap threshold, so freed activations go back.

glibc serves an allocation above its mmap threshold with mmap and gives it back to the system
when it is freed, but it raises the threshold to the largest block freed so far (up to 32 MiB).
After the first large activation of a training run is freed, every later one comes from the
heap; batches trimmed to their longest text ask for ever-different sizes, the heap's free space
fragments, and the process's RSS climbs through the run without the model needing it. A threshold
set once (mallopt) turns the sliding off: blocks of 1 MiB and more are mapped and unmapped.

Measured (docs/benchmarks.md, "Peak memory"): 20 MiniLM batches of 32 at length 256, peak RSS
2,070 → 1,467 MB; one Kim CNN epoch over the 20,000 IMDB train reviews (batches of 1,024 at length
650), 2,552 → 1,188 MB in training and 3,487 → 1,658 MB at its validation, the same losses to the
last digit and no slower (334 s against 385 s). Set in training only (`critic.train.fit`): in
prediction every mapped block is fresh pages to fault in, and MiniLM predicting the 25,000 IMDB
test reviews took over 16 min with it against 11.1 min without (bench/export.py).

`MALLOC_MMAP_THRESHOLD_` in the environment (glibc's own setting) is left to win; on a libc
without mallopt (macOS, musl) nothing is done."""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["fix_mmap_threshold", "MMAP_THRESHOLD"]

MMAP_THRESHOLD = 1 << 20  # bytes: activations and batches above it are mapped, then given back
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
_state: dict[str, bool] = {}


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Set glibc's mmap threshold once per process; True when it is set (now or before)."""
    if "done" in _state:
        return _state["done"]
    done = False
    if sys.platform.startswith("linux") and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        try:
            done = bool(ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, threshold))
        except (OSError, AttributeError):  # not glibc
            done = False
    _state["done"] = done
    return done
