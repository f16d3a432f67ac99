"""An ensemble: several models trained on the same train subset, their probabilities combined by
weights fitted on validation.

    z_c = Σ_m w_m · log p_m(c | x) + b_c,    p(c | x) = softmax(z)_c

One weight per member and one bias per class (M + K numbers), fitted by minimizing the log-loss on
the validation subset (L-BFGS, float64, a faint ridge toward equal weights). With w = 1/M and
b = 0 it is the geometric mean of the members; the fit leans on the member that is more right
where they disagree, and the biases recentre the combination. M + K numbers fitted on thousands
of rows do not overfit; they are fitted on the validation subset that chose each member's epoch
or C, never on test.

A checkpoint holds its members whole, so it is self-contained:

    <checkpoint>/model.json          {"format": ENSEMBLE_FORMAT, "kind": "ensemble", members, ...}
    <checkpoint>/model.safetensors   weights (M,), biases (K,)
    <checkpoint>/members/0 … M-1/    each member's own checkpoint folder

This module holds the arithmetic and the files; training the members is
`critic.experiments.ensemble`, and `critic.predictor.Predictor.from_checkpoint` loads the members."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from critic.errors import SettingsError
from critic.fields import from_dict

__all__ = [
    "ENSEMBLE_FORMAT",
    "EnsembleSettings",
    "Ensemble",
    "combiner_loss",
    "fit_combiner",
    "is_ensemble",
    "member_folders",
]

ENSEMBLE_FORMAT = "critic.ensemble/1"
# a pull of the weights toward the geometric mean: on a table the members separate perfectly
# the log-loss falls forever as the weights grow; on IMDB's 5,000 validation reviews it is nil
RIDGE = 1e-3
_FLOOR = 1e-7  # member probabilities are float32: log p is taken of p clipped here


@dataclass(frozen=True)
class EnsembleSettings:
    # presets trained on the dataset's train subset, one after the other, each as its own
    # experiment (named <ensemble>-<preset>) with the ensemble's seed
    members: tuple[str, ...] = ("linear", "minilm")
    # experiments already trained on the same dataset version, used as members as they are
    adopt: tuple[str, ...] = ()
    # where the members' pretrained parts are read from (`critic train --pretrained`): a local
    # model folder or a hub name, for every member with a WordPiece encoder or Transformer block
    pretrained: str | None = None
    kind: str = "ensemble"

    def __post_init__(self):
        object.__setattr__(self, "members", tuple(self.members))
        object.__setattr__(self, "adopt", tuple(self.adopt))
        if self.kind != "ensemble":
            raise SettingsError(f"an ensemble's kind is 'ensemble', got {self.kind!r}")
        if len(self.members) + len(self.adopt) < 2:
            raise SettingsError(
                "an ensemble needs at least 2 members: list presets in model.members "
                "and/or trained experiments in model.adopt"
            )
        if any(m.split(".v")[0] == "ensemble" for m in self.members):
            raise SettingsError("an ensemble's members cannot be ensembles")

    @classmethod
    def from_dict(cls, data: dict) -> EnsembleSettings:
        data = dict(data)
        for key in ("members", "adopt"):  # TOML and JSON give lists
            if isinstance(data.get(key), list):
                data[key] = tuple(data[key])
        return from_dict(cls, data, "ensemble setting")

    def as_dict(self) -> dict:
        return {**asdict(self), "members": list(self.members), "adopt": list(self.adopt)}


def _log_probs(member_probs: np.ndarray) -> np.ndarray:
    """(M, N, K) probabilities → (M, N, K) float64 log-probabilities, clipped at _FLOOR."""
    return np.log(np.clip(member_probs.astype(np.float64), _FLOOR, 1.0))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def combine(member_probs: np.ndarray, weights: np.ndarray, biases: np.ndarray) -> np.ndarray:
    """(M, N, K) member probabilities → (N, K) float32 ensemble probabilities."""
    z = np.einsum("m,mnk->nk", weights.astype(np.float64), _log_probs(member_probs))
    return _softmax(z + biases.astype(np.float64)).astype(np.float32)


def combiner_loss(
    theta: np.ndarray, logs: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray]:
    """The fit's objective and its gradient. theta = (M weights, K biases); logs (M, N, K) member
    log-probabilities; the biases enter centred (softmax is blind to a shift)."""
    m, n, _ = logs.shape
    rows = np.arange(n)
    w, b = theta[:m], theta[m:] - theta[m:].mean()
    p = _softmax(np.einsum("m,mnk->nk", w, logs) + b)
    value = -np.log(np.clip(p[rows, labels], 1e-300, None)).mean()
    value += RIDGE / 2 * np.sum((w - 1.0 / m) ** 2)
    residual = p.copy()
    residual[rows, labels] -= 1.0  # n × d loss / d z, (N, K)
    grad_w = np.einsum("nk,mnk->m", residual, logs) / n + RIDGE * (w - 1.0 / m)
    grad_b = residual.mean(axis=0)
    return float(value), np.concatenate([grad_w, grad_b - grad_b.mean()])


def fit_combiner(member_probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights (M,) and biases (K,) minimizing `combiner_loss` on (N,) labels, started from the
    geometric mean (w = 1/M, b = 0). The biases sum to 0."""
    from scipy.optimize import minimize

    logs = _log_probs(member_probs)  # (M, N, K)
    m, _, k = logs.shape
    start = np.concatenate([np.full(m, 1.0 / m), np.zeros(k)])
    found = minimize(
        combiner_loss,
        start,
        args=(logs, labels),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 500},
    )
    weights, biases = found.x[:m], found.x[m:] - found.x[m:].mean()
    return weights.astype(np.float32), biases.astype(np.float32)


class Ensemble:
    """Members (each anything with `predict_proba(texts) -> (N, K)` and `classes`, in practice
    `Predictor`s) and the combiner. Used by `Predictor` as a model that reads text itself."""

    kind = "ensemble"

    def __init__(self, members: Sequence, weights: np.ndarray, biases: np.ndarray, names=None):
        self.members = list(members)
        self.weights = np.asarray(weights, np.float32)
        self.biases = np.asarray(biases, np.float32)
        self.names = list(names or [f"member {i}" for i in range(len(self.members))])
        if len(self.weights) != len(self.members):
            raise SettingsError(
                f"an ensemble of {len(self.members)} members has {len(self.weights)} weights"
            )

    @property
    def n_classes_(self) -> int:
        return len(self.biases)

    def member_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(M, N, K): each member's `predict_proba`, in member order."""
        texts = list(texts)
        return np.stack([member.predict_proba(texts) for member in self.members])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return combine(self.member_probabilities(texts), self.weights, self.biases)

    def save(self, folder: Path, members: Sequence[dict]) -> None:
        """model.json + model.safetensors; `members` describes each member (name, preset, ...);
        the member folders are written by the caller under members/."""
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {"weights": self.weights, "biases": self.biases}, str(folder / "model.safetensors")
        )
        meta = {
            "format": ENSEMBLE_FORMAT,
            "kind": "ensemble",
            "n_classes": self.n_classes_,
            "members": list(members),
            "combiner": "z_c = sum_m w_m log p_m(c|x) + b_c; softmax",
        }
        (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path, members: Sequence) -> Ensemble:
        meta = _meta(folder)
        tensors = load_file(str(folder / "model.safetensors"))
        names = [m.get("experiment") or m.get("preset") for m in meta["members"]]
        return cls(members, tensors["weights"], tensors["biases"], names)


def _meta(folder: Path) -> dict:
    meta = json.loads((Path(folder) / "model.json").read_text())
    if meta.get("format") != ENSEMBLE_FORMAT:
        raise SettingsError(
            f"{folder}: ensemble format {meta.get('format')!r}; this critic reads {ENSEMBLE_FORMAT}"
        )
    return meta


def is_ensemble(folder: Path) -> bool:
    try:
        return json.loads((Path(folder) / "model.json").read_text()).get("kind") == "ensemble"
    except (FileNotFoundError, json.JSONDecodeError):
        return False


def member_folders(folder: Path) -> list[Path]:
    """The member checkpoint folders of an ensemble checkpoint, in member order."""
    meta = _meta(folder)
    return [Path(folder) / "members" / str(i) for i in range(len(meta["members"]))]
