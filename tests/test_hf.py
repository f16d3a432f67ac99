"""transformers imported from several threads at once (the workbench's warm-up thread and its
requests): through critic.hf every thread gets its names. A plain `from transformers import
AutoConfig` in 8 threads of a fresh interpreter failed in 7 of them (transformers 5.24)."""

from __future__ import annotations

import subprocess
import sys

RACE = """
import threading
from critic.hf import transformers_names
errors, start = [], threading.Barrier(8)
def load():
    start.wait()
    try:
        transformers_names("AutoConfig", "AutoModel", "AutoTokenizer")
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=load) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(errors), errors[:1])
"""


def test_eight_threads_importing_transformers_at_once_all_get_its_names():
    for _ in range(2):  # a fresh interpreter each time: the race is in the first import
        done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.strip() == "0 []", done.stdout + done.stderr
