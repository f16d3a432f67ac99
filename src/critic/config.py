"""Training settings and experiment configuration: frozen dataclasses, loaded from CLI flags or a
TOML or YAML file, unknown keys rejected, saved resolved (config.json) with every run."""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from critic.errors import SettingsError
from critic.fields import check_keys, update
from critic.models.ensemble import EnsembleSettings
from critic.models.graph import GraphSpec
from critic.models.linear import LinearSettings
from critic.text.encoders import MultiHotSettings, WordSequenceSettings, settings_from_dict
from critic.text.wordpiece import WordPieceSettings

__all__ = [
    "LINEAR_TRAIN_SETTINGS",
    "OPTIMIZERS",
    "TrainSettings",
    "ExperimentConfig",
    "load_config_file",
    "model_settings",
    "train_settings",
    "parse_class_weight",
]

# The train settings the linear model reads (critic.experiments.run._run_linear): it is fitted in one
# pass by liblinear, so epochs, batches, optimizers, devices and seeds mean nothing to it; its seed
# and class weights live in its own [model] table.
LINEAR_TRAIN_SETTINGS = ("checkpoint_metric",)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adadelta")
CHECKPOINT_METRICS = ("val_loss", "val_accuracy")
SCHEDULES = ("constant", "linear")


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3  # Keras's Adam default
    weight_decay: float = 0.0
    seed: int = 0  # seeds weights, dropout and the shuffling order of every epoch
    device: str = "auto"  # "cpu", "cuda", "cuda:1", or "auto" (cuda when there is one)
    threads: int = 0  # torch CPU threads; 0 = torch's default
    checkpoint_metric: str = "val_loss"  # which validation number picks the best epoch
    early_stopping: int = (
        0  # stop after this many epochs without a better checkpoint metric; 0 = never
    )
    class_weight: str | dict = "none"  # "none", "balanced", or {label: weight}
    bucket: bool = True  # run each batch in length-sorted, trimmed parts when the model allows it (same update)
    warmup: float = (
        0.0  # share of all optimizer steps over which the learning rate rises linearly from 0
    )
    schedule: str = "constant"  # after warmup: "constant", or "linear" decay to 0 at the last step
    accumulation: int = (
        1  # batches per optimizer step (effective batch = batch_size × accumulation)
    )
    mixed_precision: bool = (
        False  # bfloat16 autocast for the forward pass (CUDA; CPUs with AVX512-BF16 gain too)
    )
    # padded tokens in one forward and backward pass: a batch runs in parts of at most this many
    # (the same update); the lever on activation memory. 0: the model's own (critic.train)
    part_tokens: int = 0
    # at least this many optimizer steps: with few train rows the epochs are raised to reach it
    # (`for_rows`), so a small table is not left underfit by a schedule sized for a large one
    min_steps: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise SettingsError(
                f"epochs and batch_size must be at least 1, got {self.epochs} and {self.batch_size}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise SettingsError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if not self.learning_rate > 0 or self.weight_decay < 0:
            raise SettingsError("learning_rate must be > 0 and weight_decay ≥ 0")
        if self.checkpoint_metric not in CHECKPOINT_METRICS:
            raise SettingsError(
                f"checkpoint_metric must be one of {CHECKPOINT_METRICS}, got {self.checkpoint_metric!r}"
            )
        if (
            self.early_stopping < 0
            or self.threads < 0
            or self.part_tokens < 0
            or self.min_steps < 0
        ):
            raise SettingsError("early_stopping, threads, part_tokens and min_steps must be ≥ 0")
        if not (self.device in ("auto", "cpu") or str(self.device).startswith("cuda")):
            raise SettingsError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        if not 0 <= self.warmup < 1 or self.schedule not in SCHEDULES or self.accumulation < 1:
            raise SettingsError(
                f"warmup must be in [0, 1), schedule one of {SCHEDULES}, accumulation ≥ 1; got "
                f"{self.warmup}, {self.schedule!r}, {self.accumulation}"
            )
        cw = self.class_weight
        if not (
            cw in ("none", "balanced")
            or (isinstance(cw, dict) and all(float(v) > 0 for v in cw.values()))
        ):
            raise SettingsError(
                f"class_weight must be 'none', 'balanced' or {{label: positive weight}}, got {cw!r}"
            )

    def steps_per_epoch(self, train_rows: int) -> int:
        batches = math.ceil(train_rows / self.batch_size)
        return math.ceil(batches / self.accumulation)

    def for_rows(self, train_rows: int) -> TrainSettings:
        """These settings for a train subset of `train_rows`: the epochs raised, when needed, so
        that epochs × optimizer steps per epoch reach `min_steps`."""
        per_epoch = self.steps_per_epoch(train_rows)
        if not self.min_steps or not per_epoch or self.epochs * per_epoch >= self.min_steps:
            return self
        return replace(self, epochs=math.ceil(self.min_steps / per_epoch))


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides a run's result, saved as config.json."""

    dataset: str  # resolved to name@version
    encoder: (
        WordSequenceSettings | MultiHotSettings | WordPieceSettings | None
    )  # None: the model reads text itself (linear, ensemble)
    model: GraphSpec | LinearSettings | EnsembleSettings
    train: TrainSettings
    preset: str | None = None  # the versioned preset it came from, if any
    source: str | None = None  # where the preset's numbers come from

    def as_dict(self) -> dict:
        model = (
            asdict(self.model) if isinstance(self.model, LinearSettings) else self.model.as_dict()
        )  # EnsembleSettings and GraphSpec have their own as_dict
        return {
            "dataset": self.dataset,
            "preset": self.preset,
            "source": self.source,
            "encoder": asdict(self.encoder) if self.encoder else None,
            "model": model,
            "train": asdict(self.train),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ExperimentConfig:
        check_keys(
            data,
            {"dataset", "preset", "source", "encoder", "model", "train"},
            "experiment config key",
        )
        model = model_settings(data["model"])
        encoder = settings_from_dict(data["encoder"]) if data.get("encoder") else None
        return cls(
            data["dataset"],
            encoder,
            model,
            train_settings(data.get("train", {})),
            data.get("preset"),
            data.get("source"),
        )


def model_settings(data: dict) -> GraphSpec | LinearSettings | EnsembleSettings:
    """A [model] table (or config.json's "model") by its kind: linear, ensemble, or a graph."""
    kind = data.get("kind")
    if kind == "linear":
        return LinearSettings.from_dict(data)
    if kind == "ensemble":
        return EnsembleSettings.from_dict(data)
    return GraphSpec.from_dict(data)


def train_settings(data: dict, base: TrainSettings | None = None) -> TrainSettings:
    return update(base or TrainSettings(), data, "train setting")


def parse_class_weight(text: str) -> str | dict[str, float]:
    """`--class-weight` as typed (CLI flag, workbench field): none, balanced, or
    LABEL=WEIGHT,... → {label: weight}."""
    text = text.strip()
    if text in ("none", "balanced"):
        return text
    try:
        return {k.strip(): float(v) for k, v in (part.split("=", 1) for part in text.split(","))}
    except ValueError:
        raise SettingsError(
            f"--class-weight takes none, balanced or LABEL=WEIGHT,...; got {text!r}"
        ) from None


def load_config_file(path: Path) -> dict:
    """A TOML file (or YAML: `.yaml`/`.yml`) with optional encoder, model (blocks) and train tables."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SettingsError(f"no such config file: {path}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path} is not valid YAML: {exc}") from None
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise SettingsError(
                f"{path} must be a mapping with encoder, model and train keys, not {type(data).__name__}"
            )
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(
                f"{path} is not valid TOML (for YAML, name it .yaml or .yml): {exc}"
            ) from None
    check_keys(data, {"preset", "encoder", "model", "train"}, "table", where=str(path))
    return data
