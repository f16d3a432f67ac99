"""Experiment liveness: a run whose process ended unreaped (a zombie) is not running."""

import os
import socket
import subprocess
import sys
import time

from critic.experiments.store import _alive


def test_a_zombie_owner_is_not_alive():
    child = subprocess.Popen(
        [sys.executable, "-c", "pass"]
    )  # never waited for: a zombie when it ends
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{child.pid}/stat") as f:
            if f.read().rpartition(")")[2].split()[0] == "Z":
                break
        time.sleep(0.02)
    try:
        assert not _alive(f"{socket.gethostname()}:{child.pid}")
        assert _alive(f"{socket.gethostname()}:{os.getpid()}")
    finally:
        child.wait()
