"""One self-contained HTML page per evaluation: the numbers, the pictures (embedded as base64
PNGs, so the file can be mailed or opened offline) and the most confident mistakes. Every piece of
text that comes from data is escaped."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

__all__ = ["evaluation_html"]

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding:
.25em .6em; text-align: right; }
th { background: #f4f4f4; } td.text { text-align: left; max-width: 640px; font-size: .9em; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; } .card { border: 1px solid #ddd; border-radius:
6px; padding: .6em 1em; }
.card b { display: block; font-size: 1.4em; } img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
.meta { color: #666; font-size: .9em; }
"""


def evaluation_html(
    *,
    title: str,
    meta: dict[str, str],
    metrics: dict,
    classes: list[str],
    images: dict[str, Path],
    errors: pd.DataFrame,
    max_errors: int = 50,
) -> str:
    e = html.escape
    cards = [
        ("accuracy", f"{metrics['accuracy']:.2%}"),
        ("loss", f"{metrics['loss']:.4f}"),
        ("baseline", f"{metrics['baseline_accuracy']:.2%}"),
        ("macro F1", f"{metrics['macro_avg']['f1']:.4f}"),
        ("errors", f"{metrics['incorrect']:,} of {metrics['n']:,}"),
        ("calibration error", f"{metrics['ece']:.4f}"),
    ]
    if "roc_auc" in metrics:
        cards.append(("ROC AUC", f"{metrics['roc_auc']:.4f}"))
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{e(title)}</h1>",
        "<p class='meta'>" + " · ".join(f"{e(k)}: {e(str(v))}" for k, v in meta.items()) + "</p>",
        "<div class='cards'>"
        + "".join(f"<div class='card'>{e(k)}<b>{e(v)}</b></div>" for k, v in cards)
        + "</div>",
        "<h2>Per class</h2>",
        _per_class_table(metrics),
        "<h2>Confusion matrix</h2><p>rows: true class, columns: predicted class</p>",
        _confusion_table(metrics, classes),
    ]
    for name, path in images.items():
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f"<h2>{e(name)}</h2><img alt='{e(name)}' src='data:image/png;base64,{data}'>")
    parts.append(
        f"<h2>Most confident mistakes</h2><p>{min(len(errors), max_errors):,} of {len(errors):,} "
        "(all of them are in errors.csv)</p>"
    )
    parts.append(_errors_table(errors.head(max_errors)))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _per_class_table(metrics: dict) -> str:
    columns = ("class", "precision", "recall", "F1", "support", "correct", "incorrect")
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>"
    rows = [
        f"<tr><th>{html.escape(name)}</th><td>{m['precision']:.4f}</td><td>{m['recall']:.4f}</td><td>{m['f1']:.4f}</td>"
        f"<td>{m['support']:,}</td><td>{m['correct']:,}</td><td>{m['incorrect']:,}</td></tr>"
        for name, m in metrics["per_class"].items()
    ]
    for average in ("macro_avg", "weighted_avg"):
        m = metrics[average]
        rows.append(
            f"<tr><th>{average.replace('_avg', ' average')}</th><td>{m['precision']:.4f}</td><td>{m['recall']:.4f}</td>"
            f"<td>{m['f1']:.4f}</td><td>{metrics['n']:,}</td><td></td><td></td></tr>"
        )
    return "<table>" + head + "".join(rows) + "</table>"


def _confusion_table(metrics: dict, classes: list[str]) -> str:
    e = html.escape
    head = "<tr><th></th>" + "".join(f"<th>{e(c)}</th>" for c in classes) + "</tr>"
    rows = [
        "<tr><th>" + e(c) + "</th>" + "".join(f"<td>{v:,}</td>" for v in row) + "</tr>"
        for c, row in zip(classes, metrics["confusion_matrix"])
    ]
    return "<table>" + head + "".join(rows) + "</table>"


def _errors_table(errors: pd.DataFrame) -> str:
    e = html.escape
    head = "<tr><th>row</th><th>true</th><th>predicted</th><th>probability</th><th>text</th></tr>"
    rows = [
        f"<tr><td>{e(str(r.row))}</td><td>{e(str(r.true_label))}</td><td>{e(str(r.predicted_label))}</td>"
        f"<td>{r.probability:.4f}</td><td class='text'>{e(str(r.text))}</td></tr>"
        for r in errors.itertuples()
    ]
    return "<table>" + head + "".join(rows) + "</table>"
