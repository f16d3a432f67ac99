"""The `critic` command: a thin layer over importable functions. Each command parses its options,
calls one function, and renders the result with rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

import critic
from critic.data import IMDB_URL, SUBSETS, SplitSettings, import_dataset, list_versions, load_version, resplit
from critic.data.stats import COVERAGE_LENGTHS, DatasetStats, dataset_stats
from critic.errors import CriticError, SettingsError
from critic.quickstart import quickstart

app = typer.Typer(no_args_is_help=True, add_completion=False, help="critic: labelled text → a deployed text classifier.")
data_app = typer.Typer(no_args_is_help=True, help="Import datasets, list their versions, look at their statistics.")
app.add_typer(data_app, name="data")
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
) -> None:
    """Label balance, words per text, vocabulary, coverage at sequence lengths; writes PNG plots."""
    _print_stats(dataset_stats(ref, lengths=_int_list(lengths, "--lengths")))


@app.command("quickstart")
def quickstart_command(
    source: str = typer.Option(IMDB_URL, "--source", "-s", envvar="CRITIC_IMDB_SOURCE",
                               help="IMDB: the upstream URL (default), or a local aclImdb_v1.tar.gz or folder."),
    name: str = typer.Option("imdb", "--name", help="Dataset name in the workspace."),
) -> None:
    """The main job: import IMDB and show its statistics and plots."""
    result = quickstart(source, name=name)
    _print_saved(result.imported, counts=False)  # the statistics below show the counts
    _print_stats(result.stats)


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{option} takes whole numbers separated by commas, e.g. 128,256,512; got {text!r}") from None


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
