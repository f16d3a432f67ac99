"""Names from Hugging Face `transformers`, imported under one lock. Its lazy top-level module is
not safe to import from two threads at once: a thread that imports it while another is still
importing it gets "cannot import name 'AutoConfig' from 'transformers'" (transformers 5.24, 7 of
8 threads in a fresh interpreter). The workbench's warm-up thread and its requests do exactly
that, so every critic module takes its transformers names from here."""

from __future__ import annotations

import importlib
import threading

__all__ = ["transformers_names"]

_LOCK = threading.Lock()


def transformers_names(*names: str) -> tuple:
    """`transformers_names("AutoConfig", "AutoModel")` → (AutoConfig, AutoModel), resolved
    (submodules loaded) while the lock is held."""
    with _LOCK:
        module = importlib.import_module("transformers")
        return tuple(getattr(module, name) for name in names)
