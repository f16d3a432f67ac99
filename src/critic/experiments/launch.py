"""Training started from a form (the workbench's New experiment and Resume): a model choice, a
dataset version and training settings typed as text, checked the way `critic train` checks them,
then queued as a `critic train ...` job (critic.jobs) that the pool runs in its own process.

    train_defaults("preset:kim-cnn")   → {"train": {...}, "applies": [...]}: what the form fills in
    queue_training(ref, "graph:mine", {"epochs": "2", ...}, name=None)
                                       → JobRecord of `critic train --dataset REF --config
                                         graphs/mine.toml --name mine-1 --epochs=2 ...`
    queue_resume(name, epochs=None)    → JobRecord of `critic train --resume NAME`

A model is `preset:NAME` or `graph:NAME` (a canvas graph saved as graphs/NAME.toml). The job is
always given a --name (a free one when none is typed), so its page can follow the experiment
before the run has created it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from critic.config import OPTIMIZERS, parse_class_weight
from critic.errors import SettingsError
from critic.experiments.canvas import graph_path, list_graphs, load_graph, tables_of
from critic.experiments.configure import assemble_config, build_config
from critic.experiments.store import free_name, get_experiment, list_experiments
from critic.jobs import JobRecord, list_jobs, submit
from critic.names import validate_name
from critic.presets import preset_names
from critic.workspace import Workspace

__all__ = [
    "FORM_SETTINGS",
    "ModelChoice",
    "parse_model",
    "model_choices",
    "train_defaults",
    "parse_settings",
    "train_argv",
    "queue_training",
    "queue_resume",
    "active_job",
]

MAX_TEXT = 200  # characters of one typed setting


def _whole(text: str) -> int:
    return int(text)


# the training settings a form offers: TrainSettings field → how its text is read. Each is also
# a `critic train` flag of the same name (--batch-size for batch_size).
FORM_SETTINGS: dict[str, Callable[[str], object]] = {
    "epochs": _whole,
    "batch_size": _whole,
    "optimizer": str,
    "learning_rate": float,
    "weight_decay": float,
    "early_stopping": _whole,
    "checkpoint_metric": str,
    "class_weight": parse_class_weight,
    "seed": _whole,
    "device": str,
}
_WORDS = {
    _whole: "a whole number",
    float: "a number (e.g. 0.001 or 1e-3)",
}


@dataclass(frozen=True)
class ModelChoice:
    kind: str  # "preset" or "graph"
    name: str

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_model(text: str) -> ModelChoice:
    """`preset:kim-cnn` or `graph:NAME` (a saved canvas graph) → a checked choice."""
    kind, _, name = (text or "").strip().partition(":")
    if kind == "preset" and name in preset_names():
        return ModelChoice("preset", name)
    if kind == "graph" and name:
        return ModelChoice("graph", validate_name(name, "graph name"))
    raise SettingsError(
        f"choose a model: preset:NAME (one of {', '.join(preset_names())}) or graph:NAME (a "
        f"graph saved from the canvas); got {text[:60]!r}"
    )


def model_choices(workspace: Workspace | None = None) -> list[ModelChoice]:
    """Every preset (newest version), then every saved canvas graph."""
    presets = [ModelChoice("preset", name) for name in preset_names()]
    return presets + [ModelChoice("graph", g.name) for g in list_graphs(workspace)]


def train_defaults(model: str, workspace: Workspace | None = None) -> dict:
    """The model's own training settings (a preset's, or a saved graph's [train] table over the
    defaults), and the names among FORM_SETTINGS it reads: the linear model reads only a few."""
    choice = parse_model(model)
    config = (
        assemble_config("", preset=choice.name)
        if choice.kind == "preset"
        else assemble_config("", tables=load_graph(choice.name, workspace))
    )
    train = tables_of(config)["train"]
    linear = config.encoder is None
    full = {**asdict(config.train), **train}
    return {
        "train": {k: _flag_text(full[k]) for k in FORM_SETTINGS if k in full},
        "applies": [k for k in FORM_SETTINGS if not linear or k in train],
        "linear": linear,
        "optimizers": list(OPTIMIZERS),
    }


def parse_settings(typed: dict[str, str]) -> dict[str, object]:
    """The typed settings (text, as a form sends them) read into values; an empty one is not
    given (the model's own value stays). Unknown settings and unreadable values are refused."""
    unknown = sorted(set(typed) - set(FORM_SETTINGS))
    if unknown:
        raise SettingsError(
            f"unknown training setting {unknown[0]!r}; one of: {', '.join(FORM_SETTINGS)}"
        )
    out = {}
    for key, text in typed.items():
        text = (text or "").strip()
        if not text:
            continue
        if len(text) > MAX_TEXT:
            raise SettingsError(f"{key} is longer than {MAX_TEXT} characters")
        read = FORM_SETTINGS[key]
        try:
            out[key] = read(text)
        except SettingsError:
            raise
        except ValueError:
            raise SettingsError(
                f"{key.replace('_', ' ')} must be {_WORDS.get(read, 'text')}, got {text!r}"
            ) from None
    return out


def train_argv(
    dataset: str, model: ModelChoice, settings: dict[str, object], name: str, workspace: Workspace
) -> list[str]:
    """The `critic train` command line (without `critic`) for these choices."""
    argv = ["train", "--dataset", dataset]
    if model.kind == "preset":
        argv += ["--preset", model.name]
    else:
        argv += ["--config", str(graph_path(model.name, workspace))]
    argv += ["--name", name]
    for key, value in settings.items():  # `--flag=value`: a negative number is not an option
        argv.append(f"--{key.replace('_', '-')}={_flag_text(value)}")
    return argv


def _flag_text(value: object) -> str:
    if isinstance(value, dict):  # class weights
        return ",".join(f"{label}={weight}" for label, weight in value.items())
    return str(value)


def queue_training(
    dataset: str,
    model: str,
    typed: dict[str, str],
    *,
    name: str | None = None,
    user: str | None = None,
    workspace: Workspace | None = None,
) -> JobRecord:
    """Check everything `critic train` would check before a run (the dataset version exists, the
    model builds, every setting is valid, the name is free), then queue the run as a job."""
    from critic.data.store import load_version  # here: the data package brings pandas

    workspace = (workspace or Workspace.from_env()).ensure()
    choice = parse_model(model)
    settings = parse_settings(typed)
    version = load_version(dataset, workspace)
    config_file = graph_path(choice.name, workspace) if choice.kind == "graph" else None
    if config_file is not None and not config_file.is_file():
        load_graph(choice.name, workspace)  # raises GraphNotFound with what to do
    build_config(
        version.ref,
        preset=choice.name if choice.kind == "preset" else None,
        config_file=config_file,
        train=settings,
    )
    taken = _taken_names(workspace)
    if name:
        name = validate_name(name, "experiment name")
        if name in taken:
            raise SettingsError(
                f"an experiment named {name!r} exists or is queued; pick another name, or resume it"
            )
    else:
        name = free_name(choice.name, taken)
    argv = train_argv(version.ref, choice, settings, name, workspace)
    return submit("train", argv, user=user, workspace=workspace)


def queue_resume(
    name: str,
    *,
    epochs: int | None = None,
    user: str | None = None,
    workspace: Workspace | None = None,
) -> JobRecord:
    """Queue `critic train --resume NAME` for a run that stopped, failed or was cancelled
    (`epochs` may raise its total)."""
    workspace = workspace or Workspace.from_env()
    experiment = get_experiment(name, workspace)
    job = active_job(name, workspace)
    if job is not None or experiment.status == "running":
        raise SettingsError(f"experiment {name!r} is running or queued; wait for it or cancel it")
    if epochs is not None:
        kind = experiment.record.config.get("model", {}).get("kind")
        if kind in ("linear", "ensemble"):
            raise SettingsError(
                f"{name!r} is a {kind} model, trained in one pass: no epochs to add"
            )
        if epochs < max(1, experiment.record.epochs_done):
            raise SettingsError(
                f"epochs is the run's total: at least the {experiment.record.epochs_done} done"
            )
    elif experiment.status == "done":
        raise SettingsError(
            f"experiment {name!r} is done; to train it further, raise its epochs total"
        )
    argv = ["train", "--resume", name] + ([f"--epochs={epochs}"] if epochs is not None else [])
    return submit("train", argv, user=user, workspace=workspace)


def active_job(name: str, workspace: Workspace | None = None) -> JobRecord | None:
    """The queued or running train job of experiment `name`, if any."""
    jobs = [
        j
        for state in ("queued", "running")
        for j in list_jobs(workspace, state=state)
        if j.kind == "train" and j.target == name
    ]
    return jobs[-1] if jobs else None


def _taken_names(workspace: Workspace) -> set[str]:
    """Experiment names in use: the catalog's and those of train jobs still to run."""
    names = {e.name for e in list_experiments(workspace)}
    for state in ("queued", "running"):
        names |= {
            j.target for j in list_jobs(workspace, state=state) if j.kind == "train" and j.target
        }
    return names
