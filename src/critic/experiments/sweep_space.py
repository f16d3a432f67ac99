"""A sweep's search space: which settings of a preset a sweep varies, over what values, written
as a TOML file whose tables are named as a config file's are ([train], [encoder], [model]).

    [train.learning_rate]          # a number between two ends, drawn on a log scale
    float = [1e-4, 1e-2]
    log = true

    [train.batch_size]             # one of a list
    choice = [16, 32, 64]

    [model.ngram_max]              # a whole number between two ends (both included)
    int = [1, 3]

    [model.dropout.rate]           # a graph model's block, by its id (dropout, dense2, ...)
    float = [0.0, 0.5]

    [train]
    epochs = 4                     # a plain value: the same for every trial

A setting's name is its place in the config (`train.learning_rate`, `model.C`,
`encoder.max_words`, `model.BLOCK.PARAM`), the name `critic experiments compare` shows. Each
setting is checked against the preset at both ends of its range (every choice), so a typo or an
impossible value is refused, naming the setting, before a trial runs."""

from __future__ import annotations

import functools
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from critic.config import LINEAR_TRAIN_SETTINGS, ExperimentConfig, train_settings
from critic.errors import SettingsError
from critic.experiments.configure import resolve_config
from critic.models.ensemble import EnsembleSettings
from critic.models.graph import GraphSpec
from critic.models.linear import LinearSettings
from critic.text.encoders import settings_from_dict

__all__ = [
    "Param",
    "SearchSpace",
    "load_space",
    "read_toml",
    "parse_space",
    "space_toml",
    "example_space",
    "example_spaces",
    "apply_settings",
    "check_space",
    "KINDS",
]

TABLES = ("train", "encoder", "model")
KINDS = ("float", "int", "choice")  # the key that says what a setting's table draws from
OPTIONS = ("log", "step")
MAX_CHOICES = 100


@dataclass(frozen=True)
class Param:
    """One setting the sweep varies. float/int: between `low` and `high`, both included, on a log
    scale with `log`, on a grid of `step` when given; choice: one of `choices`."""

    key: str  # its place in the config: "train.learning_rate", "model.dropout.rate"
    kind: str  # one of KINDS
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def values_to_check(self) -> tuple:
        """The values that stand for the whole range when the space is checked: its two ends."""
        return self.choices if self.kind == "choice" else (self.low, self.high)

    def distribution(self):
        """The Optuna distribution this setting is drawn from."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=self.step or 1)
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]  # what varies, in the file's order
    fixed: dict  # "train.epochs" → 4: the same in every trial
    tables: dict  # the file's tables as read (kept with the sweep, and shown)

    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    def distributions(self) -> dict:
        return {p.key: p.distribution() for p in self.params}


def load_space(path: Path) -> SearchSpace:
    """A space.toml file, parsed and checked for form (not yet against a preset)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"no such search space file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the search space {path}: {exc}") from None
    return parse_space(read_toml(text, str(path)), where=str(path))


def read_toml(text: str, where: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{where} is not valid TOML: {exc}") from None


def space_toml(tables: Mapping) -> str:
    """A space's tables written back as a space.toml: the fixed settings under their table, then
    a table for each setting to vary, each on one line, as a person writes them."""
    space = parse_space(tables)
    lines = []
    for table in TABLES:
        fixed = {k: v for k, v in space.fixed.items() if k.startswith(table + ".")}
        if fixed:
            lines += [
                f"[{table}]",
                *(f"{k[len(table) + 1 :]} = {_toml(v)}" for k, v in fixed.items()),
                "",
            ]
    for p in space.params:
        lines += [
            f"[{p.key}]",
            f"{p.kind} = {_toml(list(p.choices) if p.kind == 'choice' else [p.low, p.high])}",
        ]
        lines += ["log = true"] if p.log else []
        lines += [f"step = {_toml(p.step)}"] if p.step is not None else []
        lines.append("")
    return "\n".join(lines)


def _toml(value) -> str:
    """A TOML value: a boolean, a number, a string or a list of them (what a space holds)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def example_space(config: ExperimentConfig) -> str:
    """A space.toml to start from for a preset's config: the linear model's C and n-gram range;
    a neural model's learning rate, batch size and the rate of its first Dropout block."""
    _refuse_ensemble(config)
    if isinstance(config.model, LinearSettings):
        tables = {"model": {"C": {"float": [0.03, 3.0], "log": True}, "ngram_max": {"int": [1, 3]}}}
        return space_toml(tables)
    lr = config.train.learning_rate
    tables = {
        "train": {
            "learning_rate": {
                "float": [float(f"{lr / 10:.3g}"), float(f"{lr * 10:.3g}")],
                "log": True,
            },
            "batch_size": {"choice": sorted({16, 32, 64, config.train.batch_size})},
        }
    }
    dropout = next((b.id for b in config.model.blocks if b.type == "Dropout"), None)
    if dropout:
        tables["model"] = {dropout: {"rate": {"float": [0.0, 0.5]}}}
    return space_toml(tables)


@functools.cache
def example_spaces() -> dict[str, str]:
    """Each preset (by its name without version) but the ensemble → example_space of its config."""
    from critic.experiments.configure import assemble_config
    from critic.presets import preset_names

    configs = {p: assemble_config("", preset=p) for p in preset_names()}
    # an ensemble is not swept (its members are)
    return {
        p: example_space(c) for p, c in configs.items() if not isinstance(c.model, EnsembleSettings)
    }


def parse_space(tables: Mapping, where: str = "the search space") -> SearchSpace:
    """The tables of a space.toml: each leaf table with one of `float`, `int` or `choice` is a
    setting to vary; any other value fixes a setting for every trial."""
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise SettingsError(
            f"{where}: unknown table(s) {unknown}; a search space has [train], [encoder] and "
            "[model] tables (the dataset and preset are the sweep's --dataset and --preset)"
        )
    params, fixed = [], {}
    for table in TABLES:
        _walk(tables.get(table, {}), table, where, params, fixed)
    if not params:
        raise SettingsError(
            f"{where}: nothing to search; give a setting a range, e.g. "
            "[train.learning_rate] float = [1e-4, 1e-2]"
        )
    return SearchSpace(tuple(params), fixed, dict(tables))


def _walk(node, key: str, where: str, params: list, fixed: dict) -> None:
    if not isinstance(node, Mapping):
        fixed[key] = node
    elif any(k in node for k in KINDS):
        params.append(_param(key, node, where))
    elif not node and "." in key:
        raise SettingsError(f"{where}: [{key}] is empty; give it one of {', '.join(KINDS)}")
    else:
        for name, child in node.items():
            _walk(child, f"{key}.{name}", where, params, fixed)


def _param(key: str, spec: Mapping, where: str) -> Param:
    at = f"{where}: [{key}]"
    kinds = [k for k in KINDS if k in spec]
    if len(kinds) > 1:
        raise SettingsError(f"{at} gives {' and '.join(kinds)}; give one of them")
    unknown = sorted(set(spec) - set(KINDS) - set(OPTIONS))
    if unknown:
        raise SettingsError(f"{at}: unknown key(s) {unknown}; known: {', '.join(KINDS + OPTIONS)}")
    kind = kinds[0]
    if kind == "choice":
        return _choice(key, spec, at)
    return _range(key, kind, spec, at)


def _choice(key: str, spec: Mapping, at: str) -> Param:
    if set(spec) & set(OPTIONS):
        raise SettingsError(f"{at}: log and step go with float or int, not with choice")
    choices = spec["choice"]
    scalar = (str, bool, int, float)
    if (
        not isinstance(choices, list)
        or not 1 <= len(choices) <= MAX_CHOICES
        or not all(isinstance(c, scalar) for c in choices)
    ):
        raise SettingsError(
            f"{at}: choice is a list of 1 to {MAX_CHOICES} numbers, strings or booleans, "
            f"e.g. choice = [16, 32, 64]; got {choices!r}"
        )
    if len({(type(c), c) for c in choices}) != len(choices):
        raise SettingsError(f"{at}: choice lists a value twice: {choices!r}")
    return Param(key, "choice", choices=tuple(choices))


def _range(key: str, kind: str, spec: Mapping, at: str) -> Param:
    ends, log, step = spec[kind], spec.get("log", False), spec.get("step")
    example = "[1e-4, 1e-2]" if kind == "float" else "[1, 3]"
    if not (
        isinstance(ends, list)
        and len(ends) == 2
        and all(_number(v, whole=kind == "int") for v in ends)
    ):
        what = "whole numbers" if kind == "int" else "numbers"
        raise SettingsError(f"{at}: {kind} is two {what} [low, high], e.g. {example}; got {ends!r}")
    low, high = ends
    if not low < high:
        raise SettingsError(f"{at}: low must be below high, got [{low}, {high}]")
    if not isinstance(log, bool):
        raise SettingsError(f"{at}: log is true or false, got {log!r}")
    if log and low <= 0:
        raise SettingsError(f"{at}: a log scale needs low > 0, got {low}")
    if step is not None:
        if not _number(step, whole=kind == "int") or step <= 0:
            raise SettingsError(f"{at}: step must be a positive {kind}, got {step!r}")
        if log:
            raise SettingsError(f"{at}: give log or step, not both (Optuna draws one or the other)")
    if kind == "float":
        return Param(key, kind, float(low), float(high), log, None if step is None else float(step))
    return Param(key, kind, low, high, log, step)


def _number(value, whole: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) if whole else math.isfinite(value)


# -- settings into a config -----------------------------------------------------------------------


def apply_settings(config: ExperimentConfig, values: Mapping[str, object]) -> ExperimentConfig:
    """`config` with each `table.setting` (or `model.BLOCK.PARAM`) of `values` set, checked the
    way a config file is (unknown settings and bad values named), the graph's shapes resolved."""
    _refuse_ensemble(config)
    by_table: dict[str, dict] = {t: {} for t in TABLES}
    for key, value in values.items():
        table, _, rest = key.partition(".")
        if table not in by_table or not rest:
            raise SettingsError(
                f"{key!r} is not a setting; write train.NAME, encoder.NAME or model.NAME"
            )
        by_table[table][rest] = value
    linear = isinstance(config.model, LinearSettings)
    train = _train(config, by_table["train"], linear)
    encoder = _encoder(config, by_table["encoder"])
    model = (
        _linear(config.model, by_table["model"])
        if linear
        else _graph(config.model, by_table["model"])
    )
    return resolve_config(replace(config, train=train, encoder=encoder, model=model))


def _refuse_ensemble(config: ExperimentConfig) -> None:
    if isinstance(config.model, EnsembleSettings):
        raise SettingsError(
            "an ensemble is not swept: sweep its members' presets, then name the best runs "
            'in an ensemble\'s [model] table (kind = "ensemble", adopt = [...])'
        )


def _train(config: ExperimentConfig, values: dict, linear: bool):
    if not values:
        return config.train
    if linear and set(values) - set(LINEAR_TRAIN_SETTINGS):
        unused = sorted(f"train.{k}" for k in set(values) - set(LINEAR_TRAIN_SETTINGS))
        own = ", ".join(f"model.{k}" for k in LinearSettings.__dataclass_fields__ if k != "kind")
        raise SettingsError(
            f"the linear model is fitted in one pass and does not use {', '.join(unused)}; "
            f"search its own settings: {own}"
        )
    return train_settings(values, base=config.train)


def _encoder(config: ExperimentConfig, values: dict):
    if not values:
        return config.encoder
    if config.encoder is None:
        raise SettingsError(
            "the linear model tokenizes text itself; it takes no encoder settings "
            "(search model.ngram_max, model.min_df, ...)"
        )
    if "kind" in values:
        raise SettingsError("encoder.kind is the preset's; a sweep varies the encoder's settings")
    return settings_from_dict({**asdict(config.encoder), **values})


def _linear(model: LinearSettings, values: dict) -> LinearSettings:
    if not values:
        return model
    if "kind" in values:
        raise SettingsError("model.kind is the preset's; a sweep varies the model's settings")
    return LinearSettings.from_dict({**asdict(model), **values})


def _graph(model: GraphSpec, values: dict) -> GraphSpec:
    """`init` for the whole graph, `BLOCK.PARAM` for one block's parameter."""
    if not values:
        return model
    spec = model.as_dict()
    blocks = {b["id"]: b for b in spec["blocks"]}
    for key, value in values.items():
        block, _, param = key.partition(".")
        if not param:
            if key != "init":
                raise SettingsError(
                    f"model.{key}: a graph model's settings are model.init and model.BLOCK.PARAM "
                    f"(blocks: {', '.join(b for b in blocks if b != 'input')})"
                )
            spec["init"] = value
        elif block not in blocks:
            raise SettingsError(
                f"model.{key}: the model has no block {block!r}; its blocks: "
                f"{', '.join(b for b in blocks if b != 'input')}"
            )
        elif param in ("id", "type", "inputs") or "." in param:
            raise SettingsError(
                f"model.{key}: a sweep varies a block's parameters, not its {param}"
            )
        else:
            blocks[block][param] = value
    return GraphSpec.from_dict(spec)


def check_space(space: SearchSpace, config: ExperimentConfig, where: str) -> ExperimentConfig:
    """The config with the space's fixed settings applied, after trying every setting to vary at
    each of its ends (each choice) on it: a bad name or value is refused now, naming the setting."""
    try:
        config = apply_settings(config, space.fixed)
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    for param in space.params:
        for value in param.values_to_check():
            try:
                apply_settings(config, {param.key: value})
            except SettingsError as exc:
                raise SettingsError(f"{where}: [{param.key}] = {value!r}: {exc}") from None
    return config
