"""The `critic` command: a thin layer over importable functions. Each command parses its options,
calls one function, and renders the result with rich."""

from __future__ import annotations

import sys
import urllib.parse
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

import critic
from critic.data import IMDB_URL, SUBSETS, SplitSettings, import_dataset, list_versions, load_version, resplit
from critic.data.stats import COVERAGE_LENGTHS, DatasetStats, dataset_stats, wordpiece_cut
from critic.errors import CriticError, MissingModel, SettingsError
from critic.experiments.compare import compare_experiments
from critic.experiments.configure import build_config, input_spec_of
from critic.experiments.run import resume_experiment, train_experiment
from critic.experiments.store import get_experiment, list_experiments
from critic.models.graph import GraphModel
from critic.presets import get_preset, preset_names
from critic.models.pretrained import resolve_pretrained
from critic.deploy import (PREDICT_PATH, create_deployment, delete_deployment, get_deployment, list_deployments, rotate_token,
                           set_enabled)
from critic.evaluate import evaluate
from critic.batch_predict import predict_file
from critic.predictor import Predictor
from critic.progress import TrainingView
from critic.quickstart import quickstart

app = typer.Typer(no_args_is_help=True, add_completion=False, help="critic: labelled text → a deployed text classifier.")
data_app = typer.Typer(no_args_is_help=True, help="Import datasets, list their versions, look at their statistics.")
app.add_typer(data_app, name="data")
experiments_app = typer.Typer(no_args_is_help=True, help="List, inspect and compare training runs.")
app.add_typer(experiments_app, name="experiments")
models_app = typer.Typer(no_args_is_help=True, help="The model presets and their block graphs.")
app.add_typer(models_app, name="models")
deploy_app = typer.Typer(no_args_is_help=True, help="Deployments: a checkpoint behind the HTTP API, with its own token.")
app.add_typer(deploy_app, name="deploy")
console = Console()

_VAL = typer.Option(0.2, "--validation-fraction", help="Share of the train rows held out for validation (stratified).")
_TEST = typer.Option(0.0, "--test-fraction", help="Share of rows held out for test when the source has no test split.")
_SEED = typer.Option(42, "--seed", help="Seed of the stratified draw; recorded in the manifest.")


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"critic {critic.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Workspace: $CRITIC_HOME (default ~/.critic)."""


@data_app.command("import")
def data_import(
    name: str = typer.Argument(..., help="Dataset name, e.g. imdb (letters, digits, . _ -)."),
    source: str = typer.Option(..., "--source", "-s", help="aclImdb folder, .tar.gz or URL; or a .csv/.tsv/.jsonl/.parquet/.zip file or URL."),
    format: Optional[str] = typer.Option(None, "--format", help="aclimdb, csv, tsv, jsonl, parquet or zip (default: from the name)."),
    text: Optional[str] = typer.Option(None, "--text", help="Column holding the text (default: text/review/...)."),
    label: Optional[str] = typer.Option(None, "--label", help="Column holding the label (default: label/sentiment/...)."),
    subset_column: Optional[str] = typer.Option(None, "--subset-column", help="Column giving train/validation/test per row."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of CSV/TSV/JSONL (utf-8 reads with or without BOM)."),
    delimiter: Optional[str] = typer.Option(None, "--delimiter", help="CSV field separator, e.g. ';' (default ',' for CSV, tab for TSV)."),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="Expected sha256 of the source file; a mismatch stops the import."),
    include_unsup: bool = typer.Option(False, "--include-unsup", help="aclImdb: also keep train/unsup (unlabelled)."),
    validation_fraction: float = _VAL,
    test_fraction: float = _TEST,
    seed: int = _SEED,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Import a dataset as a new immutable version."""
    saved = import_dataset(name, source, format=format, text=text, label=label, subset_column=subset_column,
                           encoding=encoding, delimiter=delimiter, sha256=sha256, include_unsup=include_unsup,
                           split=SplitSettings(validation_fraction, test_fraction, seed), progress=not quiet)
    _print_saved(saved)


@data_app.command("split")
def data_split(ref: str = typer.Argument(..., help="NAME or NAME@VERSION"), validation_fraction: float = _VAL,
               test_fraction: float = _TEST, seed: int = _SEED) -> None:
    """Make a new version with other subset settings (same rows)."""
    _print_saved(resplit(ref, SplitSettings(validation_fraction, test_fraction, seed)))


@data_app.command("list")
def data_list() -> None:
    """Every dataset version in the workspace."""
    table = Table("version", "rows", "rejected", "classes", "train / valid. / test", "created (UTC)")
    for v in list_versions():
        m = v.manifest
        classes = ", ".join(m["classes"][:4]) + (f" (+{len(m['classes']) - 4})" if len(m["classes"]) > 4 else "")
        table.add_row(v.ref, f"{m['rows']['total']:,}", f"{m['rejected']['count']:,}", classes,
                      _subset_sizes(m), m["created"][:16].replace("T", " "))
    console.print(table if table.rows else "no datasets yet: run `critic data import NAME --source ...`")


@data_app.command("show")
def data_show(ref: str = typer.Argument(..., help="NAME or NAME@VERSION")) -> None:
    """One version's manifest: source, checksum, counts, subsets, rejects."""
    v = load_version(ref)
    m = v.manifest
    console.print(f"[bold]{v.ref}[/]  {v.path}")
    for key, value in (("source", m["source"]["location"]), ("format", m["source"]["format"]),
                       ("source sha256", m["source"]["sha256"]), ("fingerprint", m["fingerprint"]),
                       ("columns", f"text={m['columns']['text']!r} label={m['columns']['label']!r}"),
                       ("classes", ", ".join(m["classes"])), ("split", _split_text(m["split"])),
                       ("rejected", f"{m['rejected']['count']:,}" + (f" (see {v.path / m['rejected']['file']})" if m["rejected"]["file"] else "")),
                       ("created", f"{m['created']} by critic {m['critic_version']}")):
        console.print(f"  [cyan]{key:>13}[/] {value}")
    console.print(_counts_table(m["rows"]["by_subset"]))
    for reason, n in list(m["rejected"]["by_reason"].items())[:10]:
        console.print(f"  rejected {n:>6,}  {reason}")
    for warning in m["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")


@data_app.command("stats")
def data_stats(
    ref: str = typer.Argument(..., help="NAME or NAME@VERSION"),
    lengths: str = typer.Option(",".join(map(str, COVERAGE_LENGTHS)), "--lengths",
                                help="Sequence lengths for the coverage table, comma-separated."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="Also count WordPiece tokens of this model "
                                            "(a directory or hub name, e.g. sentence-transformers/all-MiniLM-L6-v2)."),
) -> None:
    """Label balance, words per text, vocabulary, coverage at sequence lengths; writes PNG plots."""
    _print_stats(dataset_stats(ref, lengths=_int_list(lengths, "--lengths")))
    if tokenizer:
        cut = wordpiece_cut(ref, tokenizer)
        at = list(next(iter(cut.values()))["cut"])
        table = Table("subset", "texts", "median tokens", *(f"cut at {n}" for n in at),
                      title=f"WordPiece tokens of {tokenizer} ([CLS] and [SEP] included)")
        for subset, row in cut.items():
            table.add_row(subset, f"{row['texts']:,}", f"{row['median']:.0f}", *(f"{row['cut'][n]:.1%}" for n in at))
        console.print(table)


@app.command("quickstart")
def quickstart_command(
    source: str = typer.Option(IMDB_URL, "--source", "-s", envvar="CRITIC_IMDB_SOURCE",
                               help="IMDB: the upstream URL (default), a local aclImdb_v1.tar.gz or folder, or any "
                                    "labelled table (CSV, TSV, JSONL, Parquet, zip)."),
    name: str = typer.Option("imdb", "--name", help="Dataset name in the workspace."),
    preset: str = typer.Option("linear", "--preset", "-p", help="The model to train (see `critic models list`)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Where to serve the deployment."),
    port: int = typer.Option(8000, "--port"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the deployment until Ctrl-C (default) or stop."),
    test_fraction: float = typer.Option(0.0, "--test-fraction", help="For a table without a test split: the share "
                                        "held out as test (stratified)."),
    text: Optional[str] = typer.Option(None, "--text", help="A table's text column (default: text/review/...)."),
    label: Optional[str] = typer.Option(None, "--label", help="A table's label column (default: label/sentiment/...)."),
) -> None:
    """The main job: import, statistics, train, evaluate, deploy, serve."""
    with TrainingView() as view:
        result = quickstart(source, name=name, preset=preset, text=text, label=label,
                            split=SplitSettings(test_fraction=test_fraction), log=view)
    _print_saved(result.imported, counts=False)  # the statistics below show the counts
    _print_stats(result.stats)
    _print_experiment(result.experiment)
    for ev in result.evaluations:
        _print_evaluation(ev, brief=True)
    base = f"http://{host}:{port}"
    _print_deployment(result.deployment.deployment, base, token=result.deployment.token)
    if not serve:
        console.print(f"serve it with `critic serve --host {host} --port {port}`")
        return
    import uvicorn

    from critic.server import create_app

    console.print(f"[bold green]serving[/] {base} (tester: {base}/tester, docs: {base}/docs); Ctrl-C stops", soft_wrap=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", access_log=False)


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{option} takes whole numbers separated by commas, e.g. 128,256,512; got {text!r}") from None


@app.command("train")
def train_command(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="NAME or NAME@VERSION to train on."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="A model preset (see `critic models list`)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML (or YAML) file with encoder, model (blocks) and train tables."),
    name: Optional[str] = typer.Option(None, "--name", help="Experiment name (default: PRESET-N)."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue this experiment from its last finished epoch."),
    epochs: Optional[int] = typer.Option(None, "--epochs"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    learning_rate: Optional[float] = typer.Option(None, "--learning-rate", "--lr"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam, adamw, sgd, rmsprop or adadelta."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (0 = its default)."),
    checkpoint_metric: Optional[str] = typer.Option(None, "--checkpoint-metric", help="val_loss (default) or val_accuracy."),
    early_stopping: Optional[int] = typer.Option(None, "--early-stopping", help="Patience in epochs (0 = off)."),
    class_weight: Optional[str] = typer.Option(None, "--class-weight", help="none, balanced, or LABEL=W,LABEL=W."),
    sequence_length: Optional[int] = typer.Option(None, "--sequence-length"),
    max_words: Optional[int] = typer.Option(None, "--max-words"),
    pretrained: Optional[str] = typer.Option(None, "--pretrained", help="For BERT-style presets: a local model "
                                             "directory or hub name to use instead of the preset's."),
) -> None:
    """Train a model on a dataset version: a preset, or your own block graph from --config."""
    train = {k: v for k, v in dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, optimizer=optimizer,
                                   weight_decay=weight_decay, seed=seed, device=device, threads=threads,
                                   checkpoint_metric=checkpoint_metric, early_stopping=early_stopping,
                                   class_weight=_class_weight(class_weight) if class_weight else None).items()
             if v is not None}
    with TrainingView() as view:
        if resume:
            if set(train) - {"epochs"} or dataset or preset or config or pretrained:
                raise SettingsError("--resume continues with the run's saved settings; only --epochs may change")
            experiment = resume_experiment(resume, log=view, epochs=epochs)
        else:
            if not dataset:
                raise SettingsError("name the data with --dataset NAME (see `critic data list`)")
            encoder = {k: v for k, v in dict(sequence_length=sequence_length, max_words=max_words).items() if v is not None}
            cfg = build_config(dataset, preset=preset, config_file=config, train=train, encoder=encoder, pretrained=pretrained)
            experiment = train_experiment(cfg, name=name, log=view)
    _print_experiment(experiment)


@experiments_app.command("list")
def experiments_list() -> None:
    """Every experiment: dataset, model, status, best epoch and its validation numbers."""
    # narrow terminals fold cells instead of cutting them: a name or a number is never shortened
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for header in ("name", "dataset", "model", "settings", "status", "best/\nepochs", "val\nacc", "val\nloss", "time",
                   "created\n(UTC)"):
        table.add_column(header, overflow="fold")
    for e in list_experiments():
        r = e.record
        best = next((row for row in r.epochs if row["epoch"] == r.best_epoch), None)
        t = r.config["train"]
        key = f"{t['optimizer']} {t['learning_rate']:g}\nbatch {t['batch_size']}\nseed {t['seed']}"
        # best epoch / epochs done, and the planned total while a run is short of it: "2/3 of 5"
        epochs = f"{r.best_epoch or '-'}/{r.epochs_done}" + ("" if r.epochs_done == t["epochs"] else f" of {t['epochs']}")
        table.add_row(r.name, r.dataset, r.model, key, _status(e.status), epochs,
                      _num(best and best["val_accuracy"]), _num(best and best["val_loss"]),
                      _duration(r.seconds), r.created[5:16].replace("T", "\n"))
    console.print(table if table.rows else "no experiments yet: run `critic train --dataset NAME --preset kim-cnn`")


@experiments_app.command("show")
def experiments_show(name: str = typer.Argument(...)) -> None:
    """One experiment: settings, per-epoch metrics, checkpoints."""
    _print_experiment(get_experiment(name), settings=True)


@experiments_app.command("compare")
def experiments_compare(names: list[str] = typer.Argument(..., help="Two or more experiment names.")) -> None:
    """Settings and per-epoch metrics side by side, plus an overlaid curves PNG."""
    comparison = compare_experiments(names)
    table = Table("setting", *names, title="settings")
    for key, values in comparison.settings:
        style = "bold" if len(set(values)) > 1 else "dim"
        table.add_row(key, *values, style=style)
    console.print(table)
    epochs = max((len(e.record.epochs) for e in comparison.experiments), default=0)
    metrics = Table("epoch", *(f"{n}\nval acc / loss" for n in names), title="validation per epoch (★ = best)")
    for i in range(epochs):
        cells = []
        for e in comparison.experiments:
            rows = e.record.epochs
            cells.append(f"{_num(rows[i]['val_accuracy'])} / {_num(rows[i]['val_loss'])}"
                         + (" ★" if rows[i]["epoch"] == e.record.best_epoch else "") if i < len(rows) else "")
        metrics.add_row(str(i + 1), *cells)
    console.print(metrics)
    evaluated = sorted({(ev["checkpoint"], ev["subset"]) for evs in comparison.evaluations for ev in evs})
    if evaluated:
        table = Table("checkpoint", "subset", *(f"{n}\naccuracy / loss" for n in names), title="evaluations")
        for checkpoint, subset in evaluated:
            cells = []
            for evs in comparison.evaluations:
                ev = next((e for e in evs if (e["checkpoint"], e["subset"]) == (checkpoint, subset)), None)
                cells.append(f"{ev['accuracy']:.4f} / {ev['loss']:.4f} (epoch {ev['epoch']})" if ev else "-")
            table.add_row(checkpoint, subset, *cells)
        console.print(table)
    console.print(f"curves: {comparison.curves}")


@app.command("evaluate")
def evaluate_command(
    experiment: str = typer.Argument(..., help="Experiment name (see `critic experiments list`)."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="best or last."),
    subset: str = typer.Option("test", "--subset", help="validation, test, or all (each in turn)."),
) -> None:
    """Metrics, confusion matrix, errors, plots and an HTML report for one checkpoint."""
    for ev in evaluate(experiment, checkpoint=checkpoint, subset=subset):
        _print_evaluation(ev)


@app.command("predict")
def predict_command(
    experiment: str = typer.Argument(..., help="Experiment name."),
    texts: Optional[list[str]] = typer.Argument(None, help="Texts to classify (or use --file)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="A CSV/TSV/JSONL/Parquet table with a text column."),
    text_column: Optional[str] = typer.Option(None, "--text-column", help="The column holding the text (default: guessed)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where --file's predictions go (default: FILE.predictions.csv)."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="best or last."),
) -> None:
    """Classify texts with an experiment's checkpoint: every class's probability."""
    if bool(texts) == bool(file):
        raise SettingsError("give texts as arguments or one --file, not both and not neither")
    predictor = Predictor.from_checkpoint(get_experiment(experiment).checkpoint(checkpoint))
    if texts:
        table = Table("text", "label", *predictor.classes)
        for text, row in zip(texts, predictor.predict_proba(texts)):
            table.add_row(text if len(text) <= 80 else text[:77] + "...", predictor.classes[int(row.argmax())],
                          *(f"{p:.4f}" for p in row))
        console.print(table)
        return
    written = predict_file(predictor, file, output=output, text_column=text_column)
    console.print(f"[green]predicted[/] {written.rows:,} rows → {written.path}"
                  + (f" ({written.empty:,} had no text and were predicted as an empty review)" if written.empty else ""))


_BASE_URL = typer.Option("http://127.0.0.1:8000", "--base-url", envvar="CRITIC_PUBLIC_URL",
                         help="Where `critic serve` is reached, for the printed URL and examples.")


@deploy_app.command("create")
def deploy_create(
    experiment: str = typer.Argument(..., help="Experiment name."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="best or last."),
    name: Optional[str] = typer.Option(None, "--name", help="Deployment name (default: EXPERIMENT-CHECKPOINT)."),
    disabled: bool = typer.Option(False, "--disabled", help="Create it disabled (enable later)."),
    base_url: str = _BASE_URL,
) -> None:
    """Deploy a checkpoint: prints its URL, input name, token (shown once) and curl examples."""
    created = create_deployment(experiment, checkpoint=checkpoint, name=name, enabled=not disabled)
    _print_deployment(created.deployment, base_url, token=created.token)


@deploy_app.command("list")
def deploy_list() -> None:
    """Every deployment and whether it is enabled."""
    table = Table("name", "experiment", "checkpoint", "input", "enabled", "created (UTC)", "updated (UTC)")
    for d in list_deployments():
        table.add_row(d.name, d.experiment, d.checkpoint, d.input_name, "[green]yes[/]" if d.enabled else "[red]no[/]",
                      d.created[:16].replace("T", " "), d.updated[:16].replace("T", " "))
    console.print(table if table.rows else "no deployments yet: `critic deploy create EXPERIMENT`")


@deploy_app.command("show")
def deploy_show(name: str = typer.Argument(...), base_url: str = _BASE_URL) -> None:
    """One deployment: URL, input name, state and examples (the token is never shown again)."""
    _print_deployment(get_deployment(name), base_url)


@deploy_app.command("enable")
def deploy_enable(name: str = typer.Argument(...)) -> None:
    """Answer calls again (a running server notices within a second)."""
    set_enabled(name, True)
    console.print(f"[green]enabled[/] {name}")


@deploy_app.command("disable")
def deploy_disable(name: str = typer.Argument(...)) -> None:
    """Refuse calls (404) until enabled again; the token is kept."""
    set_enabled(name, False)
    console.print(f"[yellow]disabled[/] {name}")


@deploy_app.command("rotate-token")
def deploy_rotate(name: str = typer.Argument(...)) -> None:
    """A new token; the old one stops working at once."""
    created = rotate_token(name)
    console.print(f"new token for [bold]{name}[/] (shown once; the old one no longer works):")
    console.print(f"  [bold yellow]{created.token}[/]", soft_wrap=True)


@deploy_app.command("delete")
def deploy_delete(name: str = typer.Argument(...)) -> None:
    """Remove a deployment and its token (the experiment and checkpoints stay)."""
    delete_deployment(name)
    console.print(f"deleted {name}")


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers", help="Worker processes (each loads the enabled models)."),
) -> None:
    """Serve every enabled deployment over HTTP (FastAPI on uvicorn); the tester page is at /tester."""
    import os

    import uvicorn

    # one torch thread pool per worker, together no larger than the machine (see ServeSettings.torch_threads)
    os.environ.setdefault("CRITIC_TORCH_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, workers))))
    console.print(f"serving {sum(d.enabled for d in list_deployments())} enabled deployment(s) on http://{host}:{port} "
                  f"(tester: http://{host}:{port}/tester, docs: http://{host}:{port}/docs)")
    uvicorn.run("critic.server:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


@models_app.command("list")
def models_list() -> None:
    """The presets, their sources and published results."""
    table = Table("preset", "version", "source", "published", "encoder", "train")
    for short in preset_names():
        p = get_preset(short)
        enc = p.encoder
        if enc is None:
            enc_text = f"word {p.model.ngram_min}-{p.model.ngram_max}-grams, {p.model.counts}"
        elif enc.kind == "wordpiece":
            enc_text = f"WordPiece of {enc.source}, len {enc.sequence_length} {enc.truncation}"
        else:
            enc_text = f"{enc.kind}, {enc.max_words:,} words" + (f", len {enc.sequence_length} {enc.padding}-pad"
                                                                  if enc.kind == "words" else "")
        t = p.train
        train = (f"liblinear; validation picks C from {', '.join(f'{c:g}' for c in p.model.C)}" if p.encoder is None
                 else f"{t.optimizer} lr {t.learning_rate:g}, batch {t.batch_size}, {t.epochs} epochs")
        table.add_row(short, p.name, p.source, p.published, enc_text, train)
    console.print(table)


@models_app.command("show")
def models_show(preset: str = typer.Argument(..., help="A preset name, e.g. kim-cnn")) -> None:
    """A preset's block graph with output shapes and parameter counts (for two classes)."""
    p = get_preset(preset)
    if p.encoder is None:
        console.print(f"[bold]{p.name}[/] — {p.source}")
        console.print("  " + ", ".join(f"{k}={v}" for k, v in asdict(p.model).items()))
        return
    try:
        spec = resolve_pretrained(p.model)
        model = GraphModel(spec, input_spec_of(p.encoder), 2)
    except MissingModel as exc:
        console.print(f"[bold]{p.name}[/] — {p.source}: blocks " + " → ".join(b.type for b in p.model.blocks))
        console.print(f"  [yellow]{exc}[/]")
        return
    table = Table("block", "type", "inputs", "settings", "output", "parameters", title=f"{p.name} — {p.source}")
    for block, (_, kind, shape, n) in zip(p.model.blocks, model.summary()):
        params = ", ".join(f"{k}={v}" for k, v in block.as_dict().items() if k not in ("id", "type", "inputs", "config"))
        table.add_row(block.id, kind, ", ".join(block.inputs), params, shape, f"{n:,}")
    console.print(table)
    console.print(f"total parameters: {sum(x.numel() for x in model.parameters()):,}")


def _class_weight(text: str):
    if text in ("none", "balanced"):
        return text
    try:
        return {k.strip(): float(v) for k, v in (part.split("=", 1) for part in text.split(","))}
    except ValueError:
        raise SettingsError(f"--class-weight takes none, balanced or LABEL=WEIGHT,...; got {text!r}") from None


def _num(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _status(status: str) -> str:
    return {"done": "[green]done[/]", "running": "[cyan]running[/]", "failed": "[red]failed[/]",
            "killed": "[red]killed[/] (resume it)"}.get(status, f"[yellow]{status}[/]")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _print_experiment(experiment, settings: bool = False) -> None:
    r = experiment.record
    console.print(f"[bold]{r.name}[/]  {r.model} on {r.dataset}  {_status(experiment.status)}  {experiment.path}")
    if r.error:
        console.print(f"  [red]{r.error}[/]")
    if settings:
        for section in ("encoder", "train"):
            if r.config[section]:
                console.print(f"  [cyan]{section}[/] " + ", ".join(f"{k}={v}" for k, v in r.config[section].items()))
        model = r.config["model"]
        console.print("  [cyan]model[/] " + (" → ".join(b["type"] for b in model["blocks"]) if "blocks" in model
                                             else ", ".join(f"{k}={v}" for k, v in model.items())))
    table = Table("epoch", "train loss", "train acc", "val loss", "val acc", "seconds", "samples/s")
    for row in r.epochs:
        mark = " ★" if row["epoch"] == r.best_epoch else ""
        table.add_row(f"{row['epoch']}{mark}", f"{row['train_loss']:.4f}", f"{row['train_accuracy']:.4f}",
                      _num(row["val_loss"]), _num(row["val_accuracy"]), f"{row['seconds']:.1f}",
                      f"{row['samples_per_s']:,.0f}")
    console.print(table)
    for which in ("best", "last"):
        path = experiment.path / "checkpoints" / which
        if path.exists():
            console.print(f"  checkpoint {which}: {path}")


# -- rendering --------------------------------------------------------------------------------------

def _print_saved(saved, counts: bool = True) -> None:
    v, m = saved.version, saved.version.manifest
    if saved.created:
        console.print(f"[green]imported[/] [bold]{v.ref}[/]: {m['rows']['total']:,} rows, {len(m['classes'])} classes, "
                      f"{m['rejected']['count']:,} rejected  →  {v.path}")
    else:
        console.print(f"[yellow]identical content is already stored as[/] [bold]{v.ref}[/]; no new version made")
    if counts:
        console.print(_counts_table(m["rows"]["by_subset"]))
    if m["rejected"]["count"]:
        console.print(f"[yellow]{m['rejected']['count']:,} rows rejected[/] (each with its line in {v.path / 'rejects.csv'}):")
        for reason, n in list(m["rejected"]["by_reason"].items())[:5]:
            console.print(f"  {n:>6,}  {reason}")
    if m["source"].get("verified") is False:
        console.print(f"[yellow]warning:[/] the download was not verified; pin it with --sha256 {m['source']['sha256']}")
    for warning in saved.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


def _counts_table(by_subset: dict) -> Table:
    labels = sorted({label for counts in by_subset.values() for label in counts})
    table = Table("subset", *labels, "total", title="rows per subset and label")
    order = {name: i for i, name in enumerate(SUBSETS)}
    for subset, counts in sorted(by_subset.items(), key=lambda item: order.get(item[0], len(order))):
        table.add_row(subset, *(f"{counts.get(label, 0):,}" for label in labels), f"{sum(counts.values()):,}")
    return table


def _print_deployment(d, base_url: str, token: str | None = None) -> None:
    base = base_url.rstrip("/")
    url = base + PREDICT_PATH.format(name=d.name)
    shown = token or "<token>"
    state = "[green]enabled[/]" if d.enabled else "[red]disabled[/] (`critic deploy enable " + d.name + "`)"
    console.print(f"[bold]{d.name}[/]: {d.experiment}, {d.checkpoint} checkpoint, {state}")
    console.print(f"  URL         {url}", soft_wrap=True)
    console.print(f"  input name  {d.input_name}")
    if token:
        console.print(f"  token       [bold yellow]{token}[/]", soft_wrap=True)
        console.print("  [yellow]the token is shown once: store it now (`critic deploy rotate-token` makes a new one)[/]")
    console.print("  try it (`critic serve` must be running):")
    console.print(f"    curl -X POST -F \"{d.input_name}=A fun brain candy movie\" -u \"{shown}:\" {url}", soft_wrap=True,
                  markup=False)
    console.print(f"    curl -X POST -H \"Content-Type: application/json\" -d '{{\"{d.input_name}\": \"A fun brain candy movie\"}}' "
                  f"-u \"{shown}:\" {url}", soft_wrap=True, markup=False)
    query = urllib.parse.urlencode({"url": url, "input": d.input_name})
    console.print(f"  tester page {base}/tester?{query}", soft_wrap=True, markup=False)


def _print_evaluation(ev, brief: bool = False) -> None:
    m = ev.metrics
    console.print(f"[bold]{ev.experiment}[/] {ev.checkpoint} checkpoint (epoch {ev.epoch}) on [bold]{ev.subset}[/]: "
                  f"accuracy [bold]{m['accuracy']:.2%}[/], loss {m['loss']:.4f}, baseline {m['baseline_accuracy']:.2%} "
                  f"(always {m['baseline_class']}), {m['incorrect']:,} errors of {m['n']:,}, calibration error {m['ece']:.4f}"
                  + (f", ROC AUC {m['roc_auc']:.4f}" if "roc_auc" in m else "") + f"  [dim]({ev.seconds:.1f} s)[/]")
    if brief:
        console.print(f"  report: {ev.file('report.html')}", soft_wrap=True)
        return
    classes = list(m["per_class"])
    confusion = Table("true \\ predicted", *classes, title="confusion matrix")
    for name, row in zip(classes, m["confusion_matrix"]):
        confusion.add_row(name, *(f"{v:,}" for v in row))
    per_class = Table("class", "precision", "recall", "F1", "support", "correct", "incorrect")
    for name, c in m["per_class"].items():
        per_class.add_row(name, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", f"{c['support']:,}",
                          f"{c['correct']:,}", f"{c['incorrect']:,}")
    for average in ("macro_avg", "weighted_avg"):
        a = m[average]
        per_class.add_row(average.replace("_avg", " avg"), f"{a['precision']:.4f}", f"{a['recall']:.4f}", f"{a['f1']:.4f}",
                          f"{m['n']:,}", "", "", style="dim")
    console.print(confusion)
    console.print(per_class)
    console.print(f"  report: {ev.file('report.html')}")
    console.print(f"  files: {ev.folder} (metrics.json, errors.csv, " + ", ".join(sorted(p.name for p in ev.folder.glob('*.png'))) + ")")


def _print_stats(stats: DatasetStats) -> None:
    console.print(_counts_table(stats.counts))
    lengths = Table("subset", "texts", "min", "mean", "std", "median", "p90", "p95", "p99", "max",
                    title="words per text (critic.text.words: HTML tags dropped, lowercased, punctuation dropped)")
    for subset, s in stats.lengths.items():
        lengths.add_row(subset, f"{s.count:,}", str(s.min), f"{s.mean:.1f}", f"{s.std:.1f}", f"{s.median:.0f}",
                        f"{s.p90:.0f}", f"{s.p95:.0f}", f"{s.p99:.0f}", f"{s.max:,}")
    console.print(lengths)
    at = list(next(iter(stats.coverage.values())))
    cov = Table("subset", *(f"≤ {n}" for n in at), "95 % at", title="share of texts that fit without truncation")
    for subset, shares in stats.coverage.items():
        cov.add_row(subset, *(f"{shares[n]:.1%}" for n in at), f"{stats.length_for_95[subset]:,} words")
    console.print(cov)
    console.print(f"vocabulary: {stats.vocabulary['train']:,} distinct words in train, {stats.vocabulary['all']:,} in all labelled rows")
    for name, path in stats.plots.items():
        console.print(f"  plot {name}: {path}")
    console.print(f"  stats.json: {stats.path}")


def _subset_sizes(manifest: dict) -> str:
    by = manifest["rows"]["by_subset"]
    return " / ".join(f"{sum(by.get(s, {}).values()):,}" for s in ("train", "validation", "test"))


def _split_text(split: dict) -> str:
    given = f"; from the source: {', '.join(split['from_source'])}" if split["from_source"] else ""
    return (f"validation {split['validation_fraction']:.0%} of train, test {split['test_fraction']:.0%}, "
            f"seed {split['seed']}, {'stratified' if split['stratified'] else 'not stratified'}{given}")


def main() -> None:
    """Entry point: usage errors are click's (exit 2); critic's own errors print one line, exit 2."""
    try:
        app()
    except CriticError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
