"""Experiment configuration: a preset's settings, then a config file's tables, then explicit
overrides (CLI flags, the workbench) → one resolved, checked `ExperimentConfig`."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from critic.config import ExperimentConfig, TrainSettings, load_config_file, train_settings
from critic.errors import SettingsError
from critic.models.graph import GraphSpec, check_graph
from critic.models.linear import LinearSettings
from critic.models.pretrained import resolve_pretrained, with_source
from critic.presets import get_preset, preset_names
from critic.text.encoders import WordSequenceSettings, encoder_for, settings_from_dict
from critic.text.spec import InputSpec

__all__ = ["build_config", "input_spec_of"]


def build_config(dataset: str, *, preset: str | None = None, config_file: Path | None = None,
                 train: dict | None = None, encoder: dict | None = None, pretrained: str | None = None) -> ExperimentConfig:
    """Preset defaults, then the config file's tables, then explicit overrides (CLI flags).
    `pretrained` points every pretrained part (WordPiece encoder, Transformer blocks) at another
    source: a local model directory or a hub name."""
    data = load_config_file(config_file) if config_file else {}
    preset_name = preset or data.get("preset")
    if preset_name:
        p = get_preset(preset_name)
        enc, model, train_base, name, source = p.encoder, p.model, p.train, p.name, p.source
    elif "model" in data:
        enc, model, train_base, name, source = WordSequenceSettings(), None, TrainSettings(), None, str(config_file)
    else:
        raise SettingsError(f"give --preset NAME (one of {', '.join(preset_names())}) or --config FILE with a [model] table")
    if "model" in data and data["model"].get("kind") == "linear":
        model, enc = LinearSettings.from_dict({**(asdict(model) if isinstance(model, LinearSettings) else {}),
                                               **data["model"]}), None
    elif "model" in data:
        model = GraphSpec.from_dict(data["model"])
        enc = enc or WordSequenceSettings()
    if "model" in data and preset_name:
        name, source = None, f"{name} with the model of {config_file}"
    settings = train_settings({**data.get("train", {}), **(train or {})}, base=train_base)
    if isinstance(model, LinearSettings):
        if encoder or data.get("encoder"):
            raise SettingsError("the linear model tokenizes text itself; it takes no encoder settings (see [model] n-gram settings)")
        return ExperimentConfig(dataset, None, model, settings, name, source)
    enc = _merge_encoder(_merge_encoder(enc, data.get("encoder", {})), encoder or {})
    if pretrained:
        model = with_source(model, pretrained)
        enc = replace(enc, source=pretrained) if enc.kind == "wordpiece" else enc
    model = resolve_pretrained(model)
    check_graph(model, input_spec_of(enc))
    return ExperimentConfig(dataset, enc, model, settings, name, source)


def input_spec_of(settings) -> InputSpec:
    """The encoder's input, known before fitting (a word vocabulary's size is a setting; a WordPiece
    one is the pretrained tokenizer's)."""
    encoder = encoder_for(settings)
    if settings.kind == "wordpiece":
        encoder.fit()
    return encoder.input_spec


def _merge_encoder(base, overrides: dict):
    if not overrides:
        return base
    same_kind = overrides.get("kind", base.kind) == base.kind
    return settings_from_dict({**(asdict(base) if same_kind else {}), **overrides})
