"""`critic predict EXP --file reviews.csv`: a table in, the same table with the predicted label
and every class's probability out (CSV). Texts go through the one `Predictor`, a chunk at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critic.data.tables import TEXT_NAMES, format_of
from critic.errors import ColumnError, SourceError
from critic.predictor import Predictor, predict_in_chunks

__all__ = ["Written", "predict_file"]


@dataclass(frozen=True)
class Written:
    path: Path
    rows: int
    empty: int  # rows whose text was missing or blank: predicted as the empty text, and counted


def predict_file(
    predictor: Predictor,
    path: Path,
    *,
    output: Path | None = None,
    text_column: str | None = None,
    progress: bool = True,
) -> Written:
    path = Path(path)
    frame = _read(path)
    column = _text_column(frame, text_column, path)
    texts = frame[column].fillna("").astype(str).tolist()
    probs = predict_in_chunks(predictor, texts, f"predict {path.name}", progress=progress)
    out = frame.copy()
    out["predicted_label"] = [predictor.classes[i] for i in probs.argmax(1)]
    for j, name in enumerate(predictor.classes):
        out[f"p_{name}"] = probs[:, j]
    output = (
        Path(output) if output else path.with_name(path.name.split(".")[0] + ".predictions.csv")
    )
    out.to_csv(output, index=False)
    return Written(output, len(out), sum(1 for t in texts if not t.strip()))


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise SourceError(f"no file {path}")
    fmt = format_of(path.name)
    readers = {
        "csv": lambda: pd.read_csv(path, dtype=str, keep_default_na=False),
        "tsv": lambda: pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False),
        "jsonl": lambda: pd.read_json(path, lines=True, dtype=False),
        "parquet": lambda: pd.read_parquet(path),
    }
    if fmt not in readers:
        raise SourceError(f"{path.name}: predict reads .csv, .tsv, .jsonl or .parquet files")
    try:
        return readers[fmt]()
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path.name} as {fmt}: {exc}") from None


def _text_column(frame: pd.DataFrame, wanted: str | None, path: Path) -> str:
    columns = [str(c) for c in frame.columns]
    if wanted is not None:
        if wanted not in columns:
            raise ColumnError(f"{path.name} has no column {wanted!r}; its columns are {columns}")
        return wanted
    by_lower = {c.lower(): c for c in columns}
    found = next((by_lower[n] for n in TEXT_NAMES if n in by_lower), None)
    if found is None and len(columns) == 1:
        found = columns[0]
    if found is None:
        raise ColumnError(
            f"cannot tell which column of {path.name} holds the text; its columns are {columns}. "
            f"Name it with --text-column COLUMN"
        )
    return found
