"""`critic predict EXP --file reviews.csv`: a table in, the same table with the predicted label
and every class's probability out (CSV). Texts go through the one `Predictor`, a chunk at a time.
With `explain`, an `explanation` column too: JSON `{"class": C, "top": [{"word", "start", "end",
"score"}, ...]}`, the explained class and its TOP_WORDS strongest words (offsets into the row's
text, as the API gives them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critic.data.tables import TEXT_NAMES, format_of
from critic.errors import ColumnError, SourceError
from critic.predictor import Predictor, predict_in_chunks
from critic.progress import bar

__all__ = ["Written", "predict_file", "TOP_WORDS"]

TOP_WORDS = 10  # words per row in the explanation column


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
    explain: bool = False,
    explain_class: str | None = None,
) -> Written:
    from critic.explain import target_index

    target_index(predictor.classes, explain_class)  # an unknown class: refused before any work
    path = Path(path)
    frame = _read(path)
    column = _text_column(frame, text_column, path)
    texts = frame[column].fillna("").astype(str).tolist()
    probs = predict_in_chunks(predictor, texts, f"predict {path.name}", progress=progress)
    out = frame.copy()
    out["predicted_label"] = [predictor.classes[i] for i in probs.argmax(1)]
    for j, name in enumerate(predictor.classes):
        out[f"p_{name}"] = probs[:, j]
    if explain or explain_class is not None:
        out["explanation"] = _explanations(predictor, texts, explain_class, path.name, progress)
    output = (
        Path(output) if output else path.with_name(path.name.split(".")[0] + ".predictions.csv")
    )
    out.to_csv(output, index=False)
    return Written(output, len(out), sum(1 for t in texts if not t.strip()))


def _explanations(
    predictor: Predictor, texts: list[str], target: str | None, name: str, progress: bool
) -> list[str]:
    """The explanation column, TOP_WORDS words a row, explained `chunk` rows at a time."""
    column, chunk = [], 64
    with bar(f"explain {name}", len(texts), enabled=progress) as advance:
        for i in range(0, len(texts), chunk):
            for ex in predictor.explain(texts[i : i + chunk], target):
                top = [
                    {"word": s.word, "start": s.start, "end": s.end, "score": round(s.score, 6)}
                    for s in ex.top(TOP_WORDS)
                ]
                column.append(json.dumps({"class": ex.target, "top": top}, ensure_ascii=False))
            advance(len(texts[i : i + chunk]))
    return column


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
