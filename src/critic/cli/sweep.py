"""`critic sweep`: search a preset's settings with Optuna, each trial an experiment run as a job:
create (and run), show, list, cancel. `critic sweep trial NAME` is what each trial's job runs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from critic.cli.base import App
from critic.cli.render import console, duration, plural

__all__ = ["app", "print_sweep", "sweeps_table"]

app = App(
    no_args_is_help=True,
    help="Search a preset's settings (Optuna): trials as experiments run as jobs, pruned by epoch.",
)

_NAME = typer.Argument(..., help="Sweep name (see `critic sweep list`).")
_STATE = {
    "complete": "[green]complete[/]",
    "pruned": "[yellow]pruned[/]",
    "failed": "[red]failed[/]",
    "running": "[cyan]running[/]",
    "waiting": "[dim]waiting[/]",
}


@app.command("create")
def sweep_create(
    dataset: str = typer.Option(
        ...,
        "--dataset",
        "-d",
        help="NAME or NAME@VERSION; trials are judged on its validation subset.",
    ),
    preset: str = typer.Option(..., "--preset", "-p", help="The model preset whose settings vary."),
    space: Path = typer.Option(
        ...,
        "--space",
        "-s",
        help="TOML search space: [train.learning_rate] float = [1e-4, 1e-2], log = true; ...",
    ),
    trials: int = typer.Option(10, "--trials", "-n", help="Trials (experiments) to run."),
    metric: str = typer.Option(
        "val_loss", "--metric", help="val_loss (lower is better) or val_accuracy (higher)."
    ),
    parallel: int = typer.Option(
        1, "--parallel", "-k", help="Trials at a time: the job pool's limit while this runs."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Sweep name (default: DATASET-PRESET-N); trials are NAME-tNNN."
    ),
    pruner: str = typer.Option(
        "median", "--pruner", help="median, halving (successive halving) or none."
    ),
    prune_from_epoch: int = typer.Option(
        2, "--prune-from-epoch", help="The first epoch after which a trial may be cut."
    ),
    prune_after_trials: int = typer.Option(
        2, "--prune-after-trials", help="Complete trials the median pruner waits for."
    ),
    seed: int = typer.Option(0, "--seed", help="The sampler's seed (trial N draws with SEED + N)."),
    wait: bool = typer.Option(
        True,
        "--wait/--no-wait",
        help="Run the trials here (default), or only queue them for a running pool.",
    ),
) -> None:
    """Create a sweep and run it: K trials at a time, progress as they end, then the summary."""
    from critic.experiments.sweep import SweepSettings, create_sweep, report_sweep, run_sweep

    _quiet_optuna()
    settings = SweepSettings(
        trials, parallel, metric, pruner, prune_from_epoch, prune_after_trials, seed
    )
    sweep = create_sweep(dataset, preset, space, settings, name=name)
    console.print(
        f"sweep [bold]{sweep.name}[/]: {plural(trials, 'trial')} of {sweep.preset} on "
        f"{sweep.dataset}, by {metric} ({settings.direction}), {parallel} at a time",
        soft_wrap=True,
    )
    if not wait:
        console.print(
            f"queued {plural(len(sweep.jobs), 'job')}: a pool runs them (`critic jobs work`, the "
            f"workbench's server); follow with `critic sweep show {sweep.name}`",
            soft_wrap=True,
        )
        return
    try:
        with _SweepView() as view:
            run_sweep(sweep.name, parallel, on_round=view)
    except KeyboardInterrupt:
        console.print(
            f"stopped: the sweep's queued jobs are cancelled and its running trials stopped; "
            f"see `critic sweep show {sweep.name}`",
            soft_wrap=True,
        )
        raise
    print_sweep(report_sweep(sweep.name))


@app.command("show")
def sweep_show(name: str = _NAME) -> None:
    """The best trial, every trial's state and value, the settings' importances, and the plots
    (PNG, redrawn now) in $CRITIC_HOME/sweeps/NAME/."""
    from critic.experiments.sweep import report_sweep

    _quiet_optuna()
    print_sweep(report_sweep(name))


@app.command("list")
def sweep_list() -> None:
    """Every sweep: dataset, preset, metric, trials by state, the best value, its status."""
    from critic.experiments.sweep import list_sweeps

    _quiet_optuna()
    sweeps = list_sweeps()
    console.print(
        sweeps_table(sweeps)
        if sweeps
        else "no sweeps yet: `critic sweep create --dataset NAME --preset linear --space space.toml`"
    )


@app.command("cancel")
def sweep_cancel(name: str = _NAME) -> None:
    """Cancel the sweep's jobs: queued ones at once, running trials stopped (resumable)."""
    from critic.experiments.sweep import cancel_sweep

    _quiet_optuna()
    sweep = cancel_sweep(name)
    console.print(f"{sweep.name}: {sweep.status}; {_counts(sweep)}")


@app.command("trial", hidden=True)
def sweep_trial(name: str = _NAME) -> None:
    """Run the sweep's next trial (what each of its jobs runs)."""
    from critic.experiments.sweep_trial import run_trial
    from critic.progress import TrainingView

    with TrainingView() as view:

        def log(event: dict) -> None:
            if event["event"] == "trial":
                settings = ", ".join(f"{k}={_value(v)}" for k, v in event["params"].items())
                view.console.print(
                    f"trial {event['trial']} ({event['experiment']}): {settings}", markup=False
                )
            view(event)

        row = run_trial(name, log=log)
    value = "" if row.value is None else f": {_value(row.value)}"
    console.print(f"trial {row.number} ({row.experiment}) {row.state}{value}", markup=False)


def _quiet_optuna() -> None:
    """Optuna's own INFO lines repeat what these commands print."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


class _SweepView:
    """`on_round` for run_sweep: a line as each trial ends, and a status line (running, queued,
    the best so far) on the terminal."""

    def __init__(self):
        self.seen: set[int] = set()
        self.status = Console(stderr=True).status("starting the trials")

    def __enter__(self) -> _SweepView:
        self.status.start()
        return self

    def __exit__(self, *exc) -> None:
        self.status.stop()

    def __call__(self, sweep) -> None:
        for t in sweep.trials:
            if t.number not in self.seen and t.state in ("complete", "pruned", "failed"):
                self.seen.add(t.number)
                console.print(_ended(t, sweep.settings.metric), soft_wrap=True)
        best = sweep.best
        shown = (
            f" · best {sweep.settings.metric} {_value(best.value)} (t{best.number:03d})"
            if best
            else ""
        )
        self.status.update(f"{sweep.name}: {_counts(sweep)}{shown}")


def _ended(trial, metric: str) -> str:
    settings = escape(", ".join(f"{k}={_value(v)}" for k, v in trial.params.items()))
    if trial.state == "complete":
        how = f"{metric} {_value(trial.value)}"
    elif trial.state == "pruned":
        how = f"after epoch {trial.last_epoch} ({metric} {_value(trial.epochs[trial.last_epoch])})"
    else:
        how = escape((trial.error or "its job failed").splitlines()[-1][:200])
    return f"t{trial.number:03d} {_STATE[trial.state]} {how}  {settings}"


def _counts(sweep) -> str:
    parts = [
        f"{sweep.count(s)} {s}"
        for s in ("complete", "pruned", "failed", "running", "queued")
        if sweep.count(s)
    ]
    return ", ".join(parts) or "no trial yet"


def _value(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def print_sweep(sweep) -> None:
    """The best trial, the trials, the importances, and where the pictures are."""
    s = sweep.settings
    console.print(
        f"[bold]{sweep.name}[/]  {sweep.preset} on {sweep.dataset}  {s.metric} ({s.direction})  "
        f"{plural(s.trials, 'trial')}: {_counts(sweep)}  ({sweep.status})",
        soft_wrap=True,
    )
    best = sweep.best
    if best:
        console.print(
            f"best: [bold]t{best.number:03d}[/] ({best.experiment})  {s.metric} {_value(best.value)}"
        )
        for key, value in best.params.items():
            console.print(f"  {key} = {_value(value)}", markup=False)
    console.print(_trials_table(sweep))
    if sweep.importances:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in sweep.importances.items())
        console.print(f"importances (PED-ANOVA): {shares}", markup=False)
    elif sweep.count("complete"):
        console.print("importances: after 3 complete trials with settings that differ")
    for path in sweep.plots:
        console.print(f"plot: {path}", soft_wrap=True, markup=False)
    names = [t.experiment for t in sweep.trials if t.state in ("complete", "pruned")]
    if len(names) >= 2:
        console.print(
            f"side by side: critic experiments compare {' '.join(names[:8])}", soft_wrap=True
        )


def _trials_table(sweep) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for header in (
        "trial",
        "state",
        sweep.settings.metric,
        "epochs",
        "time",
        "settings",
        "experiment",
    ):
        table.add_column(header, overflow="fold")
    best = sweep.best
    for t in sweep.trials:
        mark = " ★" if best is not None and t.number == best.number else ""
        table.add_row(
            f"t{t.number:03d}{mark}",
            _STATE[t.state] + (f"\n{escape(t.error.splitlines()[-1][:80])}" if t.error else ""),
            "-" if t.value is None else _value(t.value),
            str(t.last_epoch or "-"),
            "-" if t.seconds is None else duration(t.seconds),
            escape("\n".join(f"{k} {_value(v)}" for k, v in t.params.items())),
            t.experiment,
        )
    return table


def sweeps_table(sweeps) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for header in (
        "name",
        "dataset",
        "preset",
        "metric",
        "trials",
        "best",
        "status",
        "created\n(UTC)",
    ):
        table.add_column(header, overflow="fold")
    for sweep in sweeps:
        best = sweep.best
        table.add_row(
            sweep.name,
            sweep.dataset,
            sweep.preset,
            sweep.settings.metric,
            f"{_counts(sweep)} of {sweep.settings.trials}",
            "-" if best is None else f"{_value(best.value)} (t{best.number:03d})",
            sweep.status,
            sweep.created[5:16].replace("T", "\n"),
        )
    return table
