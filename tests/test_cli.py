import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli, sentiment_rows, write_csv

run = run_cli  # critic ARGS in this process: (code, stdout, stderr)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(
        "review,sentiment\n"
        + "".join(f'"review {i}, with a comma",{"pn"[i % 2]}\n' for i in range(20))
        + "broken,row,here\n"
    )
    return path


def test_import_list_show_stats(workspace, monkeypatch, capsys, csv_file):
    code, out, _ = run(
        monkeypatch, capsys, "data", "import", "rev", "--source", str(csv_file), "-q"
    )
    assert (
        code == 0
        and "imported" in out
        and "rev@1" in out
        and "1 row rejected" in out
        and "rejects.csv" in out
    )
    code, out, _ = run(
        monkeypatch, capsys, "data", "import", "rev", "--source", str(csv_file), "-q"
    )
    assert code == 0 and "already stored as" in out
    code, out, _ = run(monkeypatch, capsys, "data", "list")
    assert code == 0 and "rev@1" in out and "16 / 4 / 0" in out
    code, out, _ = run(monkeypatch, capsys, "data", "show", "rev@1")
    assert code == 0 and "fingerprint" in out and "review" in out
    code, out, _ = run(monkeypatch, capsys, "data", "stats", "rev")
    assert code == 0 and "95 % at" in out and "length_histogram.png" in out
    code, out, _ = run(monkeypatch, capsys, "data", "split", "rev", "--validation-fraction", "0.5")
    assert code == 0 and "rev@2" in out


def test_errors_are_one_clear_line_and_exit_2(workspace, monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, "data", "show", "missing")
    assert code == 2 and "critic data import missing" in err and "Traceback" not in err
    code, _, err = run(monkeypatch, capsys, "data", "import", "../evil", "--source", str(tmp_path))
    assert code == 2 and "invalid dataset name" in err
    code, _, err = run(
        monkeypatch, capsys, "data", "import", "x", "--source", str(tmp_path / "nope.csv")
    )
    assert code == 2 and "no such file" in err


def test_usage_error_exit_code(workspace, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "data", "import", "x")
    assert code == 2 and "--source" in err


def test_version(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "--version")
    assert code == 0 and out.startswith("critic ")


def test_quickstart_with_a_local_tarball(workspace, monkeypatch, capsys, aclimdb_tar):
    monkeypatch.setenv("CRITIC_IMDB_SOURCE", str(aclimdb_tar))
    code, out, _ = run(monkeypatch, capsys, "quickstart", "--no-serve")
    assert (
        code == 0
        and "imdb@1" in out
        and "share of texts that fit" in out
        and "label_balance.png" in out
    )
    assert "linear.v2 on imdb@1" in out and "checkpoint best" in out
    assert "on validation: accuracy" in out and "on test: accuracy" in out and "report.html" in out
    assert "shown once" in out and "curl -X POST -F" in out and "critic serve" in out


def test_quickstart_serves_and_answers_its_printed_curl(workspace, aclimdb_tar):
    import json
    import os
    import re
    import subprocess
    import time

    port = _free_port()
    env = {**os.environ, "CRITIC_HOME": str(workspace.root), "COLUMNS": "250"}
    job = subprocess.Popen(
        [
            "timeout",
            "180",
            sys.executable,
            "-m",
            "critic.cli",
            "quickstart",
            "--source",
            str(aclimdb_tar),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        for line in job.stdout:  # until it says it is serving
            lines.append(line)
            if "serving" in line and "Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "serving" in out, out
        curl = next(line.strip() for line in lines if line.strip().startswith("curl -X POST -F"))
        for _ in range(150):  # the server (a fresh process) may need a moment after saying so
            done = subprocess.run(
                ["bash", "-c", curl + " --silent --show-error"], capture_output=True, text=True
            )
            if done.returncode == 0 and done.stdout:
                break
            time.sleep(0.2)
        answer = json.loads(done.stdout)
        assert answer["label"] in ("negative", "positive") and set(answer["probabilities"]) == {
            "negative",
            "positive",
        }
        assert re.search(r"tester page http://127\.0\.0\.1:\d+/tester\?url=", out)
    finally:
        os.killpg(job.pid, 15)
        job.wait(timeout=30)


def test_train_list_show_compare_resume(tiny_dataset, monkeypatch, capsys):
    args = [
        "train",
        "--dataset",
        "tiny",
        "--preset",
        "kim-cnn",
        "--sequence-length",
        "40",
        "--max-words",
        "300",
        "--batch-size",
        "8",
    ]
    code, out, err = run(monkeypatch, capsys, *args, "--epochs", "1", "--name", "first")
    assert code == 0 and "first" in out and "checkpoint best" in out and "epoch 1:" in err
    code, out, _ = run(
        monkeypatch, capsys, *args, "--epochs", "2", "--name", "second", "--learning-rate", "0.01"
    )
    assert code == 0
    code, out, _ = run(monkeypatch, capsys, "experiments", "list")
    assert code == 0 and "first" in out and "second" in out and "done" in out
    assert (
        "adam 0.001" in out and "adam 0.01" in out and "batch 8" in out
    )  # what a neural run is told apart by
    code, out, _ = run(monkeypatch, capsys, "experiments", "show", "second")
    assert code == 0 and "learning_rate=0.01" in out and "★" in out
    code, out, _ = run(monkeypatch, capsys, "experiments", "compare", "first", "second")
    assert code == 0 and "train.learning_rate" in out and "compare-first-second.png" in out
    png = Path(out.split("curves: ")[1].strip())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = run(monkeypatch, capsys, "train", "--resume", "first", "--epochs", "2")
    assert code == 0 and "2/2" not in out and "first" in out
    code, out, err = run(monkeypatch, capsys, "train", "--resume", "first", "--batch-size", "3")
    assert code == 2 and "only --epochs" in err


def test_train_errors(tiny_dataset, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "train", "--dataset", "tiny", "--preset", "nope")
    assert code == 2 and "unknown preset" in err and "kim-cnn" in err
    code, _, err = run(monkeypatch, capsys, "train", "--preset", "kim-cnn")
    assert code == 2 and "--dataset" in err
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--dataset",
        "tiny",
        "--preset",
        "kim-cnn",
        "--class-weight",
        "pos:2",
    )
    assert code == 2 and "LABEL=WEIGHT" in err
    code, _, err = run(monkeypatch, capsys, "experiments", "show", "ghost")
    assert code == 2 and "no experiment 'ghost'" in err


def test_models_list_and_show(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "models", "list")
    assert code == 0 and "kim-cnn" in out and "stacked-lstm" in out
    code, out, _ = run(monkeypatch, capsys, "models", "show", "multi-hot-mlp")
    assert (
        code == 0 and "505,252" in out
    )  # seed 003's 505,201 + one more output unit (softmax over 2)


def test_evaluate_predict_and_compare_from_the_command_line(
    tiny_dataset, monkeypatch, capsys, tmp_path
):
    assert (
        run(
            monkeypatch, capsys, "train", "--dataset", "tiny", "--preset", "linear", "--name", "lin"
        )[0]
        == 0
    )
    code, out, _ = run(monkeypatch, capsys, "evaluate", "lin", "--subset", "validation")
    assert (
        code == 0
        and "accuracy" in out
        and "confusion matrix" in out
        and "report.html" in out
        and "macro avg" in out
    )
    code, out, err = run(monkeypatch, capsys, "evaluate", "lin")
    assert code == 2 and "no test subset" in err
    elsewhere = write_csv(tmp_path / "elsewhere.csv", sentiment_rows(40, seed=5))
    assert (
        run(
            monkeypatch,
            capsys,
            "data",
            "import",
            "elsewhere",
            "--source",
            str(elsewhere),
            "--test-fraction",
            "0.5",
            "-q",
        )[0]
        == 0
    )
    code, out, _ = run(monkeypatch, capsys, "evaluate", "lin", "--dataset", "elsewhere")
    assert code == 0 and "on elsewhere@1 test" in " ".join(out.split())
    code, out, _ = run(monkeypatch, capsys, "predict", "lin", "a wonderful film", "a dull film")
    assert code == 0 and "positive" in out and "negative" in out
    source = tmp_path / "new.jsonl"
    source.write_text('{"text": "wonderful"}\n{"text": "awful"}\n')
    code, out, _ = run(monkeypatch, capsys, "predict", "lin", "--file", str(source))
    assert code == 0 and "predicted 2 rows" in out and (tmp_path / "new.predictions.csv").exists()
    code, out, err = run(monkeypatch, capsys, "predict", "lin")
    assert code == 2 and "give texts" in err
    code, out, _ = run(monkeypatch, capsys, "experiments", "compare", "lin")
    assert code == 0 and "evaluations" in out and "validation" in out


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_deploy_commands_and_the_printed_curl_against_critic_serve(
    tiny_dataset, workspace, monkeypatch, capsys
):
    import json
    import os
    import re
    import subprocess
    import time

    import httpx

    assert (
        run(
            monkeypatch, capsys, "train", "--dataset", "tiny", "--preset", "linear", "--name", "lin"
        )[0]
        == 0
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    code, out, _ = run(
        monkeypatch, capsys, "deploy", "create", "lin", "--name", "web", "--base-url", base
    )
    assert (
        code == 0
        and "shown once" in out
        and f"{base}/v1/deployments/web/predict" in out
        and "input name  text" in out
    )
    token = re.search(r"token\s+(critic_\S+)", out).group(1)
    curls = [line.strip() for line in out.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 2 and all(f'-u "{token}:"' in c for c in curls)
    assert f"{base}/tester?url=" in out
    code, out, _ = run(monkeypatch, capsys, "deploy", "list")
    assert code == 0 and "web" in out and "yes" in out and token not in out
    code, out, _ = run(monkeypatch, capsys, "deploy", "show", "web", "--base-url", base)
    assert code == 0 and "<token>" in out and token not in out
    server = subprocess.Popen(
        ["timeout", "120", sys.executable, "-m", "critic.cli", "serve", "--port", str(port)],
        env={**os.environ, "CRITIC_HOME": str(workspace.root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, (
                server.stderr.read().decode()
            )
            time.sleep(0.2)
        for command in curls:  # exactly as printed, in a shell
            answer = json.loads(
                subprocess.run(
                    ["bash", "-c", command + " --silent --show-error"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            assert answer["deployment"] == "web" and set(answer["probabilities"]) == {
                "negative",
                "positive",
            }
        code, out, _ = run(monkeypatch, capsys, "deploy", "rotate-token", "web")
        new = re.search(r"(critic_\S+)", out).group(1)
        time.sleep(1.2)  # the server re-reads the catalog at most once a second
        refused = subprocess.run(
            ["bash", "-c", curls[0] + " --silent -o /dev/null -w '%{http_code}'"],
            capture_output=True,
            text=True,
        )
        assert refused.stdout == "401"
        assert (
            httpx.post(
                f"{base}/v1/deployments/web/predict", data={"text": "dull"}, auth=(new, "")
            ).status_code
            == 200
        )
        assert run(monkeypatch, capsys, "deploy", "disable", "web")[0] == 0
        time.sleep(1.2)
        assert (
            httpx.post(
                f"{base}/v1/deployments/web/predict", data={"text": "dull"}, auth=(new, "")
            ).status_code
            == 404
        )
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    log = server.stderr.read().decode()
    assert token not in log and new not in log  # the server never logs a token
    assert run(monkeypatch, capsys, "deploy", "delete", "web")[0] == 0
    code, _, err = run(monkeypatch, capsys, "deploy", "show", "web")
    assert code == 2 and "no deployment 'web'" in err


def test_train_a_bert_preset_on_a_local_model_directory(
    tiny_dataset, tiny_bert, monkeypatch, capsys
):
    code, out, err = run(
        monkeypatch,
        capsys,
        "train",
        "--dataset",
        "tiny",
        "--preset",
        "minilm",
        "--pretrained",
        tiny_bert,
        "--sequence-length",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--name",
        "mini",
    )
    assert code == 0 and "minilm.v3 on tiny@1" in out and "loaded the pretrained weights" in err
    code, out, _ = run(monkeypatch, capsys, "predict", "mini", "a wonderful film")
    assert code == 0 and "positive" in out
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--dataset",
        "tiny",
        "--preset",
        "minilm",
        "--pretrained",
        str(Path(tiny_bert) / "missing"),
        "--name",
        "nope",
    )
    assert code == 2 and "critic looked for" in err
