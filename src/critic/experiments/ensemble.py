"""Training an ensemble (`critic.models.ensemble`): each member preset is trained as an experiment
of its own (named <ensemble>-<preset>, seen live in `critic experiments` and the workbench), the
adopted experiments are checked, then every member's best checkpoint gives its probabilities on
the validation subset (those its training kept, else predicted now) and the combiner's weights
are fitted on them. The ensemble's checkpoint holds a copy of each
member's, so deleting a member experiment later does not break it.

Killed part-way, `critic train --resume ENSEMBLE` finds the members it planned (members.json)
and continues the unfinished one. `train` and `resume` are `critic.experiments.run`'s, passed in
(run.py calls this module: importing it back would be a cycle)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from critic.artifacts import CHECKPOINT_FORMAT, load_validation_probs, replace_dir, write_json
from critic.catalog import Catalog
from critic.config import ExperimentConfig
from critic.data.store import DatasetVersion
from critic.errors import ExperimentNotFound, SettingsError
from critic.experiments.configure import assemble_config, build_config, resolve_config
from critic.experiments.store import Experiment, free_name, get_experiment, list_experiments
from critic.models.ensemble import Ensemble, EnsembleSettings, combine, fit_combiner
from critic.predictor import Predictor, predict_in_chunks
from critic.train import EpochResult, Log
from critic.workspace import Workspace

__all__ = ["run_ensemble", "TRAIN_SAMPLE"]

PLAN_FILE = "members.json"  # {preset: member experiment name}, written before each is trained
TRAIN_SAMPLE = 1000  # train rows the ensemble's own train metrics are measured on (seeded)


def run_ensemble(
    catalog: Catalog,
    name: str,
    folder: Path,
    config: ExperimentConfig,
    version: DatasetVersion,
    workspace: Workspace,
    log: Log,
    *,
    train: Callable,
    resume: Callable,
    record: Callable[[list[dict]], None],
    manifest: Callable[[EpochResult], dict],
) -> None:
    """Train the members, fit the combiner, save best = last. `record(history)` writes the
    metrics; `manifest(result)` is the checkpoint manifest run.py writes for every model."""
    settings: EnsembleSettings = config.model
    classes = version.classes
    val_rows = version.subset("validation", ["text", "label"])
    if val_rows.empty:
        raise SettingsError(
            f"{version.ref} has no validation subset, and an ensemble fits its weights on one: "
            "make one with `critic data split`"
        )
    started = time.perf_counter()
    members = [_adopted(n, version, workspace) for n in settings.adopt]
    members += _trained(settings, name, folder, config, version, workspace, log, train, resume)
    log({"event": "phase", "phase": f"{len(members)} members: their validation probabilities"})
    predictors = [Predictor.from_checkpoint(m.checkpoint("best")) for m in members]
    y_val = _labels(val_rows, classes)
    val_probs = np.stack(
        [_val_probs(p, m, val_rows, len(classes), log) for p, m in zip(predictors, members)]
    )  # (M, N, K)
    weights, biases = fit_combiner(val_probs, y_val)
    ensemble = Ensemble(predictors, weights, biases, [m.name for m in members])
    log({"event": "phase", "phase": _weights_phrase(ensemble)})
    train_loss, train_acc = _train_sample(ensemble, version, classes, config.train.seed)
    val_loss, val_acc = _loss_accuracy(combine(val_probs, weights, biases), y_val)
    seconds = time.perf_counter() - started
    rows = int(sum(version.manifest.get("rows", {}).get("by_subset", {}).get("train", {}).values()))
    result = EpochResult(1, train_loss, train_acc, val_loss, val_acc, seconds, rows / seconds)
    found = manifest(result) | {
        "members": [
            _describe(m, w, val_probs[i], y_val) for i, (m, w) in enumerate(zip(members, weights))
        ],
        "biases": [float(b) for b in biases],
    }
    for which in ("best", "last"):
        _save(folder / "checkpoints" / which, ensemble, members, classes, found)
    record([result.as_dict()])
    log({"event": "epoch_end", "best": True, **result.as_dict()})


def _val_probs(predictor, member: Experiment, rows, n_classes: int, log: Log) -> np.ndarray:
    """(N, K): those its training kept with its best checkpoint (what this checkpoint computed
    on these rows then), else predicted now."""
    kept = load_validation_probs(member.checkpoint("best"), (len(rows), n_classes))
    if kept is not None:
        log({"event": "phase", "phase": f"validation: {member.name}'s, kept by its training"})
        return kept
    return predict_in_chunks(predictor, rows["text"].tolist(), f"validation: {member.name}")


def _trained(settings, name, folder, config, version, workspace, log, train, resume) -> list:
    """Each member preset trained (or its unfinished run resumed) as its own experiment."""
    plan_path = folder / PLAN_FILE
    plan = json.loads(plan_path.read_text()) if plan_path.exists() else {}
    out = []
    for preset in settings.members:
        taken = {e.name for e in list_experiments(workspace)}
        member = plan.get(preset) or _member_name(name, preset, taken)
        plan[preset] = member
        write_json(plan_path, plan)
        try:
            experiment = get_experiment(member, workspace)
        except ExperimentNotFound:
            experiment = None
        tagged = _member_log(log, member)
        if experiment is None:
            log({"event": "phase", "phase": f"train member {member} ({preset})"})
            experiment = train(
                _member_config(preset, config, version),
                name=member,
                workspace=workspace,
                log=tagged,
            )
        elif experiment.status != "done":
            log({"event": "phase", "phase": f"continue member {member} ({experiment.status})"})
            experiment = resume(member, workspace=workspace, log=tagged)
        out.append(experiment)
    return out


def _member_name(name: str, preset: str, taken: set[str]) -> str:
    """<ensemble>-<preset> (kim-cnn.v1 → kim-cnn), or with -N when that is taken."""
    wanted = f"{name}-{preset.split('.v')[0]}"
    return wanted if wanted not in taken else free_name(wanted, taken)


def _member_config(
    preset: str, config: ExperimentConfig, version: DatasetVersion
) -> ExperimentConfig:
    """The member preset on the ensemble's dataset; its seed, device and threads, and where its
    pretrained parts come from, when it is neural (the linear model has none of them)."""
    probe = assemble_config(version.ref, preset=preset)  # no file read before --pretrained
    if probe.encoder is None:  # linear: nothing to pass
        return resolve_config(probe)
    s = config.train
    return build_config(
        version.ref,
        preset=preset,
        train={"seed": s.seed, "device": s.device, "threads": s.threads},
        pretrained=config.model.pretrained,
    )


def _member_log(log: Log, member: str) -> Log:
    """A member's events shown in the ensemble's view: progress as it comes, an epoch's end as a
    line (the ensemble has one epoch of its own, at the end), the member's end dropped."""

    def forward(event: dict) -> None:
        kind = event["event"]
        if kind == "epoch_end":
            val = event.get("val_accuracy")
            shown = f"validation accuracy {val:.4f}" if val is not None else "no validation"
            log({"event": "phase", "phase": f"{member}: epoch {event['epoch']} done, {shown}"})
        elif kind == "phase":
            log({**event, "phase": f"{member}: {event['phase']}"})
        elif kind != "end":
            log({**event, "member": member})

    return forward


def _adopted(name: str, version: DatasetVersion, workspace: Workspace) -> Experiment:
    experiment = get_experiment(name, workspace)
    if experiment.status != "done":
        raise SettingsError(
            f"experiment {name!r} is {experiment.status}: an ensemble adopts finished experiments only"
        )
    if experiment.record.dataset != version.ref:
        raise SettingsError(
            f"experiment {name!r} was trained on {experiment.record.dataset}, the ensemble on "
            f"{version.ref}: its members must share the dataset version (and so its validation subset)"
        )
    if experiment.record.config.get("model", {}).get("kind") == "ensemble":
        raise SettingsError(f"experiment {name!r} is an ensemble: members cannot be ensembles")
    return experiment


def _labels(rows, classes: list[str]) -> np.ndarray:
    return rows["label"].map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)


def _loss_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    picked = probs[np.arange(len(labels)), labels].astype(np.float64)
    return float(-np.log(np.clip(picked, 1e-12, None)).mean()), float(
        (probs.argmax(1) == labels).mean()
    )


def _train_sample(ensemble: Ensemble, version: DatasetVersion, classes: list[str], seed: int):
    """Loss and accuracy on TRAIN_SAMPLE train rows drawn with the seed: the members predicting
    all 20,000 IMDB train reviews would take MiniLM ~10 min for a number that is only a check."""
    rows = version.subset("train", ["text", "label"])
    if len(rows) > TRAIN_SAMPLE:
        rows = rows.sample(TRAIN_SAMPLE, random_state=seed)
    probs = ensemble.predict_proba(rows["text"].tolist())
    return _loss_accuracy(probs, _labels(rows, classes))


def _weights_phrase(ensemble: Ensemble) -> str:
    shown = ", ".join(f"{n} {w:.3f}" for n, w in zip(ensemble.names, ensemble.weights))
    return f"weights fitted on validation: {shown}"


def _describe(member: Experiment, weight: float, probs: np.ndarray, labels: np.ndarray) -> dict:
    loss, accuracy = _loss_accuracy(probs, labels)
    return {
        "experiment": member.name,
        "preset": member.record.config.get("preset"),
        "weight": float(weight),
        "val_accuracy": accuracy,
        "val_loss": loss,
    }


def _save(folder: Path, ensemble: Ensemble, members: list[Experiment], classes, manifest) -> None:
    def fill(tmp: Path) -> None:
        ensemble.save(tmp, [d for d in manifest["members"]])
        for i, member in enumerate(members):
            shutil.copytree(member.checkpoint("best"), tmp / "members" / str(i))
        write_json(tmp / "classes.json", classes)
        write_json(tmp / "manifest.json", {"format": CHECKPOINT_FORMAT, **manifest})

    replace_dir(folder, fill)
