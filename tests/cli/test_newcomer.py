"""What a newcomer tripped on: settings a model ignores, a BERT preset without a network, a config
file for `models show`, counts in the singular, and printed URLs that miss the running server."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from critic.cli import render
from critic.cli.serve import base_url, recorded_url, recording_url, torch_threads, url_of
from tests.test_cli import _free_port, run

MY_MODEL = """
[encoder]
sequence_length = 50
max_words = 500

[model]
[[model.blocks]]
type = "Embedding"
dim = 16
[[model.blocks]]
id = "conv3"
type = "Conv1D"
filters = 8
kernel = 3
[[model.blocks]]
id = "pool3"
type = "GlobalMaxPool1D"
[[model.blocks]]
id = "conv5"
type = "Conv1D"
filters = 8
kernel = 5
inputs = ["embedding"]
[[model.blocks]]
id = "pool5"
type = "GlobalMaxPool1D"
[[model.blocks]]
type = "Concatenate"
inputs = ["pool3", "pool5"]
[[model.blocks]]
type = "Output"

[train]
epochs = 2
"""


def test_the_linear_model_refuses_settings_it_ignores(tiny_dataset, monkeypatch, capsys):
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--dataset",
        "tiny",
        "--preset",
        "linear",
        "--epochs",
        "3",
        "--lr",
        "0.1",
    )
    assert (
        code == 2
        and "--epochs" in err
        and "--learning-rate" in err
        and "[model]" in err
        and "ngram_max" in err
    )
    assert "Traceback" not in err


def test_experiments_list_and_show_give_only_the_settings_a_model_uses(
    tiny_dataset, monkeypatch, capsys
):
    assert (
        run(
            monkeypatch, capsys, "train", "--dataset", "tiny", "--preset", "linear", "--name", "lin"
        )[0]
        == 0
    )
    code, out, _ = run(monkeypatch, capsys, "experiments", "list")
    assert code == 0 and "n-grams 1-3" in out and "min_df 1, 2" in out and "C auto" in out
    assert "adam" not in out and "batch" not in out
    code, out, _ = run(monkeypatch, capsys, "experiments", "show", "lin")
    assert (
        code == 0
        and "ngram_max=3" in out
        and "learning_rate" not in out
        and "batch_size" not in out
    )


def test_a_bert_preset_without_its_model_fails_in_seconds_naming_the_fixes(
    tiny_dataset, monkeypatch, capsys
):
    from huggingface_hub import constants

    from critic.text import wordpiece

    # the real path: not in offline mode, so critic probes the hub (unreachable here) instead of retrying
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    wordpiece._answers.cache_clear()
    for preset, pretrained in (("bert", None), ("minilm", "nobody-here/no-such-model-xyz")):
        start = time.perf_counter()
        code, _, err = run(
            monkeypatch,
            capsys,
            "train",
            "--dataset",
            "tiny",
            "--preset",
            preset,
            *(["--pretrained", pretrained] if pretrained else []),
        )
        assert time.perf_counter() - start < 10
        assert (
            code == 2
            and "--pretrained DIR" in err
            and "make minilm" in err
            and "Retrying" not in err
        )


def test_models_show_draws_a_config_file(workspace, monkeypatch, capsys, tmp_path):
    config = tmp_path / "my-model.toml"
    config.write_text(MY_MODEL)
    code, out, _ = run(monkeypatch, capsys, "models", "show", str(config))
    assert code == 0 and "unknown preset" not in out
    assert (
        "seq (B, 8, 48)" in out and "vec (B, 16)" in out and "total parameters: 9,074" in out
    )  # 500·16 + (16·8·3 + 8) + (16·8·5 + 8) + (16·2 + 2)
    png = Path(out.split("graph: ")[1].split()[0])
    assert png == workspace.root / "reports" / "model-my-model.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = tmp_path / "elsewhere" / "graph.png"
    code, out, _ = run(monkeypatch, capsys, "models", "show", "kim-cnn", "--output", str(other))
    assert code == 0 and f"graph: {other}" in out and other.read_bytes()[:4] == b"\x89PNG"


def test_models_show_names_what_it_takes(workspace, monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "models", "show", "nope")
    assert code == 2 and "unknown preset 'nope'" in err and "config file" in err
    code, _, err = run(monkeypatch, capsys, "models", "show", str(tmp_path / "missing.toml"))
    assert code == 2 and "no such config file" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[model]\n[[model.blocks]]\ntype = "Embedding"\n[[model.blocks]]\ntype = "Output"\n'
    )
    code, _, err = run(monkeypatch, capsys, "models", "show", str(bad))
    assert code == 2 and "block 'embedding' (Embedding)" in err and "dim" in err


def test_counts_are_singular_for_one():
    assert render.plural(1, "error") == "1 error" and render.plural(2, "error") == "2 errors"
    assert render.plural(0, "row") == "0 rows" and render.plural(1_000, "row") == "1,000 rows"
    assert (
        render.plural(1, "class", "classes") == "1 class"
        and render.plural(3, "class", "classes") == "3 classes"
    )


def test_an_evaluation_with_one_error_says_1_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(render.console, "width", 250)
    metrics = {
        "accuracy": 0.75,
        "loss": 0.5,
        "baseline_accuracy": 0.5,
        "baseline_class": "negative",
        "incorrect": 1,
        "n": 4,
        "ece": 0.1,
    }
    ev = SimpleNamespace(
        experiment="lin",
        checkpoint="best",
        epoch=1,
        subset="test",
        metrics=metrics,
        seconds=0.1,
        dataset="tiny@1",
        own_dataset=True,
        file=lambda name: tmp_path / name,
    )
    render.print_evaluation(ev, brief=True)
    out = capsys.readouterr().out
    assert "1 error of 4" in out and "errors" not in out


def test_serve_shares_the_cores_among_its_workers():
    assert torch_threads(1, cores=16) == 16 and torch_threads(4, cores=16) == 4
    assert torch_threads(32, cores=16) == 1 and torch_threads(0, cores=2) == 2


def test_printed_urls_follow_the_running_server(workspace, monkeypatch):
    monkeypatch.delenv("CRITIC_PUBLIC_URL", raising=False)
    assert base_url(None) == "http://127.0.0.1:8000"
    with recording_url("http://127.0.0.1:9123"):
        assert recorded_url() == base_url(None) == "http://127.0.0.1:9123"
        assert base_url("https://critic.example.org") == "https://critic.example.org"
    assert recorded_url() is None and not (workspace.root / "serve.json").exists()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (workspace.root / "serve.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9124", "pid": int(dead.stdout)})
    )
    assert base_url(None) == "http://127.0.0.1:8000"  # a killed server's file is ignored
    assert url_of("0.0.0.0", 80) == "http://127.0.0.1:80" and url_of("::", 81) == "http://[::1]:81"


def test_deploy_create_prints_the_address_of_critic_serve(
    tiny_dataset, workspace, monkeypatch, capsys
):
    monkeypatch.delenv("CRITIC_PUBLIC_URL", raising=False)
    assert (
        run(
            monkeypatch, capsys, "train", "--dataset", "tiny", "--preset", "linear", "--name", "lin"
        )[0]
        == 0
    )
    port = _free_port()
    server = subprocess.Popen(
        ["timeout", "120", sys.executable, "-m", "critic.cli", "serve", "--port", str(port)],
        env={**os.environ, "CRITIC_HOME": str(workspace.root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    record = workspace.root / "serve.json"
    try:
        deadline = time.monotonic() + 60
        while not record.exists():
            assert time.monotonic() < deadline and server.poll() is None, (
                server.stderr.read().decode()
            )
            time.sleep(0.1)
        code, out, _ = run(monkeypatch, capsys, "deploy", "create", "lin", "--name", "web")
        assert (
            code == 0
            and f"http://127.0.0.1:{port}/v1/deployments/web/predict" in out
            and ":8000" not in out
        )
        monkeypatch.setenv("CRITIC_PUBLIC_URL", "https://critic.example.org")
        code, out, _ = run(monkeypatch, capsys, "deploy", "show", "web")
        assert code == 0 and "https://critic.example.org/v1/deployments/web/predict" in out
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    assert not record.exists()  # removed when the server stops
    monkeypatch.delenv("CRITIC_PUBLIC_URL")
    code, out, _ = run(monkeypatch, capsys, "deploy", "show", "web")
    assert code == 0 and "http://127.0.0.1:8000/v1/deployments/web/predict" in out


@pytest.mark.parametrize("flag", ["--epochs", "--batch-size", "--seed", "--device", "--threads"])
def test_each_ignored_flag_is_named(tiny_dataset, monkeypatch, capsys, flag):
    value = {"--device": "cpu"}.get(flag, "2")
    code, _, err = run(
        monkeypatch, capsys, "train", "--dataset", "tiny", "--preset", "linear", flag, value
    )
    assert code == 2 and flag in err
