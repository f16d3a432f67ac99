"""Running experiments: train a new one or resume one, writing checkpoints (best and last),
per-epoch metrics and resume state into its folder (see `critic.experiments.store`), and keeping
its catalog row true: "running" while it runs, then done, stopped or failed.

On several processes (`nproc`, or a group torchrun started: `critic.distributed`) rank 0 does all
of the above and tells the other ranks what to train (`_Plan`); they read the dataset's and the
run's files, train beside it, and never open the catalog."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import critic
from critic.artifacts import (
    load_checkpoint,
    load_state,
    save_checkpoint,
    save_linear_checkpoint,
    save_state,
    write_json,
)
from critic.catalog import Catalog, DatasetRecord, ExperimentRecord, open_catalog
from critic.config import ExperimentConfig
from critic.data.store import DatasetVersion, load_version
from critic.distributed import Ranks, current, follow, launch, lead, rank_device, seed_rank
from critic.errors import SettingsError
from critic.experiments.ensemble import run_ensemble
from critic.experiments.events import EVENTS_FILE, EventWriter
from critic.experiments.store import Experiment, free_name, get_experiment, now, owner
from critic.models.ensemble import EnsembleSettings
from critic.models.graph import GraphModel
from critic.models.linear import LinearSettings, NBLinear
from critic.models.pretrained import load_pretrained_weights, pretrain_embeddings
from critic.names import validate_name
from critic.text.encoders import Encoder, encoder_for
from critic.text.spec import PAD
from critic.train import Data, EpochResult, Log, fit, make_optimizer, resolve_device
from critic.workspace import Workspace

__all__ = ["train_experiment", "resume_experiment"]


@dataclass(frozen=True)
class _Plan:
    """What rank 0 tells the other ranks to train."""

    name: str
    folder: str  # the experiment's folder, relative to the workspace root (shared by every node)
    config: ExperimentConfig
    dataset: DatasetRecord  # its path is relative to the workspace root too
    resume: bool


def train_experiment(
    config: ExperimentConfig,
    *,
    name: str | None = None,
    workspace: Workspace | None = None,
    log: Log = lambda event: None,
    nproc: int = 1,
) -> Experiment | None:
    """Train a new experiment to the end (or early stop) and return it. `nproc` > 1: in that many
    new processes (DistributedDataParallel, `batch_size` the global batch). Inside a process group
    every rank calls this; rank 0 returns the experiment, the others None."""
    workspace = (workspace or Workspace.from_env()).ensure()
    if nproc > 1:
        _check_parallel(config, nproc)
        name = name or _free_name(open_catalog(workspace), config)
        kwargs = {"name": name, "workspace": workspace}
        launch(nproc, train_experiment, (config,), kwargs, log, then=_resume_hint(name, nproc))
        return get_experiment(name, workspace)
    ranks = current()
    if not ranks.leads:
        return _follow(workspace, ranks)
    plan = lead(lambda: _start(config, name, workspace, ranks), ranks)
    version = DatasetVersion(plan.dataset, workspace.root / plan.dataset.path)
    folder = workspace.root / plan.folder
    return _guarded(
        open_catalog(workspace),
        plan.name,
        folder,
        plan.config,
        version,
        workspace,
        log,
        ranks,
        False,
    )


def _start(config: ExperimentConfig, name: str | None, workspace: Workspace, ranks: Ranks) -> _Plan:
    """A new experiment's catalog row ("running") and folder."""
    _check_parallel(config, ranks.world)
    version = load_version(config.dataset, workspace)
    config = replace(config, dataset=version.ref)
    if config.encoder is not None:  # neural: min_steps may raise the epochs for a small table
        config = replace(config, train=config.train.for_rows(_train_rows(version)))
    catalog = open_catalog(workspace)
    name = (
        validate_name(name, "experiment name") if name is not None else _free_name(catalog, config)
    )
    folder = workspace.experiments / name
    model_name = config.preset or "custom"
    catalog.add_experiment(
        ExperimentRecord(
            name,
            version.ref,
            model_name,
            "running",
            now(),
            now(),
            0,
            None,
            0.0,
            None,
            folder.relative_to(workspace.root).as_posix(),
            config.as_dict(),
            owner(),
        )
    )
    if folder.exists():  # left by a run whose catalog row was never written: not an experiment
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_json(folder / "config.json", config.as_dict())
    return _Plan(name, folder.relative_to(workspace.root).as_posix(), config, version.record, False)


def _train_rows(version: DatasetVersion) -> int:
    """Labelled rows of the train subset, from the version's manifest (no data read)."""
    by_subset = version.manifest.get("rows", {}).get("by_subset", {})
    return sum(by_subset.get("train", {}).values())


def resume_experiment(
    name: str,
    *,
    workspace: Workspace | None = None,
    log: Log = lambda event: None,
    epochs: int | None = None,
    nproc: int = 1,
) -> Experiment | None:
    """Continue from the last finished epoch (weights, optimizer, RNG, epoch counter);
    `epochs` may raise the total. `nproc` and process groups: as `train_experiment` (a run may
    be resumed on another number of processes: the global batch stays the same)."""
    workspace = workspace or Workspace.from_env()
    if nproc > 1:
        _check_parallel(_saved_config(get_experiment(name, workspace)), nproc)
        kwargs = {"workspace": workspace, "epochs": epochs}
        launch(nproc, resume_experiment, (name,), kwargs, log, then=_resume_hint(name, nproc))
        return get_experiment(name, workspace)
    ranks = current()
    if not ranks.leads:
        return _follow(workspace, ranks)
    plan = lead(lambda: _restart(name, workspace, epochs, ranks), ranks)
    version = DatasetVersion(plan.dataset, workspace.root / plan.dataset.path)
    folder = workspace.root / plan.folder
    return _guarded(
        open_catalog(workspace), name, folder, plan.config, version, workspace, log, ranks, True
    )


def _restart(name: str, workspace: Workspace, epochs: int | None, ranks: Ranks) -> _Plan:
    """A stopped experiment's catalog row "running" again, with `epochs` when given."""
    experiment = get_experiment(name, workspace)
    if experiment.status == "running":
        raise SettingsError(
            f"experiment {name!r} is running in process {experiment.record.owner}; wait for it or stop it first"
        )
    config = _saved_config(experiment)
    _check_parallel(config, ranks.world)
    if epochs is not None and isinstance(config.model, LinearSettings):
        raise SettingsError(
            f"{name!r} is a linear model, fitted in one pass: it has no epochs to add"
        )
    if epochs is not None and isinstance(config.model, EnsembleSettings):
        raise SettingsError(
            f"{name!r} is an ensemble: it has no epochs to add (resume a neural member by its "
            "own name, then train the ensemble again adopting it)"
        )
    if epochs is not None:
        config = replace(config, train=replace(config.train, epochs=epochs))
        write_json(experiment.path / "config.json", config.as_dict())
    open_catalog(workspace).set_experiment_status(name, "running", now(), owner=owner())
    version = load_version(config.dataset, workspace)
    return _Plan(name, experiment.record.path, config, version.record, True)


def _resume_hint(name: str, nproc: int) -> str:
    return f"continue with `critic train --resume {name} --nproc {nproc}`"


def _saved_config(experiment: Experiment) -> ExperimentConfig:
    return ExperimentConfig.from_dict(json.loads((experiment.path / "config.json").read_text()))


def _check_parallel(config: ExperimentConfig, nproc: int) -> None:
    if nproc > 1 and isinstance(config.model, EnsembleSettings):
        raise SettingsError(
            "an ensemble trains its members one after the other in this process: drop --nproc "
            "(train a neural member with --nproc on its own, then adopt it: model.adopt)"
        )
    if nproc > 1 and isinstance(config.model, LinearSettings):
        raise SettingsError(
            "the linear model is fitted by scikit-learn in one pass, in one process: "
            "drop --nproc (it is for the neural models)"
        )


def _follow(workspace: Workspace, ranks: Ranks) -> None:
    """A rank other than 0: train what rank 0 planned, writing nothing."""
    plan: _Plan = follow(ranks)
    version = DatasetVersion(plan.dataset, workspace.root / plan.dataset.path)
    folder = workspace.root / plan.folder
    _run(None, plan.name, folder, plan.config, version, lambda event: None, plan.resume, ranks)


def _guarded(catalog, name, folder, config, version, workspace, log, ranks, resume) -> Experiment:
    """Run, and never leave the catalog saying "running" when the run ended otherwise. Every
    event also goes to the experiment's events.jsonl, for watchers in other processes."""
    log = EventWriter(folder / EVENTS_FILE, then=log)
    try:
        if isinstance(config.model, EnsembleSettings):
            _run_ensemble(catalog, name, folder, config, version, workspace, log)
        else:
            _run(catalog, name, folder, config, version, log, resume, ranks)
    except KeyboardInterrupt as exc:  # Ctrl-C, a job's cancel, or a RunStopped saying why
        why = str(exc) or "interrupted"
        catalog.set_experiment_status(
            name, "stopped", now(), f"{why}; continue with critic train --resume {name}"
        )
        log.write({"event": "end", "status": "stopped"})
        raise
    except BaseException as exc:
        catalog.set_experiment_status(name, "failed", now(), f"{type(exc).__name__}: {exc}")
        log.write({"event": "end", "status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        raise
    catalog.set_experiment_status(name, "done", now())
    log.write({"event": "end", "status": "done"})
    return get_experiment(name, workspace)


def _run(
    catalog: Catalog | None,
    name: str,
    folder: Path,
    config: ExperimentConfig,
    version: DatasetVersion,
    log: Log,
    resume: bool,
    ranks: Ranks,
) -> None:
    """Train on this process; `catalog` is None on the ranks other than 0, which write nothing."""
    if isinstance(config.model, LinearSettings):
        return _run_linear(catalog, name, folder, config, version, log, resume)
    s = config.train
    if s.threads:
        torch.set_num_threads(s.threads)
    device = rank_device(resolve_device(s.device), ranks)
    classes = version.classes
    train_rows, val_rows = (
        version.subset("train", ["text", "label"]),
        version.subset("validation", ["text", "label"]),
    )
    if val_rows.empty:
        log(
            {
                "event": "phase",
                "phase": f"{version.ref} has no validation subset: no epoch can be chosen, so "
                f"the best checkpoint is the last (`critic data split` makes one)",
            }
        )
    last = folder / "checkpoints" / "last"
    if resume and (last / "model.json").exists():
        model, encoder, _, _ = load_checkpoint(last, device)
    else:
        resume, model = False, None
        log(
            {
                "event": "phase",
                "phase": f"fit the {config.encoder.kind} encoder on {len(train_rows):,} train texts",
            }
        )
        encoder = encoder_for(config.encoder).fit(
            train_rows["text"]
        )  # train subset only, never validation or test
    if s.min_steps:
        per_epoch = s.steps_per_epoch(len(train_rows))
        log(
            {
                "event": "phase",
                "phase": f"{len(train_rows):,} train rows: {per_epoch:,} optimizer steps an "
                f"epoch, {s.epochs} epochs for at least {s.min_steps:,} steps (min_steps)",
            }
        )
    log({"event": "phase", "phase": "encode train and validation"})
    train = _data(encoder, train_rows, classes)
    val = _data(encoder, val_rows, classes) if len(val_rows) else None
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(
        devices=cuda
    ):  # seeds stay inside the run; the caller's RNG is untouched
        torch.manual_seed(s.seed)
        if model is None:
            model = GraphModel(config.model, encoder.input_spec, len(classes))
            for source in load_pretrained_weights(model):
                log({"event": "phase", "phase": f"loaded the pretrained weights of {source}"})
            for block in pretrain_embeddings(model, train.encoded, s.seed):
                log(
                    {
                        "event": "phase",
                        "phase": f"skip-gram word vectors from the train subset in {block}",
                    }
                )
            model.to(device)
        optimizer = make_optimizer(model, s)
        info = load_state(folder / "state", optimizer) if resume else {"epoch": 0, "history": []}
        seed_rank(s.seed, ranks, info["epoch"])
        history = info["history"]
        if ranks.world > 1:
            log({"event": "phase", "phase": _shares(ranks, s.batch_size, device)})
        if catalog is not None:
            _sync_metrics(catalog, name, folder, history, s.checkpoint_metric)
        save = (
            _checkpointer(
                catalog, name, folder, config, version, model, encoder, classes, optimizer, history
            )
            if catalog is not None
            else lambda result, is_best: None
        )
        best_epoch = _best_epoch(history, s.checkpoint_metric)
        fit(
            model,
            train,
            val,
            s,
            classes=classes,
            optimizer=optimizer,
            start_epoch=info["epoch"],
            best=_best_metric(history, s.checkpoint_metric),
            stale=info["epoch"] - (best_epoch or 0),
            checkpoint=save,
            log=log,
            padding=getattr(encoder.settings, "padding", "post"),
            ranks=ranks,
        )


def _run_ensemble(catalog, name, folder, config, version, workspace, log) -> None:
    """Members trained as experiments of their own, then the combiner (critic.experiments.ensemble)."""
    metric = config.train.checkpoint_metric
    run_ensemble(
        catalog,
        name,
        folder,
        config,
        version,
        workspace,
        log,
        train=train_experiment,
        resume=resume_experiment,
        record=lambda history: _sync_metrics(catalog, name, folder, history, metric),
        manifest=lambda result: _manifest(name, result, config, version),
    )


def _shares(ranks: Ranks, batch_size: int, device: torch.device) -> str:
    share = -(-batch_size // ranks.world)
    return (
        f"{ranks.world} processes (DistributedDataParallel on {device.type}): each global batch "
        f"of {batch_size} shared out, up to {share} rows a process"
    )


def _run_linear(catalog, name, folder, config, version, log, resume) -> None:
    """The linear model is fitted in one pass: it is recorded as one epoch, like any other run."""
    if resume and (folder / "checkpoints" / "last" / "model.json").exists():
        return  # nothing left to do: its one epoch is done
    classes = version.classes
    index = {c: i for i, c in enumerate(classes)}
    train_rows, val_rows = (
        version.subset("train", ["text", "label"]),
        version.subset("validation", ["text", "label"]),
    )
    y_train, y_val = (
        rows["label"].map(index).to_numpy(np.int64) for rows in (train_rows, val_rows)
    )
    start = time.perf_counter()
    model = NBLinear(config.model).fit(
        train_rows["text"].tolist(),
        y_train,
        len(classes),
        val_texts=val_rows["text"].tolist(),
        val_labels=y_val if len(val_rows) else None,
        log=log,
    )
    seconds = time.perf_counter() - start
    train_loss, train_acc = _loss_accuracy(model.fit_probabilities_["train"], y_train)
    val_loss, val_acc = (
        _loss_accuracy(model.fit_probabilities_["validation"], y_val)
        if len(val_rows)
        else (None, None)
    )
    result = EpochResult(
        1, train_loss, train_acc, val_loss, val_acc, seconds, len(train_rows) / seconds
    )
    history = [result.as_dict()]
    manifest = _manifest(name, result, config, version) | {
        "C": model.C_,
        "min_df": model.min_df_,
        # what validation chose from: every fit, in order
        "trials": [
            {"min_df": t.min_df, "C": t.C, "val_accuracy": t.accuracy, "val_loss": t.loss}
            for t in model.trials_
        ],
    }
    for which in ("last", "best"):
        save_linear_checkpoint(folder / "checkpoints" / which, model, classes, manifest)
    _sync_metrics(catalog, name, folder, history, config.train.checkpoint_metric)
    log({"event": "epoch_end", "best": True, **result.as_dict()})


def _loss_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-12, None)).mean()), float(
        (probs.argmax(1) == labels).mean()
    )


def _manifest(name, result, config, version) -> dict:
    return {
        "experiment": name,
        "epoch": result.epoch,
        "metrics": result.as_dict(),
        "config": config.as_dict(),
        "dataset": version.ref,
        "dataset_fingerprint": version.record.fingerprint,
        "critic_version": critic.__version__,
        "saved": now(),
    }


def _data(encoder: Encoder, rows: pd.DataFrame, classes: list[str]) -> Data:
    encoded = encoder.encode(rows["text"].tolist())
    labels = rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    lengths = (encoded != PAD).sum(1) if isinstance(encoded, np.ndarray) else None
    return Data(encoded, labels, encoder, lengths)


def _metric_value(row: dict, metric: str) -> float:
    if row["val_loss"] is None:
        return -row["epoch"]  # no validation: the last epoch is the best
    return row["val_loss"] if metric == "val_loss" else -row["val_accuracy"]


def _best_metric(history: list[dict], metric: str) -> float | None:
    return min((_metric_value(r, metric) for r in history), default=None)


def _best_epoch(history: list[dict], metric: str) -> int | None:
    return (
        min(history, key=lambda r: (_metric_value(r, metric), r["epoch"]))["epoch"]
        if history
        else None
    )


def _checkpointer(
    catalog, name, folder, config, version, model, encoder, classes, optimizer, history
):
    def save(result: EpochResult, is_best: bool) -> None:
        history.append(result.as_dict())
        manifest = _manifest(name, result, config, version)
        for which in ("last", "best") if is_best else ("last",):
            where = folder / "checkpoints" / which
            save_checkpoint(where, model, encoder, classes, manifest, result.val_probs)
        save_state(folder / "state", optimizer, {"epoch": result.epoch, "history": history})
        _sync_metrics(catalog, name, folder, history, config.train.checkpoint_metric)

    return save


def _sync_metrics(
    catalog: Catalog, name: str, folder: Path, history: list[dict], metric: str
) -> None:
    """metrics.jsonl and the catalog's epoch rows, rewritten from the saved history (idempotent, so
    a run killed between saving its state and recording its metrics heals on resume)."""
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    for row in history:
        catalog.record_epoch(
            name,
            row["epoch"],
            row,
            _best_epoch(history, metric),
            sum(r["seconds"] for r in history if r["epoch"] <= row["epoch"]),
            now(),
        )


def _free_name(catalog: Catalog, config: ExperimentConfig) -> str:
    return free_name(config.preset or "custom", {r.name for r in catalog.experiments()})
