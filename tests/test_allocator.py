"""critic.allocator: glibc's mmap threshold fixed once per process, the user's own setting left
to win. (Its effect on a training run's memory is measured by bench/memory.py.)"""

from __future__ import annotations

import subprocess
import sys

import pytest


def _fresh(code: str, **env) -> str:
    import os

    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_threshold_is_set_once_and_the_environment_wins():
    code = (
        "from critic.allocator import fix_mmap_threshold as f; "
        "print(f(), f(), f(4096))"  # the first call decides; later ones say so
    )
    assert _fresh(code) == "True True True"
    assert _fresh(code, MALLOC_MMAP_THRESHOLD_="65536") == "False False False"
