"""One self-contained HTML page per evaluation: the numbers, the pictures (embedded as base64
PNGs, so the file can be mailed or opened offline) and the most confident mistakes, those explained
with their words shaded by what they did to the wrong answer (`critic.explain.shade`: blue toward
the predicted class, orange away). Every piece of text that comes from data is escaped."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from critic.explain.result import Explanation
from critic.explain.shade import COLOURS, DARK, pieces

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
td.text .xp { border-radius: 3px; } td.text .xp-unseen { color: #888; text-decoration: line-through; }
.legend { display: flex; gap: 1.2em; flex-wrap: wrap; align-items: center; font-size: .9em; }
.legend i { display: inline-block; width: 3em; height: 1em; border-radius: 3px; vertical-align: middle; }
.why { display: block; margin-top: .3em; color: #555; font-size: .9em; }
""" + "".join(
    f".xp-{'p' if level > 0 else 'n'}{abs(level)} {{ background: {colour};"
    f"{' color: #fff;' if level in DARK else ''} }}\n"
    for level, colour in COLOURS.items()
)


def evaluation_html(
    *,
    title: str,
    meta: dict[str, str],
    metrics: dict,
    classes: list[str],
    images: dict[str, Path],
    errors: pd.DataFrame,
    max_errors: int = 50,
    explanations: dict[int, dict] | None = None,
) -> str:
    """`explanations`: row → `Explanation.as_dict()` of the mistakes explained (their text shaded)."""
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
    explanations = explanations or {}
    shown = errors.head(max_errors)
    if any(int(r) in explanations for r in shown["row"]):
        parts.append(_legend())
    parts.append(_errors_table(shown, explanations))
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


def _legend() -> str:
    return (
        "<p class='legend'>Each explained mistake's words, shaded by what they did to the wrong "
        "answer: <span><i class='xp-p1'></i><i class='xp-p4'></i> toward the predicted class</span>"
        "<span><i class='xp-n1'></i><i class='xp-n4'></i> away from it</span>"
        "<span class='xp-unseen'>not read</span></p>"
    )


def _errors_table(errors: pd.DataFrame, explanations: dict[int, dict]) -> str:
    e = html.escape
    head = "<tr><th>row</th><th>true</th><th>predicted</th><th>probability</th><th>text</th></tr>"
    rows = [
        f"<tr><td>{e(str(r.row))}</td><td>{e(str(r.true_label))}</td><td>{e(str(r.predicted_label))}</td>"
        f"<td>{r.probability:.4f}</td><td class='text'>{_text(str(r.text), explanations.get(int(r.row)))}</td></tr>"
        for r in errors.itertuples()
    ]
    return "<table>" + head + "".join(rows) + "</table>"


def _text(text: str, explanation: dict | None) -> str:
    """The text, escaped; explained: each word in a shaded span, and its strongest words."""
    if explanation is None:
        return html.escape(text)
    ex = Explanation.from_dict(explanation)
    out = []
    for piece in pieces(text, ex):
        words = html.escape(piece.text)
        if not piece.seen:
            out.append(f"<span class='xp-unseen'>{words}</span>")
        elif piece.level:
            kind = f"xp-{'p' if piece.level > 0 else 'n'}{abs(piece.level)}"
            out.append(f"<span class='xp {kind}' title='{piece.score:+.4f}'>{words}</span>")
        else:
            out.append(words)
    top = ", ".join(f"{html.escape(s.word)} {s.score:+.2f}" for s in ex.top(5))
    return "".join(out) + f"<span class='why'>why {html.escape(ex.target)}: {top}</span>"
