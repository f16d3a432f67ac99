"""Pretrained models come from local files first; the hub is asked only when it answers, so a
machine without a network fails in seconds with a message that says what to do."""

import socket
import time

import pytest
from huggingface_hub import constants

from critic.errors import MissingModel
from critic.text import wordpiece
from critic.text.wordpiece import from_pretrained, hub_reachable


@pytest.fixture
def online_mode(monkeypatch):
    """Not in offline mode (whatever the environment says), with no probe result remembered."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    wordpiece._answers.cache_clear()
    yield
    wordpiece._answers.cache_clear()


class Loader:
    """A stand-in for AutoConfig.from_pretrained: records its calls, fails offline."""

    def __init__(self, online_answer=None):
        self.calls, self.online_answer = [], online_answer

    def __call__(self, where, local_files_only=False):
        self.calls.append((where, local_files_only))
        if local_files_only or self.online_answer is None:
            raise OSError(f"no files for {where}")
        return self.online_answer


def test_offline_mode_never_probes(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(
        wordpiece, "_answers", lambda *a: pytest.fail("probed the network in offline mode")
    )
    assert hub_reachable() is False


def test_the_probe_sees_a_listening_hub(online_mode, monkeypatch):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{listener.getsockname()[1]}")
        assert hub_reachable() is True
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    assert hub_reachable() is False


def test_a_hub_name_is_tried_locally_then_online_only_when_the_hub_answers(monkeypatch):
    load = Loader(online_answer="config")
    monkeypatch.setattr(wordpiece, "hub_reachable", lambda: False)
    with pytest.raises(MissingModel, match=r"--pretrained DIR.*make minilm"):
        from_pretrained(load, "org/some-model")
    assert load.calls == [("org/some-model", True)]
    monkeypatch.setattr(wordpiece, "hub_reachable", lambda: True)
    assert from_pretrained(load, "org/some-model") == "config"
    assert load.calls[-2:] == [("org/some-model", True), ("org/some-model", False)]


def test_a_local_directory_is_never_looked_up_online(tmp_path, monkeypatch):
    load = Loader(online_answer="config")
    monkeypatch.setattr(
        wordpiece, "hub_reachable", lambda: pytest.fail("asked the hub about a local directory")
    )
    with pytest.raises(MissingModel, match="critic looked for"):
        from_pretrained(load, str(tmp_path))
    assert load.calls == [(str(tmp_path.resolve()), True)]


def test_a_fake_hub_name_fails_in_seconds_without_a_network(online_mode):
    from transformers import AutoConfig

    start = time.perf_counter()
    with pytest.raises(MissingModel) as found:
        from_pretrained(AutoConfig.from_pretrained, "nobody-here/no-such-model-xyz")
    assert time.perf_counter() - start < 10  # huggingface_hub's own retries took ~30 s here
    assert "--pretrained DIR" in str(found.value) and "make minilm" in str(found.value)
