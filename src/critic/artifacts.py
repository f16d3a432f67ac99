"""Checkpoint files: safetensors for tensors, JSON for everything else, never pickle.

    <checkpoint>/
      model.safetensors    the weights
      model.json           format, graph spec, input spec, number of classes
      encoder/             tokenizer.json + encoder.json (the fitted encoder)
      classes.json         the class list, in output order
      manifest.json        format, resolved settings, dataset name@version and fingerprint,
                           epoch, metrics, critic version
      validation.safetensors  (neural) "probs": (N_val, n_classes) float32, the validation
                           subset's probabilities at this epoch, in the subset's row order
    <experiment>/state/    what resuming needs: optimizer.safetensors + state.json (epoch, best, RNG, history)

Folders are written beside their final place and renamed over it, so a reader (or a resume after
a kill) only ever sees a complete checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from critic.errors import SettingsError
from critic.models.graph import GraphModel, GraphSpec
from critic.models.linear import NBLinear
from critic.text.encoders import Encoder, InputSpec, load_encoder

__all__ = [
    "CHECKPOINT_FORMAT",
    "save_checkpoint",
    "save_linear_checkpoint",
    "load_checkpoint",
    "load_validation_probs",
    "save_state",
    "load_state",
    "write_json",
    "replace_dir",
]

CHECKPOINT_FORMAT = "critic.checkpoint/1"
STATE_FORMAT = "critic.train-state/1"


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def replace_dir(final: Path, fill) -> None:
    """Write a folder with `fill(tmp)` and atomically put it at `final`."""
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex}")
    tmp.mkdir(parents=True)
    try:
        fill(tmp)
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex}")
        if final.exists():
            os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


VALIDATION_PROBS = "validation.safetensors"
KEPT_PROBS = 20_000_000  # values (rows × classes): larger validation tables are not kept (80 MB)


def save_checkpoint(
    folder: Path,
    model: GraphModel,
    encoder: Encoder,
    classes: list[str],
    manifest: dict,
    val_probs: np.ndarray | None = None,
) -> None:
    """`val_probs`: the epoch's (N_val, n_classes) validation probabilities, kept beside the
    weights so that an ensemble need not predict the validation subset again."""

    def fill(tmp: Path) -> None:
        state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        write_json(
            tmp / "model.json",
            {
                "format": CHECKPOINT_FORMAT,
                "graph": model.spec.as_dict(),
                "input": asdict(encoder.input_spec),
                "n_classes": model.n_classes,
            },
        )
        encoder.save(tmp / "encoder")
        write_json(tmp / "classes.json", classes)
        write_json(tmp / "manifest.json", {"format": CHECKPOINT_FORMAT, **manifest})
        if val_probs is not None and val_probs.size <= KEPT_PROBS:
            save_file({"probs": torch.from_numpy(val_probs)}, str(tmp / VALIDATION_PROBS))

    replace_dir(folder, fill)


def load_validation_probs(folder: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """The validation probabilities kept with a checkpoint, or None when it has none of `shape`
    (a linear or older checkpoint, a table too large to keep)."""
    path = Path(folder) / VALIDATION_PROBS
    if not path.is_file():
        return None
    probs = load_file(str(path))["probs"].numpy()
    return probs if probs.shape == tuple(shape) else None


def save_linear_checkpoint(
    folder: Path, model: NBLinear, classes: list[str], manifest: dict
) -> None:
    """model.safetensors (ratios, weights, biases) + model.json + vocabulary.json, classes, manifest."""

    def fill(tmp: Path) -> None:
        model.save(tmp)
        write_json(tmp / "classes.json", classes)
        write_json(tmp / "manifest.json", {"format": CHECKPOINT_FORMAT, **manifest})

    replace_dir(folder, fill)


def load_checkpoint(
    folder: Path, device: str | torch.device = "cpu"
) -> tuple[GraphModel | NBLinear, Encoder | None, list[str], dict]:
    """(model, encoder or None for the linear model, classes, manifest)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "model.json").read_text())
    except FileNotFoundError:
        raise SettingsError(f"{folder} is not a critic checkpoint (no model.json)") from None
    if meta.get("kind") == "ensemble":  # its members load as Predictors (critic.predictor)
        raise SettingsError(
            f"{folder} is an ensemble of {len(meta.get('members', []))} models: critic evaluates "
            "and serves it (runtime torch), but it has no single graph to export; export its "
            "members one by one (critic export MEMBER-EXPERIMENT)"
        )
    if meta.get("kind") == "linear":
        classes = json.loads((folder / "classes.json").read_text())
        return (
            NBLinear.load(folder),
            None,
            classes,
            json.loads((folder / "manifest.json").read_text()),
        )
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise SettingsError(
            f"{folder}: checkpoint format {meta.get('format')!r}; this critic reads {CHECKPOINT_FORMAT}"
        )
    model = GraphModel(
        GraphSpec.from_dict(meta["graph"]), InputSpec(**meta["input"]), meta["n_classes"]
    )
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    model.to(device).eval()
    encoder = load_encoder(folder / "encoder")
    classes = json.loads((folder / "classes.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    return model, encoder, classes, manifest


# -- resume state -----------------------------------------------------------------------------------


def save_state(folder: Path, optimizer: torch.optim.Optimizer, info: dict) -> None:
    """Optimizer tensors to safetensors (flattened names), everything else (epoch, best metric,
    history, RNG states as lists) to state.json."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{key}"] = value
    rng = {"torch": torch.get_rng_state().tolist()}
    if torch.cuda.is_available():
        rng["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]

    def fill(tmp: Path) -> None:
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        write_json(
            tmp / "state.json",
            {
                "format": STATE_FORMAT,
                "param_groups": state["param_groups"],
                "scalars": scalars,
                "rng": rng,
                **info,
            },
        )

    replace_dir(folder, fill)


def load_state(folder: Path, optimizer: torch.optim.Optimizer) -> dict:
    """Restore the optimizer and the RNG; return the saved info (epoch, best, history, ...)."""
    info = json.loads((folder / "state.json").read_text())
    tensors = load_file(str(folder / "optimizer.safetensors"))
    per_param: dict[int, dict] = {}
    for name, value in [*tensors.items(), *info.pop("scalars").items()]:
        index, key = name.split(".", 1)
        per_param.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": per_param, "param_groups": info.pop("param_groups")})
    rng = info.pop("rng")
    torch.set_rng_state(torch.tensor(rng["torch"], dtype=torch.uint8))
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in rng["cuda"]])
    return info
