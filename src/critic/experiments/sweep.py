"""Sweeps: a search over a preset's settings, as an Optuna study stored in the catalog's database
(Optuna's RDB storage, its own tables beside the catalog's on the same SQLite file or PostgreSQL
database), each trial an ordinary experiment trained by a job.

    create_sweep("imdb", "linear", space, SweepSettings(trials=6, parallel=2))
      → study NAME: the sweep's settings, search space and base config in its user attribute
        "critic.sweep"
      → 6 jobs `critic sweep trial NAME` (critic.jobs), run by whatever pool runs jobs (the local
        pool, Ray): each asks the study for settings, trains experiment NAME-tNNN, reports every
        epoch's validation number (a pruned run is left stopped) and tells the study how it
        ended (critic.experiments.sweep_trial)
    run_sweep(NAME, parallel=2)   the job pool's rounds, at most 2 jobs at a time, until its
                                  trials end (what `critic sweep create` does while it waits)
    load_sweep(NAME)              the trials, the best, the importances found so far
    report_sweep(NAME)            importances computed, PNGs drawn in $CRITIC_HOME/sweeps/NAME/
                                  (beside space.toml, the space as given: `--space` takes it again)

The study is the record: workers hold no state, so a trial runs on any node that reaches the
database and the workspace, and `critic sweep show` reads the same rows the workbench shows."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from critic.catalog import JobRecord, open_catalog
from critic.config import CHECKPOINT_METRICS, ExperimentConfig
from critic.data.store import load_version
from critic.errors import CriticError, SettingsError, SweepNotFound
from critic.experiments.configure import build_config
from critic.experiments.store import free_name, get_experiment, now
from critic.experiments.sweep_space import (
    SearchSpace,
    apply_settings,
    check_space,
    load_space,
    space_toml,
)
from critic.jobs import cancel, list_jobs, run_pending, submit
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = [
    "SweepSettings",
    "TrialRow",
    "Sweep",
    "create_sweep",
    "run_sweep",
    "cancel_sweep",
    "load_sweep",
    "list_sweeps",
    "report_sweep",
    "open_study",
    "settings_of",
    "trial_row",
    "pruner",
    "sampler",
    "storage",
    "storage_url",
    "trial_name",
    "base_config",
    "FORMAT",
    "KEY",
    "PRUNERS",
    "MIN_TRIALS_FOR_IMPORTANCE",
]

FORMAT = "critic.sweep/1"
KEY = "critic.sweep"  # the study's user attribute that makes it a sweep (and holds its record)
IMPORTANCES = "critic.importances"  # the study's user attribute: the last importances computed
SWEEPS = "sweeps"  # $CRITIC_HOME/sweeps/NAME/: the sweep's pictures
PRUNERS = ("median", "halving", "none")
DIRECTIONS = {"val_loss": "minimize", "val_accuracy": "maximize"}
MAX_TRIALS = 1000  # trial experiments are NAME-t000 … NAME-t999
MIN_TRIALS_FOR_IMPORTANCE = 3  # PED-ANOVA compares the top trials with all: fewer says nothing
JOB_KIND = "trial"


@dataclass(frozen=True)
class SweepSettings:
    trials: int = 10  # experiments to train, one job each
    parallel: int = 1  # trials at a time while `critic sweep create` runs the job pool
    metric: str = "val_loss"  # what a trial is judged by: val_loss (lower), val_accuracy (higher)
    # median: cut a trial whose best so far is worse than the median of the finished trials at
    # the same epoch; halving: successive halving (keep the best third at each rung); none
    pruner: str = "median"
    prune_from_epoch: int = 2  # the first epoch a trial may be cut at: epoch 1 says little
    prune_after_trials: int = 2  # finished trials the median pruner waits for before cutting
    seed: int = 0  # the sampler's: trial N draws with seed + N, so one-by-one sweeps repeat

    def __post_init__(self):
        if not 1 <= self.trials <= MAX_TRIALS:
            raise SettingsError(f"--trials must be from 1 to {MAX_TRIALS}, got {self.trials}")
        if self.parallel < 1:
            raise SettingsError(f"--parallel must be at least 1, got {self.parallel}")
        if self.metric not in CHECKPOINT_METRICS:
            raise SettingsError(
                f"--metric must be one of {', '.join(CHECKPOINT_METRICS)}, got {self.metric!r}"
            )
        if self.pruner not in PRUNERS:
            raise SettingsError(
                f"--pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}"
            )
        if self.prune_from_epoch < 1 or self.prune_after_trials < 1:
            raise SettingsError("--prune-from-epoch and --prune-after-trials must be at least 1")

    @property
    def direction(self) -> str:
        return DIRECTIONS[self.metric]

    def random_trials(self) -> int:
        """Trials drawn at random before TPE models the finished ones: a third, 2 to 10."""
        return min(10, max(2, self.trials // 3))


@dataclass(frozen=True)
class TrialRow:
    number: int
    experiment: str
    state: str  # complete, pruned, failed, running, waiting (queued with set settings)
    value: float | None  # the metric at its best epoch (complete trials)
    params: dict  # setting → value
    epochs: dict  # epoch → the metric reported after it
    error: str | None
    seconds: float | None

    @property
    def last_epoch(self) -> int | None:
        return max(self.epochs, default=None)


@dataclass(frozen=True)
class Sweep:
    name: str
    dataset: str  # NAME@VERSION
    preset: str
    settings: SweepSettings
    space: dict  # the search space's tables, as written
    config: dict  # the base ExperimentConfig every trial starts from
    created: str
    user: str | None
    trials: tuple[TrialRow, ...]
    jobs: tuple[JobRecord, ...]
    importances: dict | None  # setting → share of the metric's variation (sums to 1), or None
    folder: Path

    @property
    def best(self) -> TrialRow | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        sign = 1 if self.settings.direction == "minimize" else -1
        return min(done, key=lambda t: (sign * t.value, t.number))

    def count(self, state: str) -> int:
        """Trials in a state; "queued": jobs that have not started."""
        if state == "queued":
            return sum(j.state == "queued" for j in self.jobs)
        return sum(t.state == state for t in self.trials)

    @property
    def status(self) -> str:
        """queued (no trial started), running, cancelled (some jobs were) or done."""
        states = {j.state for j in self.jobs}
        if states == {"queued"}:
            return "queued"
        if states & {"queued", "running"}:
            return "running"
        return "cancelled" if "cancelled" in states else "done"

    @property
    def finished(self) -> bool:
        return self.status in ("done", "cancelled")

    @property
    def plots(self) -> list[Path]:
        from critic.experiments.sweep_plots import PLOTS  # light: names only

        return [self.folder / p for p in PLOTS if (self.folder / p).exists()]


# -- the study in the catalog's database ----------------------------------------------------------


def storage_url(url: str) -> str:
    """The catalog's URL as SQLAlchemy takes it: SQLite as is, PostgreSQL through psycopg 3."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url if sep else f"sqlite:///{url}"


def storage(workspace: Workspace):
    """Optuna's RDB storage on the workspace's catalog database."""
    optuna = _optuna()
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    url = storage_url(workspace.database_url)
    # a connection per use, closed after it: a server's requests leave no pool open behind them
    engine = {"poolclass": NullPool}
    if url.startswith("sqlite"):
        engine["connect_args"] = {"timeout": 60}  # wait out the catalog's and other trials' writes
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine)
    except ImportError as exc:
        raise CriticError(
            f"the catalog's database driver is missing ({exc.__cause__ or exc}); "
            "pip install 'critic[cluster]'"
        ) from None
    except OperationalError as exc:
        raise CriticError(f"the catalog's database cannot be reached: {exc.orig}") from None


def _optuna():
    try:
        import optuna
    except ImportError:
        raise CriticError("sweeps need Optuna: pip install 'critic[cluster]'") from None
    return optuna


def open_study(name: str, workspace: Workspace, *, sampler=None):
    """The sweep's study, with its pruner; SweepNotFound when there is none of that name."""
    optuna = _optuna()
    validate_name(name, "sweep name")
    store = storage(workspace)
    try:
        study = optuna.load_study(study_name=name, storage=store, sampler=sampler)
    except KeyError:
        raise SweepNotFound(f"no sweep {name!r}; see `critic sweep list`") from None
    if KEY not in study.user_attrs:
        raise SweepNotFound(f"the study {name!r} in the catalog's database is not a critic sweep")
    study.pruner = pruner(settings_of(study))
    return study


def pruner(settings: SweepSettings):
    from optuna.pruners import MedianPruner, NopPruner, SuccessiveHalvingPruner

    if settings.pruner == "median":
        return MedianPruner(
            n_startup_trials=settings.prune_after_trials, n_warmup_steps=settings.prune_from_epoch
        )
    if settings.pruner == "halving":
        return SuccessiveHalvingPruner(min_resource=settings.prune_from_epoch, reduction_factor=3)
    return NopPruner()


def sampler(settings: SweepSettings, number: int):
    """Trial `number`'s sampler: TPE over the finished trials, seeded per trial, so two jobs
    that start at once never draw the same settings."""
    from optuna.samplers import TPESampler

    return TPESampler(seed=settings.seed + number, n_startup_trials=settings.random_trials())


def settings_of(study) -> SweepSettings:
    return SweepSettings(**study.user_attrs[KEY]["settings"])


def trial_name(sweep: str, number: int) -> str:
    """The experiment of trial `number`: NAME-t003."""
    return f"{sweep}-t{number:03d}"


def base_config(study) -> ExperimentConfig:
    """The config every trial of the sweep starts from (the preset, the space's fixed settings,
    the metric as the checkpoint metric)."""
    return ExperimentConfig.from_dict(study.user_attrs[KEY]["config"])


# -- creating and running -------------------------------------------------------------------------


def create_sweep(
    dataset: str,
    preset: str,
    space: SearchSpace | Path | str,
    settings: SweepSettings = SweepSettings(),
    *,
    name: str | None = None,
    first: Sequence[Mapping[str, object]] = (),
    user: str | None = None,
    workspace: Workspace | None = None,
) -> Sweep:
    """Create the study and queue one job per trial. `space` is a SearchSpace or a space.toml
    path; `first` are settings to try first, in order (e.g. the preset's own). The jobs run on
    whatever runs jobs: `run_sweep`, `critic jobs work`, the workbench's server, Ray."""
    workspace = (workspace or Workspace.from_env()).ensure()
    where = "the search space" if isinstance(space, SearchSpace) else str(space)
    space = space if isinstance(space, SearchSpace) else load_space(Path(space))
    optuna = _optuna()
    version = load_version(dataset, workspace)
    _need_validation(version)
    config = _base_config(version.ref, preset, space, settings.metric, where)
    first = [_first(params, space, config) for params in first]
    store = storage(workspace)
    name = _reserve(name, f"{version.record.name}-{config.preset}", settings, store, workspace)
    try:
        study = optuna.create_study(
            study_name=name, storage=store, direction=settings.direction, load_if_exists=False
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise SettingsError(f"a sweep named {name!r} exists; choose another --name") from None
    study.set_user_attr(
        KEY,
        {
            "format": FORMAT,
            "dataset": version.ref,
            "preset": config.preset,
            "settings": asdict(settings),
            "space": space.tables,
            "config": config.as_dict(),
            "created": now(),
            "user": user,
        },
    )
    for params in first:
        study.enqueue_trial(params)
    folder = workspace.root / SWEEPS / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "space.toml").write_text(space_toml(space.tables), encoding="utf-8")
    for _ in range(settings.trials):
        submit(JOB_KIND, ("sweep", "trial", name), user=user, workspace=workspace)
    return load_sweep(name, workspace)


def _need_validation(version) -> None:
    rows = sum(version.manifest["rows"]["by_subset"].get("validation", {}).values())
    if not rows:
        raise SettingsError(
            f"{version.ref} has no validation subset, and a sweep judges its trials on it: "
            f"make one with `critic data split {version.ref} --validation-fraction 0.1`"
        )


def _base_config(ref: str, preset: str, space: SearchSpace, metric: str, where: str):
    if "train.checkpoint_metric" in [*space.keys(), *space.fixed]:
        raise SettingsError(
            f"{where}: leave out train.checkpoint_metric: each trial keeps its best epoch by the "
            "sweep's --metric"
        )
    config = build_config(ref, preset=preset)
    config = replace(config, train=replace(config.train, checkpoint_metric=metric))
    return check_space(space, config, where)


def _first(params: Mapping[str, object], space: SearchSpace, config: ExperimentConfig) -> dict:
    """Settings to try first: only the space's settings, each a value it can draw."""
    unknown = sorted(set(params) - set(space.keys()))
    if unknown:
        raise SettingsError(f"settings to try first {unknown} are not in the search space")
    apply_settings(config, params)
    return dict(params)


def _reserve(name: str | None, base: str, settings: SweepSettings, store, workspace) -> str:
    """The sweep's name (given, or DATASET-PRESET-N): free among sweeps and experiments."""
    from optuna.study import get_all_study_names

    taken = set(get_all_study_names(store))
    name = validate_name(name, "sweep name") if name else free_name(base, taken)
    validate_name(trial_name(name, settings.trials - 1), "sweep name (with its suffix -tNNN)")
    trials = re.compile(re.escape(name) + r"-t\d{3,}")
    clash = sorted(
        r.name for r in open_catalog(workspace).experiments() if trials.fullmatch(r.name)
    )
    if name in taken or clash:
        raise SettingsError(
            f"a sweep named {name!r} exists{f' (experiment {clash[0]})' if clash else ''}; "
            "choose another --name"
        )
    return name


def run_sweep(
    name: str,
    parallel: int | None = None,
    *,
    workspace: Workspace | None = None,
    interval: float = 1.0,
    on_round: Callable[[Sweep], None] = lambda sweep: None,
) -> Sweep:
    """Run the job pool (`critic.jobs.run_pending`, at most `parallel` jobs at a time, default
    the sweep's) until the sweep's jobs have ended, calling `on_round` with the sweep after each
    round. The pool starts queued jobs oldest first, this sweep's and any other. Ctrl-C cancels
    the sweep's jobs (a running trial is left stopped) and is raised again."""
    workspace = (workspace or Workspace.from_env()).ensure()
    sweep = load_sweep(name, workspace)
    parallel = parallel or sweep.settings.parallel
    try:
        while True:
            run_pending(workspace, parallel)
            sweep = load_sweep(name, workspace)
            on_round(sweep)
            if sweep.finished:
                return sweep
            time.sleep(interval)
    except KeyboardInterrupt:
        cancel_sweep(name, workspace=workspace)
        raise


def cancel_sweep(name: str, *, workspace: Workspace | None = None) -> Sweep:
    """Cancel the sweep's jobs: the queued at once, then the running (their trials stop)."""
    workspace = workspace or Workspace.from_env()
    jobs = _jobs(name, list_jobs(workspace))
    for job in sorted(jobs, key=lambda j: j.state != "queued"):
        if not job.finished:
            cancel(job.id, workspace=workspace)
    return load_sweep(name, workspace)


# -- reading --------------------------------------------------------------------------------------


def load_sweep(name: str, workspace: Workspace | None = None) -> Sweep:
    """The sweep as its study and jobs say now. A trial left running by a job that ended without
    telling the study (killed) is recorded failed first."""
    workspace = workspace or Workspace.from_env()
    study = open_study(name, workspace)
    jobs = _jobs(name, list_jobs(workspace))
    _settle(study, jobs, workspace)
    return _sweep(study, jobs, workspace)


def list_sweeps(workspace: Workspace | None = None) -> list[Sweep]:
    """Every sweep in the catalog's database, oldest first."""
    workspace = workspace or Workspace.from_env()
    optuna = _optuna()
    store = storage(workspace)
    jobs = list_jobs(workspace)
    sweeps = []
    for summary in optuna.get_all_study_summaries(store, include_best_trial=False):
        if KEY in summary.user_attrs:
            study = optuna.load_study(study_name=summary.study_name, storage=store)
            sweeps.append(_sweep(study, _jobs(study.study_name, jobs), workspace))
    return sorted(sweeps, key=lambda s: (s.created, s.name))


def _jobs(name: str, jobs: list[JobRecord]) -> tuple[JobRecord, ...]:
    return tuple(j for j in jobs if j.kind == JOB_KIND and j.target == name)


def _sweep(study, jobs: Sequence[JobRecord], workspace: Workspace) -> Sweep:
    record = study.user_attrs[KEY]
    name = study.study_name
    return Sweep(
        name,
        record["dataset"],
        record["preset"],
        SweepSettings(**record["settings"]),
        record["space"],
        record["config"],
        record["created"],
        record.get("user"),
        tuple(trial_row(t, name) for t in study.get_trials(deepcopy=False)),
        tuple(jobs),
        study.user_attrs.get(IMPORTANCES),
        workspace.root / SWEEPS / name,
    )


_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}


def trial_row(trial, sweep: str) -> TrialRow:
    start, end = trial.datetime_start, trial.datetime_complete
    return TrialRow(
        trial.number,
        trial.user_attrs.get("experiment", trial_name(sweep, trial.number)),
        _STATES.get(trial.state.name, "waiting"),
        trial.value if trial.state.name == "COMPLETE" else None,
        dict(trial.params) or dict(trial.system_attrs.get("fixed_params", {})),
        dict(sorted(trial.intermediate_values.items())),
        trial.user_attrs.get("error"),
        (end - start).total_seconds() if start and end else None,
    )


def _settle(study, jobs: Sequence[JobRecord], workspace: Workspace) -> None:
    """Once none of the sweep's jobs is queued or running, a trial still "running" whose run is
    not alive was left by a job that died without telling the study: it failed."""
    if any(not j.finished for j in jobs):
        return
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        experiment = trial.user_attrs.get("experiment")
        try:
            alive = experiment and get_experiment(experiment, workspace).status == "running"
        except CriticError:
            alive = False
        if not alive:
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)


# -- the report: importances and pictures ---------------------------------------------------------


def report_sweep(name: str, workspace: Workspace | None = None) -> Sweep:
    """Compute the settings' importances (with MIN_TRIALS_FOR_IMPORTANCE complete trials or
    more; kept in the study) and draw the sweep's PNGs into its folder."""
    from critic.experiments.sweep_plots import draw_sweep

    workspace = workspace or Workspace.from_env()
    study = open_study(name, workspace)
    importances = _importances(study)
    if importances is not None:
        study.set_user_attr(IMPORTANCES, importances)
    sweep = load_sweep(name, workspace)
    draw_sweep(sweep)
    return sweep


def _importances(study) -> dict | None:
    """PED-ANOVA importances (Optuna's default) over the complete trials, or None when there are
    too few of them or nothing varied."""
    from optuna.importance import get_param_importances
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return None
    varied = [k for k in complete[0].params if len({repr(t.params.get(k)) for t in complete}) > 1]
    if not varied:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "too few trials" notes: the count is checked above
        found = get_param_importances(study, params=varied)
    return {k: float(v) for k, v in found.items()}
