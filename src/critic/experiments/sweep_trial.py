"""One trial of a sweep, what a `critic sweep trial NAME` job does: ask the study for the next
trial, draw its settings, train it as experiment NAME-tNNN, report each epoch's validation
number, stop it when the pruner says so, and tell the study how it ended.

    complete   the run ended (done): its value is the metric at its best epoch
    pruned     the pruner cut it after an epoch: the run is left "stopped", resumable like any
    failed     its settings could not be combined, or the run failed or was cancelled

Kept apart from critic.experiments.sweep, which the workbench imports: this module trains."""

from __future__ import annotations

import math

from critic.errors import RunStopped
from critic.experiments.run import train_experiment
from critic.experiments.store import get_experiment
from critic.experiments.sweep import (
    KEY,
    TrialRow,
    base_config,
    open_study,
    report_sweep,
    sampler,
    settings_of,
    trial_name,
    trial_row,
)
from critic.experiments.sweep_space import Param, apply_settings, parse_space
from critic.train import Log
from critic.workspace import Workspace

__all__ = ["run_trial", "PruningLog"]


def run_trial(
    name: str, *, workspace: Workspace | None = None, log: Log = lambda event: None
) -> TrialRow:
    """Run the sweep's next trial to its end; its row. A failed or cancelled run is told to the
    study as failed and raised again."""
    from optuna.trial import TrialState

    workspace = (workspace or Workspace.from_env()).ensure()
    study = open_study(name, workspace)
    trial = study.ask()  # its number first: the settings are drawn with a seed of its own
    settings = settings_of(study)
    study.sampler = sampler(settings, trial.number)
    experiment = trial_name(name, trial.number)
    trial.set_user_attr("experiment", experiment)
    pruning = PruningLog(trial, settings.metric, then=log)
    try:
        space = parse_space(study.user_attrs[KEY]["space"])
        values = {p.key: _suggest(trial, p) for p in space.params}
        log({"event": "trial", "trial": trial.number, "experiment": experiment, "params": values})
        config = apply_settings(base_config(study), values)
        train_experiment(config, name=experiment, workspace=workspace, log=pruning)
    except RunStopped:
        study.tell(trial, state=TrialState.PRUNED)
    except BaseException as exc:
        why = "cancelled" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        trial.set_user_attr("error", why[:2000])
        study.tell(trial, state=TrialState.FAIL)
        raise
    else:
        study.tell(trial, _value(experiment, settings.metric, workspace))
    _report(name, workspace, log)
    (ended,) = [t for t in study.get_trials(deepcopy=False) if t.number == trial.number]
    return trial_row(ended, name)


def _suggest(trial, param: Param):
    if param.kind == "choice":
        return trial.suggest_categorical(param.key, list(param.choices))
    if param.kind == "int":
        return trial.suggest_int(
            param.key, param.low, param.high, step=param.step or 1, log=param.log
        )
    return trial.suggest_float(param.key, param.low, param.high, step=param.step, log=param.log)


def _value(experiment: str, metric: str, workspace: Workspace) -> float:
    """The metric at the run's best epoch (chosen by that same metric)."""
    return float(get_experiment(experiment, workspace).record.best_metrics[metric])


def _report(name: str, workspace: Workspace, log: Log) -> None:
    """The sweep's importances and pictures, redrawn with this trial in them. The trial is told
    already: a picture that cannot be drawn is said in the log, and costs the trial nothing."""
    try:
        report_sweep(name, workspace)
    except Exception as exc:  # noqa: BLE001 - see above; `critic sweep show` draws them again
        log({"event": "phase", "phase": f"the sweep's pictures were not redrawn: {exc}"})


class PruningLog:
    """A run's `log`: after each epoch, its metric is reported to the trial and the pruner asked;
    a run it cuts is stopped as the next epoch starts (RunStopped), so the epoch it was judged
    on is saved, recorded and in events.jsonl first. A metric that is not a number (a diverged
    run) is reported too: the pruners cut it."""

    def __init__(self, trial, metric: str, then: Log = lambda event: None):
        self.trial, self.metric, self.then = trial, metric, then
        self.cut: str | None = None  # why, once the pruner has said so

    def __call__(self, event: dict) -> None:
        self.then(event)
        kind = event["event"]
        if kind == "epoch_start" and self.cut:
            raise RunStopped(self.cut)
        if kind == "epoch_end" and event.get(self.metric) is not None:
            value, epoch = float(event[self.metric]), event["epoch"]
            self.trial.report(value, epoch)
            if self.trial.should_prune():
                shown = f"{value:.4f}" if math.isfinite(value) else str(value)
                self.cut = f"pruned after epoch {epoch} ({self.metric} {shown})"
