"""Experiment configuration: a preset's settings, then a config file's tables, then explicit
overrides (CLI flags, the workbench) → one resolved, checked `ExperimentConfig`.

Two steps: `assemble_config` merges the tables (no file is read but the config file, nothing is
downloaded); `resolve_config` reads pretrained configs and checks the graph's shapes. `build_config`
does both; `model_config` assembles a preset or a config file without a dataset, to look at it."""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from pathlib import Path

from critic.config import (
    LINEAR_TRAIN_SETTINGS,
    ExperimentConfig,
    TrainSettings,
    load_config_file,
    train_settings,
)
from critic.errors import SettingsError
from critic.fields import check_keys
from critic.models.ensemble import EnsembleSettings
from critic.models.graph import GraphSpec, check_graph
from critic.models.linear import LinearSettings
from critic.models.pretrained import resolve_pretrained, with_source
from critic.presets import get_preset, preset_names
from critic.text.encoders import WordSequenceSettings, encoder_for, settings_from_dict
from critic.text.spec import InputSpec

__all__ = [
    "build_config",
    "assemble_config",
    "resolve_config",
    "model_config",
    "input_spec_of",
    "LINEAR_TRAIN_SETTINGS",
    "CONFIG_SUFFIXES",
]

CONFIG_SUFFIXES = (".toml", ".yaml", ".yml")


def build_config(
    dataset: str,
    *,
    preset: str | None = None,
    config_file: Path | None = None,
    train: dict | None = None,
    encoder: dict | None = None,
    pretrained: str | None = None,
) -> ExperimentConfig:
    """Preset defaults, then the config file's tables, then explicit overrides (CLI flags).
    `pretrained` points every pretrained part (WordPiece encoder, Transformer blocks) at another
    source: a local model directory or a hub name."""
    return resolve_config(
        assemble_config(
            dataset,
            preset=preset,
            config_file=config_file,
            train=train,
            encoder=encoder,
            pretrained=pretrained,
        )
    )


def assemble_config(
    dataset: str,
    *,
    preset: str | None = None,
    config_file: Path | None = None,
    train: dict | None = None,
    encoder: dict | None = None,
    pretrained: str | None = None,
    tables: dict | None = None,
) -> ExperimentConfig:
    """The merged tables, checked key by key, before any pretrained file is read. `tables` are a
    config file's tables given as a dict (what the workbench's canvas holds) instead of a file."""
    data = (
        _tables(tables)
        if tables is not None
        else load_config_file(config_file)
        if config_file
        else {}
    )
    preset_name = preset or data.get("preset")
    if preset_name:
        p = get_preset(preset_name)
        enc, model, train_base, name, source = p.encoder, p.model, p.train, p.name, p.source
    elif "model" in data:
        enc, model, train_base, name, source = (
            WordSequenceSettings(),
            None,
            TrainSettings(),
            None,
            str(config_file) if config_file else "a config table",
        )
    else:
        raise SettingsError(
            f"give --preset NAME (one of {', '.join(preset_names())}) or --config FILE with a [model] table"
        )
    if "model" in data and data["model"].get("kind") == "linear":
        model, enc = (
            LinearSettings.from_dict(
                {**(asdict(model) if isinstance(model, LinearSettings) else {}), **data["model"]}
            ),
            None,
        )
    elif "model" in data and data["model"].get("kind") == "ensemble":
        model, enc = EnsembleSettings.from_dict(data["model"]), None
    elif "model" in data:
        model = GraphSpec.from_dict(data["model"])
        enc = enc or WordSequenceSettings()
    if "model" in data and preset_name:
        name, source = None, f"{name} with the model of {config_file}"
    if isinstance(model, LinearSettings):
        _refuse_for_linear(data.get("train", {}), train or {}, encoder or data.get("encoder"))
        # one pass, recorded as one epoch, however the config was reached (preset or file)
        base = replace(train_base, epochs=1)
        settings = train_settings({**data.get("train", {}), **(train or {})}, base=base)
        return ExperimentConfig(dataset, None, model, settings, name, source)
    if isinstance(model, EnsembleSettings):
        asked = {**data.get("train", {}), **(train or {})}
        _refuse_for_ensemble(asked, encoder or data.get("encoder"))
        settings = train_settings(asked, base=replace(train_base, epochs=1))
        model = replace(model, pretrained=pretrained) if pretrained else model
        return ExperimentConfig(dataset, None, model, settings, name, source)
    asked = {**data.get("train", {}), **(train or {})}
    if "epochs" in asked and "min_steps" not in asked:
        asked["min_steps"] = 0  # epochs asked for are the epochs run
    settings = train_settings(asked, base=train_base)
    enc = _merge_encoder(_merge_encoder(enc, data.get("encoder", {})), encoder or {})
    if pretrained:
        model = with_source(model, pretrained)
        enc = replace(enc, source=pretrained) if enc.kind == "wordpiece" else enc
    return ExperimentConfig(dataset, enc, model, settings, name, source)


def _tables(tables: dict) -> dict:
    check_keys(tables, {"preset", "encoder", "model", "train"}, "table", where="the config")
    return tables


def resolve_config(config: ExperimentConfig) -> ExperimentConfig:
    """Each Transformer block's config read from its source, and the graph built once on the meta
    device, so a missing model or a shape mismatch surfaces before a run."""
    if isinstance(config.model, LinearSettings | EnsembleSettings):
        return config  # an ensemble's members are resolved when each is trained
    model = resolve_pretrained(config.model)
    check_graph(model, input_spec_of(config.encoder))
    return replace(config, model=model)


def model_config(target: str | Path) -> ExperimentConfig:
    """A preset name or a config file (TOML/YAML, as `critic train --config` takes), assembled
    without a dataset: what `critic models show` draws."""
    path = Path(target)
    if path.suffix.lower() in CONFIG_SUFFIXES or path.is_file():
        return assemble_config("", config_file=path)
    try:
        return assemble_config("", preset=str(target))
    except SettingsError as exc:
        raise SettingsError(
            f"{exc}; or give a config file (.toml, .yaml) with a [model] table"
        ) from None


def input_spec_of(settings) -> InputSpec:
    """The encoder's input, known before fitting (a word vocabulary's size is a setting; a WordPiece
    one is the pretrained tokenizer's)."""
    encoder = encoder_for(settings)
    if settings.kind == "wordpiece":
        encoder.fit()
    return encoder.input_spec


def _refuse_for_linear(from_file: dict, overrides: dict, encoder: dict | None) -> None:
    """The linear model reads none of the neural training settings: refuse them rather than record
    settings that did nothing (an `experiments list` showing "adam 0.001 batch 32" for it)."""
    if encoder:
        raise SettingsError(
            "the linear model tokenizes text itself; it takes no encoder settings (see [model] n-gram settings)"
        )
    ignored = [
        f"{key} (--{key.replace('_', '-')})"
        for key in overrides
        if key not in LINEAR_TRAIN_SETTINGS
    ]
    ignored += [
        f"[train] {key}"
        for key in from_file
        if key not in LINEAR_TRAIN_SETTINGS and key not in overrides
    ]
    if ignored:
        own = ", ".join(f.name for f in fields(LinearSettings) if f.name != "kind")
        raise SettingsError(
            f"the linear model is fitted in one pass and does not use {', '.join(ignored)}; "
            f'it takes its settings from the [model] table of a --config file (kind = "linear"): {own}'
        )


ENSEMBLE_TRAIN_SETTINGS = ("seed", "device", "threads")


def _refuse_for_ensemble(asked: dict, encoder: dict | None) -> None:
    """An ensemble passes its seed, device and threads to its neural members; each member takes
    the rest of its settings from its own preset."""
    ignored = [key for key in asked if key not in ENSEMBLE_TRAIN_SETTINGS]
    if encoder or ignored:
        raise SettingsError(
            f"an ensemble trains each member with its own preset's settings and does not use "
            f"{', '.join(ignored + (['encoder settings'] if encoder else []))}; it takes "
            f"{', '.join(ENSEMBLE_TRAIN_SETTINGS)} (given to its neural members), and its members "
            'from the [model] table (kind = "ensemble", members = [presets], adopt = [experiments])'
        )


def _merge_encoder(base, overrides: dict):
    if not overrides:
        return base
    same_kind = overrides.get("kind", base.kind) == base.kind
    return settings_from_dict({**(asdict(base) if same_kind else {}), **overrides})
