"""`critic data`: import datasets, list their versions, show one, look at its statistics."""

from __future__ import annotations

import typer
from rich.table import Table

from critic.cli.base import App
from critic.cli.defaults import COVERAGE_LENGTHS
from critic.cli.render import console, counts_table, print_saved, print_stats

__all__ = ["app"]

app = App(
    no_args_is_help=True, help="Import datasets, list their versions, look at their statistics."
)

_VAL = typer.Option(
    0.2,
    "--validation-fraction",
    help="Share of the train rows held out for validation (stratified).",
)
_TEST = typer.Option(
    0.0,
    "--test-fraction",
    help="Share of rows held out for test when the source has no test split.",
)
_SEED = typer.Option(42, "--seed", help="Seed of the stratified draw; recorded in the manifest.")
_REF = typer.Argument(..., help="NAME or NAME@VERSION")


@app.command("import")
def data_import(
    name: str = typer.Argument(..., help="Dataset name, e.g. imdb (letters, digits, . _ -)."),
    source: str = typer.Option(
        ...,
        "--source",
        "-s",
        help="aclImdb folder, .tar.gz or URL; or a .csv/.tsv/.jsonl/.parquet/.zip file or URL.",
    ),
    format: str | None = typer.Option(
        None, "--format", help="aclimdb, csv, tsv, jsonl, parquet or zip (default: from the name)."
    ),
    text: str | None = typer.Option(
        None, "--text", help="Column holding the text (default: text/review/...)."
    ),
    label: str | None = typer.Option(
        None, "--label", help="Column holding the label (default: label/sentiment/...)."
    ),
    subset_column: str | None = typer.Option(
        None, "--subset-column", help="Column giving train/validation/test per row."
    ),
    encoding: str = typer.Option(
        "utf-8",
        "--encoding",
        help="Text encoding of CSV/TSV/JSONL (utf-8 reads with or without BOM).",
    ),
    delimiter: str | None = typer.Option(
        None,
        "--delimiter",
        help="CSV field separator, e.g. ';' (default ',' for CSV, tab for TSV).",
    ),
    sha256: str | None = typer.Option(
        None, "--sha256", help="Expected sha256 of the source file; a mismatch stops the import."
    ),
    include_unsup: bool = typer.Option(
        False, "--include-unsup", help="aclImdb: also keep train/unsup (unlabelled)."
    ),
    validation_fraction: float = _VAL,
    test_fraction: float = _TEST,
    seed: int = _SEED,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Import a dataset as a new immutable version."""
    from critic.data import SplitSettings, import_dataset

    saved = import_dataset(
        name,
        source,
        format=format,
        text=text,
        label=label,
        subset_column=subset_column,
        encoding=encoding,
        delimiter=delimiter,
        sha256=sha256,
        include_unsup=include_unsup,
        split=SplitSettings(validation_fraction, test_fraction, seed),
        progress=not quiet,
    )
    print_saved(saved)


@app.command("split")
def data_split(
    ref: str = _REF,
    validation_fraction: float = _VAL,
    test_fraction: float = _TEST,
    seed: int = _SEED,
) -> None:
    """Make a new version with other subset settings (same rows)."""
    from critic.data import SplitSettings, resplit

    print_saved(resplit(ref, SplitSettings(validation_fraction, test_fraction, seed)))


@app.command("list")
def data_list() -> None:
    """Every dataset version in the workspace."""
    from critic.data import list_versions

    table = Table(
        "version", "rows", "rejected", "classes", "train / valid. / test", "created (UTC)"
    )
    for v in list_versions():
        m = v.manifest
        classes = ", ".join(m["classes"][:4]) + (
            f" (+{len(m['classes']) - 4})" if len(m["classes"]) > 4 else ""
        )
        table.add_row(
            v.ref,
            f"{m['rows']['total']:,}",
            f"{m['rejected']['count']:,}",
            classes,
            _subset_sizes(m),
            m["created"][:16].replace("T", " "),
        )
    console.print(
        table if table.rows else "no datasets yet: run `critic data import NAME --source ...`"
    )


@app.command("show")
def data_show(ref: str = _REF) -> None:
    """One version's manifest: source, checksum, counts, subsets, rejects."""
    from critic.data import load_version

    v = load_version(ref)
    m = v.manifest
    console.print(f"[bold]{v.ref}[/]  {v.path}")
    rejected = f"{m['rejected']['count']:,}" + (
        f" (see {v.path / m['rejected']['file']})" if m["rejected"]["file"] else ""
    )
    for key, value in (
        ("source", m["source"]["location"]),
        ("format", m["source"]["format"]),
        ("source sha256", m["source"]["sha256"]),
        ("fingerprint", m["fingerprint"]),
        ("columns", f"text={m['columns']['text']!r} label={m['columns']['label']!r}"),
        ("classes", ", ".join(m["classes"])),
        ("split", _split_text(m["split"])),
        ("rejected", rejected),
        ("created", f"{m['created']} by critic {m['critic_version']}"),
    ):
        console.print(f"  [cyan]{key:>13}[/] {value}")
    console.print(counts_table(m["rows"]["by_subset"]))
    for reason, n in list(m["rejected"]["by_reason"].items())[:10]:
        console.print(f"  rejected {n:>6,}  {reason}")
    for warning in m["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")


@app.command("stats")
def data_stats(
    ref: str = _REF,
    lengths: str = typer.Option(
        ",".join(map(str, COVERAGE_LENGTHS)),
        "--lengths",
        help="Sequence lengths for the coverage table, comma-separated.",
    ),
    tokenizer: str | None = typer.Option(
        None,
        "--tokenizer",
        help="Also count WordPiece tokens of this model "
        "(a directory or hub name, e.g. sentence-transformers/all-MiniLM-L6-v2).",
    ),
) -> None:
    """Label balance, words per text, vocabulary, coverage at sequence lengths; writes PNG plots."""
    from critic.data.stats import dataset_stats, wordpiece_cut

    print_stats(dataset_stats(ref, lengths=int_list(lengths, "--lengths")))
    if tokenizer:
        _print_cut(wordpiece_cut(ref, tokenizer), tokenizer)


def int_list(text: str, option: str) -> tuple[int, ...]:
    """`128,256,512` → (128, 256, 512); anything else is a SettingsError naming the option."""
    from critic.errors import SettingsError

    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise SettingsError(
            f"{option} takes whole numbers separated by commas, e.g. 128,256,512; got {text!r}"
        ) from None


def _print_cut(cut: dict, tokenizer: str) -> None:
    at = list(next(iter(cut.values()))["cut"])
    table = Table(
        "subset",
        "texts",
        "median tokens",
        *(f"cut at {n}" for n in at),
        title=f"WordPiece tokens of {tokenizer} ([CLS] and [SEP] included)",
    )
    for subset, row in cut.items():
        table.add_row(
            subset,
            f"{row['texts']:,}",
            f"{row['median']:.0f}",
            *(f"{row['cut'][n]:.1%}" for n in at),
        )
    console.print(table)


def _subset_sizes(manifest: dict) -> str:
    by = manifest["rows"]["by_subset"]
    return " / ".join(f"{sum(by.get(s, {}).values()):,}" for s in ("train", "validation", "test"))


def _split_text(split: dict) -> str:
    given = f"; from the source: {', '.join(split['from_source'])}" if split["from_source"] else ""
    return (
        f"validation {split['validation_fraction']:.0%} of train, test {split['test_fraction']:.0%}, "
        f"seed {split['seed']}, {'stratified' if split['stratified'] else 'not stratified'}{given}"
    )
