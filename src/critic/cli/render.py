"""How the CLI shows what the library returns: rich tables and lines for dataset versions, statistics,
experiments, comparisons, evaluations and deployments. Rendering only: every value shown comes from
the object passed in. Light on purpose (rich only), so importing it costs `critic --help` nothing."""

from __future__ import annotations

import urllib.parse

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from critic.cli.defaults import SUBSETS

__all__ = [
    "console",
    "plural",
    "num",
    "print_saved",
    "counts_table",
    "print_stats",
    "print_experiment",
    "experiments_table",
    "print_comparison",
    "print_evaluation",
    "print_deployment",
]

console = Console()


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 error`, `2 errors`, `1,000 rows`, `1 class`, `3 classes` (give `many` when it is not word + s)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def num(value) -> str:
    return "-" if value is None else f"{value:.4f}"


# -- datasets ---------------------------------------------------------------------------------------


def print_saved(saved, counts: bool = True) -> None:
    """A dataset version just imported (or found identical to one stored), its counts and rejects."""
    v, m = saved.version, saved.version.manifest
    if saved.created:
        console.print(
            f"[green]imported[/] [bold]{v.ref}[/]: {plural(m['rows']['total'], 'row')}, "
            f"{plural(len(m['classes']), 'class', 'classes')}, {m['rejected']['count']:,} rejected  →  {v.path}"
        )
    else:
        console.print(
            f"[yellow]identical content is already stored as[/] [bold]{v.ref}[/]; no new version made"
        )
    if counts:
        console.print(counts_table(m["rows"]["by_subset"]))
    if m["rejected"]["count"]:
        console.print(
            f"[yellow]{plural(m['rejected']['count'], 'row')} rejected[/] "
            f"(each with its line in {v.path / 'rejects.csv'}):"
        )
        for reason, n in list(m["rejected"]["by_reason"].items())[:5]:
            console.print(f"  {n:>6,}  {reason}")
    if m["source"].get("verified") is False:
        console.print(
            f"[yellow]warning:[/] the download was not verified; pin it with --sha256 {m['source']['sha256']}"
        )
    for warning in saved.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


def counts_table(by_subset: dict) -> Table:
    labels = sorted({label for counts in by_subset.values() for label in counts})
    table = Table("subset", *labels, "total", title="rows per subset and label")
    order = {name: i for i, name in enumerate(SUBSETS)}
    for subset, counts in sorted(
        by_subset.items(), key=lambda item: order.get(item[0], len(order))
    ):
        table.add_row(
            subset, *(f"{counts.get(label, 0):,}" for label in labels), f"{sum(counts.values()):,}"
        )
    return table


def print_stats(stats) -> None:
    """A DatasetStats: counts, words per text, coverage at sequence lengths, vocabulary, plots."""
    console.print(counts_table(stats.counts))
    lengths = Table(
        "subset",
        "texts",
        "min",
        "mean",
        "std",
        "median",
        "p90",
        "p95",
        "p99",
        "max",
        title="words per text (critic.text.words: HTML tags dropped, lowercased, punctuation dropped)",
    )
    for subset, s in stats.lengths.items():
        lengths.add_row(
            subset,
            f"{s.count:,}",
            str(s.min),
            f"{s.mean:.1f}",
            f"{s.std:.1f}",
            f"{s.median:.0f}",
            f"{s.p90:.0f}",
            f"{s.p95:.0f}",
            f"{s.p99:.0f}",
            f"{s.max:,}",
        )
    console.print(lengths)
    at = list(next(iter(stats.coverage.values())))
    cov = Table(
        "subset",
        *(f"≤ {n}" for n in at),
        "95 % at",
        title="share of texts that fit without truncation",
    )
    for subset, shares in stats.coverage.items():
        cov.add_row(
            subset,
            *(f"{shares[n]:.1%}" for n in at),
            f"{plural(stats.length_for_95[subset], 'word')}",
        )
    console.print(cov)
    console.print(
        f"vocabulary: {stats.vocabulary['train']:,} distinct words in train, {stats.vocabulary['all']:,} "
        f"in all labelled rows"
    )
    for name, path in stats.plots.items():
        console.print(f"  plot {name}: {path}")
    console.print(f"  stats.json: {stats.path}")


# -- experiments ------------------------------------------------------------------------------------


def status(value: str) -> str:
    return {
        "done": "[green]done[/]",
        "running": "[cyan]running[/]",
        "failed": "[red]failed[/]",
        "killed": "[red]killed[/] (resume it)",
    }.get(value, f"[yellow]{value}[/]")


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _is_linear(config: dict) -> bool:
    return config["model"].get("kind") == "linear"


def settings_cell(config: dict) -> str:
    """The settings that tell runs of one model apart, and only those the model reads: the linear
    model is fitted in one pass (no optimizer, batches or torch seed), so its n-gram range and C grid."""
    if config["model"].get("kind") == "ensemble":
        m = config["model"]
        members = ", ".join([*m.get("adopt", []), *m.get("members", [])])
        return f"members {members}\nseed {config['train']['seed']}"
    if _is_linear(config):
        m = config["model"]
        return f"n-grams {m['ngram_min']}-{m['ngram_max']}\nmin_df {_choices(m.get('min_df', 2))}\nC {_choices(m['C'])}"
    t = config["train"]
    return f"{t['optimizer']} {t['learning_rate']:g}\nbatch {t['batch_size']}\nseed {t['seed']}"


def _choices(value) -> str:
    """A setting that may be one value, several (validation picks one) or "auto"."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return ", ".join(v if isinstance(v, str) else f"{v:g}" for v in values)


def experiments_table(experiments) -> Table:
    """Every experiment: dataset, model, settings, status, best epoch and its validation numbers."""
    # narrow terminals fold cells instead of cutting them: a name or a number is never shortened
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for header in (
        "name",
        "dataset",
        "model",
        "settings",
        "status",
        "best/\nepochs",
        "val\nacc",
        "val\nloss",
        "time",
        "created\n(UTC)",
    ):
        table.add_column(header, overflow="fold")
    for e in experiments:
        r = e.record
        best = next((row for row in r.epochs if row["epoch"] == r.best_epoch), None)
        planned = r.config["train"]["epochs"]
        # best epoch / epochs done, and the planned total while a run is short of it: "2/3 of 5"
        epochs = f"{r.best_epoch or '-'}/{r.epochs_done}" + (
            "" if r.epochs_done == planned else f" of {planned}"
        )
        table.add_row(
            r.name,
            r.dataset,
            r.model,
            settings_cell(r.config),
            status(e.status),
            epochs,
            num(best and best["val_accuracy"]),
            num(best and best["val_loss"]),
            duration(r.seconds),
            r.created[5:16].replace("T", "\n"),
        )
    return table


def print_experiment(experiment, settings: bool = False) -> None:
    """One experiment's header line, its settings (those its model reads), epochs and checkpoints."""
    r = experiment.record
    console.print(
        f"[bold]{r.name}[/]  {r.model} on {r.dataset}  {status(experiment.status)}  {experiment.path}"
    )
    if r.error:
        console.print(f"  [red]{escape(r.error)}[/]")
    if settings:
        _print_settings(r.config)
    table = Table("epoch", "train loss", "train acc", "val loss", "val acc", "seconds", "samples/s")
    for row in r.epochs:
        mark = " ★" if row["epoch"] == r.best_epoch else ""
        table.add_row(
            f"{row['epoch']}{mark}",
            f"{row['train_loss']:.4f}",
            f"{row['train_accuracy']:.4f}",
            num(row["val_loss"]),
            num(row["val_accuracy"]),
            f"{row['seconds']:.1f}",
            f"{row['samples_per_s']:,.0f}",
        )
    console.print(table)
    for which in ("best", "last"):
        path = experiment.path / "checkpoints" / which
        if path.exists():
            console.print(f"  checkpoint {which}: {path}")


def _print_settings(config: dict) -> None:
    # the linear model reads no train settings that matter (one pass): its own are all in its model line
    sections = ("encoder",) if _is_linear(config) else ("encoder", "train")
    for section in sections:
        if config[section]:
            console.print(
                f"  [cyan]{section}[/] " + ", ".join(f"{k}={v}" for k, v in config[section].items())
            )
    model = config["model"]
    console.print(
        "  [cyan]model[/] "
        + (
            " → ".join(b["type"] for b in model["blocks"])
            if "blocks" in model
            else ", ".join(f"{k}={v}" for k, v in model.items())
        )
    )


def print_comparison(comparison, names: list[str]) -> None:
    """A Comparison: settings side by side, validation per epoch, evaluations, the curves PNG."""
    table = Table("setting", *names, title="settings")
    for key, values in comparison.settings:
        table.add_row(key, *values, style="bold" if len(set(values)) > 1 else "dim")
    console.print(table)
    console.print(_epochs_table(comparison.experiments, names))
    evaluated = sorted(
        {(ev["checkpoint"], _evaluated_on(ev)) for evs in comparison.evaluations for ev in evs}
    )
    if evaluated:
        console.print(_evaluations_table(comparison.evaluations, evaluated, names))
    console.print(f"curves: {comparison.curves}")


def _epochs_table(experiments, names: list[str]) -> Table:
    metrics = Table(
        "epoch", *(f"{n}\nval acc / loss" for n in names), title="validation per epoch (★ = best)"
    )
    for i in range(max((len(e.record.epochs) for e in experiments), default=0)):
        metrics.add_row(str(i + 1), *(_epoch_cell(e.record, i) for e in experiments))
    return metrics


def _epoch_cell(record, i: int) -> str:
    if i >= len(record.epochs):
        return ""
    row = record.epochs[i]
    return f"{num(row['val_accuracy'])} / {num(row['val_loss'])}" + (
        " ★" if row["epoch"] == record.best_epoch else ""
    )


def _evaluations_table(
    evaluations: list[list[dict]], evaluated: list[tuple[str, str]], names: list[str]
) -> Table:
    table = Table(
        "checkpoint", "subset", *(f"{n}\naccuracy / loss" for n in names), title="evaluations"
    )
    for checkpoint, subset in evaluated:
        cells = []
        for evs in evaluations:
            ev = next(
                (e for e in evs if (e["checkpoint"], _evaluated_on(e)) == (checkpoint, subset)),
                None,
            )
            cells.append(
                f"{ev['accuracy']:.4f} / {ev['loss']:.4f} (epoch {ev['epoch']})" if ev else "-"
            )
        table.add_row(checkpoint, subset, *cells)
    return table


# -- evaluations ------------------------------------------------------------------------------------


def print_evaluation(ev, brief: bool = False) -> None:
    """An Evaluation's summary line, then (unless brief) its confusion matrix and per-class table."""
    m = ev.metrics
    console.print(
        f"[bold]{ev.experiment}[/] {ev.checkpoint} checkpoint (epoch {ev.epoch}) on "
        f"[bold]{ev.subset if ev.own_dataset else f'{ev.dataset} {ev.subset}'}[/]: "
        f"accuracy [bold]{m['accuracy']:.2%}[/], loss {m['loss']:.4f}, baseline {m['baseline_accuracy']:.2%} "
        f"(always {m['baseline_class']}), {plural(m['incorrect'], 'error')} of {m['n']:,}, "
        f"calibration error {m['ece']:.4f}"
        + (f", ROC AUC {m['roc_auc']:.4f}" if "roc_auc" in m else "")
        + f"  [dim]({ev.seconds:.1f} s)[/]"
    )
    if brief:
        console.print(f"  report: {ev.file('report.html')}", soft_wrap=True)
        return
    console.print(_confusion_table(m))
    console.print(_per_class_table(m))
    console.print(f"  report: {ev.file('report.html')}")
    console.print(
        f"  files: {ev.folder} (metrics.json, errors.csv, "
        + ", ".join(sorted(p.name for p in ev.folder.glob("*.png")))
        + ")"
    )


def _confusion_table(m: dict) -> Table:
    classes = list(m["per_class"])
    confusion = Table("true \\ predicted", *classes, title="confusion matrix")
    for name, row in zip(classes, m["confusion_matrix"]):
        confusion.add_row(name, *(f"{v:,}" for v in row))
    return confusion


def _per_class_table(m: dict) -> Table:
    per_class = Table("class", "precision", "recall", "F1", "support", "correct", "incorrect")
    for name, c in m["per_class"].items():
        per_class.add_row(
            name,
            f"{c['precision']:.4f}",
            f"{c['recall']:.4f}",
            f"{c['f1']:.4f}",
            f"{c['support']:,}",
            f"{c['correct']:,}",
            f"{c['incorrect']:,}",
        )
    for average in ("macro_avg", "weighted_avg"):
        a = m[average]
        per_class.add_row(
            average.replace("_avg", " avg"),
            f"{a['precision']:.4f}",
            f"{a['recall']:.4f}",
            f"{a['f1']:.4f}",
            f"{m['n']:,}",
            "",
            "",
            style="dim",
        )
    return per_class


# -- deployments ------------------------------------------------------------------------------------


_RUNTIME_SHOWN = {
    "torch": "torch (PyTorch)",
    "torch-bf16": "torch-bf16 (PyTorch, bfloat16)",
    "onnx": "onnx (ONNX Runtime, fp32)",
    "onnx-int8": "onnx-int8 (ONNX Runtime, weights quantized to int8)",
}


def print_deployment(d, base_url: str, token: str | None = None) -> None:
    """A deployment's URL at `base_url`, its input name, state, token (when just made) and examples."""
    from critic.deploy import PREDICT_PATH  # loaded already by every command that has a deployment

    base = base_url.rstrip("/")
    url = base + PREDICT_PATH.format(name=d.name)
    shown = token or "<token>"
    state = (
        "[green]enabled[/]"
        if d.enabled
        else "[red]disabled[/] (`critic deploy enable " + d.name + "`)"
    )
    console.print(f"[bold]{d.name}[/]: {d.experiment}, {d.checkpoint} checkpoint, {state}")
    console.print(f"  URL         {url}", soft_wrap=True)
    console.print(f"  input name  {d.input_name}")
    console.print(f"  runtime     {_RUNTIME_SHOWN.get(d.runtime, d.runtime)}")
    if token:
        console.print(f"  token       [bold yellow]{token}[/]", soft_wrap=True)
        console.print(
            "  [yellow]the token is shown once: store it now (`critic deploy rotate-token` makes a new one)[/]"
        )
    console.print("  try it (`critic serve` must be running):")
    console.print(
        f'    curl -X POST -F "{d.input_name}=A fun brain candy movie" -u "{shown}:" {url}',
        soft_wrap=True,
        markup=False,
    )
    console.print(
        f'    curl -X POST -H "Content-Type: application/json" -d \'{{"{d.input_name}": "A fun brain candy '
        f'movie"}}\' -u "{shown}:" {url}',
        soft_wrap=True,
        markup=False,
    )
    query = urllib.parse.urlencode({"url": url, "input": d.input_name})
    console.print(f"  tester page {base}/tester?{query}", soft_wrap=True, markup=False)


def _evaluated_on(evaluation: dict) -> str:
    """A compare row's subset: "test", or "test of reviews@2" when the dataset is another's."""
    return f"{evaluation['subset']} of {evaluation['dataset']}"


# -- jobs -------------------------------------------------------------------------------------------


def job_state(value: str) -> str:
    return {
        "queued": "[dim]queued[/]",
        "running": "[cyan]running[/]",
        "done": "[green]done[/]",
        "failed": "[red]failed[/]",
        "cancelled": "[yellow]cancelled[/]",
    }.get(value, escape(value))


def jobs_table(jobs) -> Table:
    """Jobs (critic.jobs.JobRecord): id, state, kind, target, user, where it runs (local, ray),
    queued at, how long it ran."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for header in ("id", "state", "kind", "target", "user", "on", "queued (UTC)", "time"):
        table.add_column(header, overflow="fold")
    for job in jobs:
        seconds = job.seconds()
        table.add_row(
            job.id,
            job_state(job.state),
            job.kind,
            escape(job.target or "-"),
            escape(job.user or "-"),
            job.executor,
            job.created[:16].replace("T", " "),
            "-" if seconds is None else duration(seconds),
        )
    return table


def print_job(job, root) -> None:
    """One job: command, state, times, exit code, where it runs, its log, and why it failed."""
    console.print(f"[bold]{job.id}[/]  {job_state(job.state)}  {job.kind}")
    seconds = job.seconds()
    for key, value in (
        ("command", job.command),
        ("target", job.target),
        ("user", job.user),
        ("queued", job.created),
        ("started", job.started),
        ("ended", job.ended),
        ("time", None if seconds is None else duration(seconds)),
        ("exit code", job.exit_code),
        ("runs on", job.executor + (f" ({job.handle})" if job.handle else "")),
        ("log", root / job.log),
    ):
        if value is not None:
            console.print(f"  {key:<10}{value}", soft_wrap=True, markup=False, highlight=False)
    if job.error:
        console.print(f"  [red]error[/] (its log's last lines; all: critic jobs logs {job.id})")
        console.print(escape(job.error), soft_wrap=True, highlight=False)
    elif not job.finished:
        console.print(f"  follow it: critic jobs logs {job.id} --follow", markup=False)


def print_job_started(job) -> None:
    """A line for each job a pool starts (or could not start)."""
    if job.state == "failed":
        console.print(f"[red]could not start[/] {job.id}: {escape(job.error or '')}")
    else:
        console.print(f"started {job.id} ({job.handle}): {escape(job.command)}", soft_wrap=True)
