"""One model on several processes (critic.distributed): DDP with 2 gloo ranks on CPU, started by
`critic train --nproc 2` and as torchrun starts them; a rank SIGKILLed mid-run; the refusals.

The tolerance: with the same global batch, 2 ranks and 1 process differ only in the order float32
sums are taken (a batch's gradient summed per rank, then over the ranks); on this tiny model the
final weights agreed to 1e-7 after 3 and after 30 epochs (Adam). The tests allow 1e-5. The model
has no dropout, so no random draw depends on which rank runs a row."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from critic.data import import_dataset
from critic.distributed import Ranks, torchrun_environment
from critic.experiments.configure import build_config
from critic.experiments.run import resume_experiment, train_experiment
from critic.experiments.store import get_experiment, list_experiments
from critic.train import shard
from tests.conftest import sentiment_rows, write_csv
from tests.test_cli import run

WEIGHTS_ATOL = 1e-5  # the docs' figure too (docs/scale-out-gpu.md)

# Embedding → Conv1D → masked global max pool: no dropout (deterministic) and length-invariant, so
# batches are cut into length-sorted micro-batches (bucketing), differently on 1 and on 2 ranks.
# 64 train rows in batches of 21: the last batch has 1 row, so rank 1 runs that step idle.
CONFIG = """
[encoder]
kind = "words"
sequence_length = 40
max_words = 300

[model]
blocks = [
  {type = "Embedding", dim = 16},
  {type = "Conv1D", filters = 8, kernel = 3, activation = "relu"},
  {type = "GlobalMaxPool1D"},
  {type = "Output"},
]

[train]
batch_size = 21
threads = 1
epochs = 3
"""


@pytest.fixture
def ddp_setup(workspace, tmp_path) -> tuple[str, Path]:
    """The tiny dataset (64 train rows, 16 validation) and the config file."""
    ref = import_dataset(
        "tiny", write_csv(tmp_path / "tiny.csv", sentiment_rows(80)), progress=False
    ).version.ref
    config = tmp_path / "pool.toml"
    config.write_text(CONFIG)
    return ref, config


def _weights(experiment) -> dict:
    from safetensors.numpy import load_file

    return load_file(str(experiment.checkpoint("last") / "model.safetensors"))


def _assert_same_weights(a, b) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_allclose(wa[key], wb[key], rtol=0, atol=WEIGHTS_ATOL, err_msg=key)


def _env(workspace, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    return {**env, "CRITIC_HOME": str(workspace.root), "COLUMNS": "200", **extra}


# -- the pieces -------------------------------------------------------------------------------------


def test_the_ranks_share_out_each_global_batch():
    rows, lengths = np.array([7, 3, 9, 1, 4]), np.arange(10)[::-1].copy()
    parts = [shard(rows, lengths, Ranks(r, 2)) for r in range(2)]
    assert sorted(np.concatenate(parts).tolist()) == sorted(rows.tolist())  # disjoint, complete
    assert [len(p) for p in parts] == [3, 2]
    assert shard(rows, lengths, Ranks()) is rows  # one process: the batch as it is
    assert len(shard(rows[:1], None, Ranks(1, 2))) == 0  # fewer rows than ranks: an idle rank


def test_torchrun_is_recognised_by_its_variables():
    base = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    assert torchrun_environment(base) == 2
    assert torchrun_environment({**base, "MASTER_PORT": ""}) == 0
    assert torchrun_environment({}) == 0


def test_what_cannot_run_on_several_processes_is_refused(ddp_setup, monkeypatch, capsys):
    ref, _ = ddp_setup
    code, _, err = run(monkeypatch, capsys, "train", "-d", ref, "-p", "linear", "--nproc", "2")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the linear model is fitted by scikit-learn in one pass" in err and "--nproc" in err
    code, _, err = run(monkeypatch, capsys, "train", "-d", ref, "-p", "kim-cnn", "--nproc", "0")
    assert code == 2 and "--nproc must be at least 1, got 0" in err
    for key, value in {
        "RANK": "0",
        "WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29500",
    }.items():
        monkeypatch.setenv(key, value)
    code, _, err = run(monkeypatch, capsys, "train", "-d", ref, "-p", "kim-cnn", "--nproc", "2")
    assert code == 2 and "torchrun already started the processes; drop --nproc" in err
    assert list_experiments() == []  # nothing was started


# -- whole runs -------------------------------------------------------------------------------------


def test_ranks_started_as_torchrun_starts_them_match_one_process(ddp_setup, workspace, tmp_path):
    """Two `critic train` processes with torchrun's variables and its agent's store (held here, on
    127.0.0.1: torchrun's own would listen on every interface). Rank 1 gets a catalog URL that
    cannot be opened, so a rank other than 0 that touched the catalog would fail the run."""
    import torch.distributed as dist

    ref, config = ddp_setup
    one = train_experiment(build_config(ref, config_file=config), name="one")
    (tmp_path / "a-file").write_text("")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        store = dist.TCPStore(
            *("127.0.0.1", port),
            is_master=True,
            wait_for_workers=False,
            master_listen_fd=listener.fileno(),
        )
        listener.detach()
    ranks = [
        subprocess.Popen(
            [sys.executable, "-m", "critic.cli", "train", "-d", ref, "--config", str(config)]
            + ["--name", "two"],
            env=_env(
                workspace,
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                WORLD_SIZE="2",
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=str(port),
                TORCHELASTIC_USE_AGENT_STORE="True",
                GLOO_SOCKET_IFNAME="lo",
                **(
                    {"CRITIC_DATABASE_URL": f"sqlite:///{tmp_path}/a-file/c.sqlite"} if rank else {}
                ),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        outs = [rank.communicate(timeout=300)[0] for rank in ranks]
    finally:
        for rank in ranks:
            if rank.poll() is None:
                rank.kill()
        del store
    assert [rank.returncode for rank in ranks] == [0, 0], outs
    assert "checkpoint last:" in outs[0] and outs[1].strip() == ""  # rank 1 prints nothing
    two = get_experiment("two")
    assert two.status == "done" and two.record.epochs_done == 3
    _assert_same_weights(one, two)
    for a, b in zip(one.record.epochs, two.record.epochs, strict=True):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert a[key] == pytest.approx(b[key], abs=1e-6), (key, a["epoch"])
    assert "2 processes (DistributedDataParallel on cpu)" in (two.path / "events.jsonl").read_text()


@pytest.mark.drill("interrupted work")
def test_a_rank_killed_mid_run_stops_the_others_and_the_run_resumes(ddp_setup, workspace):
    ref, config = ddp_setup
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "critic.cli", "train", "-d", ref, "--config", str(config)),
            *("--epochs", "200", "--nproc", "2", "--name", "cut"),
        ],
        env=_env(workspace),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        metrics = workspace.experiments / "cut" / "metrics.jsonl"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if metrics.exists() and metrics.read_text():
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before a rank could be killed; make it longer"
        rank0 = int(get_experiment("cut").record.owner.rpartition(":")[2])  # it writes the row
        (rank1,) = [pid for pid in _ranks(proc.pid) if pid != rank0]
        os.kill(rank1, signal.SIGKILL)
        out, _ = proc.communicate(timeout=120)  # rank 0 does not wait for its peer for ever
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, out[-3000:]
    assert (
        "error: rank 1 of 2 was killed by SIGKILL; the others were stopped "
        "(continue with `critic train --resume cut --nproc 2`)" in " ".join(out.split())
    )
    cut = get_experiment("cut")
    assert cut.status in ("failed", "stopped", "killed")  # not "running": resumable
    done = cut.record.epochs_done
    assert 1 <= done < 200

    resumed = resume_experiment("cut", epochs=done + 1, nproc=2)
    assert resumed.status == "done" and resumed.record.epochs_done == done + 1
    # the resumed 2-rank run is the uninterrupted 1-process run, to the float tolerance
    whole = train_experiment(
        build_config(ref, config_file=config, train={"epochs": done + 1}), name="whole"
    )
    _assert_same_weights(whole, resumed)


def _ranks(parent: int) -> list[int]:
    """The spawned ranks among `parent`'s children (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]
