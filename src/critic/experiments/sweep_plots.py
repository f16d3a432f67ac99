"""A sweep's pictures (matplotlib, Agg, in critic.plots' style), drawn into
$CRITIC_HOME/sweeps/NAME/ by `report_sweep` (after every trial, and by `critic sweep show`):

    history.png      each trial's value by trial number, the best so far as a line
    epochs.png       each trial's metric epoch by epoch: where the pruned ones were cut
    settings.png     the value against each setting's value, one panel a setting
    importances.png  each setting's share of the value's variation (enough trials only)

Each file is written whole and then renamed into place: trials that end together never leave a
half-written picture for the workbench to serve. Importing this module loads no matplotlib."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

__all__ = ["PLOTS", "draw_sweep"]

PLOTS = ("history.png", "epochs.png", "settings.png", "importances.png")
_MARK = {"complete": ("o", "C0"), "pruned": ("x", "C3")}


def draw_sweep(sweep) -> list[Path]:
    """Every picture the sweep (critic.experiments.sweep.Sweep) has data for; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    sweep.folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    if any(_shown_value(t) is not None for t in sweep.trials):
        drawn += [_history(sweep), _epochs(sweep), _settings(sweep)]
    if sweep.importances:
        drawn.append(_importances(sweep))
    return drawn


def _shown_value(trial) -> float | None:
    """A complete trial's value; a pruned one's last reported metric (finite ones only)."""
    if trial.state == "complete":
        value = trial.value
    elif trial.state == "pruned" and trial.epochs:
        value = trial.epochs[trial.last_epoch]
    else:
        return None
    return value if value is not None and math.isfinite(value) else None


def _history(sweep) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for state, (marker, colour) in _MARK.items():
        shown = [(t.number, _shown_value(t)) for t in sweep.trials if t.state == state]
        shown = [(n, v) for n, v in shown if v is not None]
        if shown:
            label = "complete" if state == "complete" else "pruned (last epoch's value)"
            ax.plot(*zip(*shown), marker, color=colour, linestyle="", label=label)
    best, line = None, []
    better = min if sweep.settings.direction == "minimize" else max
    for t in sorted(sweep.trials, key=lambda t: t.number):
        if t.state == "complete" and t.value is not None and math.isfinite(t.value):
            best = t.value if best is None else better(best, t.value)
        if best is not None:
            line.append((t.number, best))
    if line:
        ax.step(*zip(*line), where="post", color="C2", label="best so far")
    ax.set(xlabel="trial", ylabel=sweep.settings.metric)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, sweep.folder / "history.png", f"sweep {sweep.name} · {_about(sweep)}")


def _epochs(sweep) -> Path:
    import matplotlib.pyplot as plt

    best = sweep.best
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for t in sweep.trials:
        if not t.epochs:
            continue
        epochs, values = list(t.epochs), list(t.epochs.values())
        is_best = best is not None and t.number == best.number
        colour = "C2" if is_best else "C3" if t.state == "pruned" else "C0"
        style = "--" if t.state == "pruned" else "-"
        ax.plot(
            epochs,
            values,
            style,
            color=colour,
            alpha=1.0 if is_best else 0.6,
            linewidth=2.2 if is_best else 1.2,
            label=f"t{t.number:03d} (best)" if is_best else None,
        )
        if t.state == "pruned":
            ax.plot(epochs[-1], values[-1], "x", color="C3")
    ax.plot([], [], "--x", color="C3", label="pruned")
    ax.set(xlabel="epoch", ylabel=f"{sweep.settings.metric} (validation)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(
        fig, sweep.folder / "epochs.png", f"sweep {sweep.name} · the metric epoch by epoch"
    )


def _settings(sweep) -> Path:
    import matplotlib.pyplot as plt

    from critic.experiments.sweep_space import parse_space

    params = parse_space(sweep.space).params
    columns = min(3, len(params))
    rows = math.ceil(len(params) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for ax, param in zip(axes.flat, params):
        for state, (marker, colour) in _MARK.items():
            points = [
                (t.params[param.key], _shown_value(t))
                for t in sweep.trials
                if t.state == state and param.key in t.params and _shown_value(t) is not None
            ]
            if param.kind == "choice":  # positions in the list, named on the axis
                points = [(param.choices.index(x), y) for x, y in points if x in param.choices]
            if points:
                ax.plot(*zip(*points), marker, color=colour, linestyle="", label=state)
        if param.kind == "choice":
            ax.set_xticks(range(len(param.choices)), [str(c) for c in param.choices])
        elif param.log:
            ax.set_xscale("log")
        ax.set(xlabel=param.key, ylabel=sweep.settings.metric)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(params) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    return _save(fig, sweep.folder / "settings.png", f"sweep {sweep.name} · the value by setting")


def _importances(sweep) -> Path:
    import matplotlib.pyplot as plt

    items = sorted(sweep.importances.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.5 * len(items)))
    ax.barh([k for k, _ in items], [v for _, v in items], color="C0")
    for y, (_, v) in enumerate(items):
        ax.text(v, y, f" {v:.0%}", va="center", fontsize=8)
    ax.set(xlabel=f"share of the variation of {sweep.settings.metric} (PED-ANOVA)", xlim=(0, 1.1))
    ax.grid(axis="x", alpha=0.3)
    complete = sweep.count("complete")
    return _save(
        fig,
        sweep.folder / "importances.png",
        f"sweep {sweep.name} · importances over {complete} complete trials",
    )


def _about(sweep) -> str:
    counts = ", ".join(
        f"{sweep.count(s)} {s}" for s in ("complete", "pruned", "failed") if sweep.count(s)
    )
    return f"{sweep.settings.metric} by trial ({counts or 'none ended'})"


def _save(fig, path: Path, title: str) -> Path:
    """critic.plots' finish (title, layout, 110 dpi), written whole, then renamed into place."""
    import matplotlib.pyplot as plt

    fig.suptitle(textwrap.fill(title, width=int(fig.get_figwidth() * 10)), fontsize=10)
    fig.tight_layout()
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    fig.savefig(part, dpi=110, format="png")
    plt.close(fig)
    os.replace(part, path)
    return path
