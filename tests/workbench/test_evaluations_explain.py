"""The most confident mistakes explained: `critic evaluate` saves their explanations, report.html
and the workbench's error browser shade their words (blue toward the predicted class, orange
away), the error browser's JSON carries them; in Chromium the highlight and the legend show."""

from __future__ import annotations

import html
import json
import re
import shutil

import pandas as pd
import pytest

from critic.evaluate import evaluate
from critic.evaluations import load_evaluation, read_explanations
from critic.report import evaluation_html
from tests.workbench.conftest import shot
from tests.workbench.test_evaluations import EXPERIMENT, OWN, PAGE, build_home, trained  # noqa: F401

EXPLAINED = 4  # of the ~20 errors, so some rows are explained and some are not


@pytest.fixture
def home(trained, workspace):  # noqa: F811
    shutil.copytree(trained, workspace.root, dirs_exist_ok=True)
    evaluate(EXPERIMENT, subset="test", progress=False, explain_errors=EXPLAINED)
    return workspace


def test_evaluate_saves_the_most_confident_mistakes_explained(home):
    ev = load_evaluation(EXPERIMENT, "best", OWN, "test", home)
    errors = pd.read_csv(ev.file("errors.csv"), keep_default_na=False)
    saved = read_explanations(ev)
    assert list(saved) == errors["row"].head(EXPLAINED).tolist()  # the most confident first
    for row in errors.head(EXPLAINED).itertuples():
        ex = saved[row.row]
        assert ex.label == ex.target == row.predicted_label  # what the model latched onto
        assert ex.probabilities[row.predicted_label] == pytest.approx(row.probability)
        assert [row.text[s.start : s.end] for s in ex.spans] == [s.word for s in ex.spans]
    report = ev.file("report.html").read_text(encoding="utf-8")
    assert report.count("<span class='why'>why ") == EXPLAINED
    assert "toward the predicted class" in report and "class='xp xp-p4'" in report
    assert len(read_explanations(load_evaluation(EXPERIMENT, "best", OWN, "test", home))) == 4


def test_the_error_browser_shades_the_explained_mistakes(home, logged_in):
    page = logged_in.get(PAGE)
    assert page.status_code == 200
    text = page.text
    assert 'id="why-legend"' in text and f"The {EXPLAINED} most confident mistakes" in text
    rows = re.findall(r'<tr class="ev-error".*?</tr>', text, flags=re.S)
    explained = [r for r in rows if "data-explained=" in r]
    assert len(explained) == EXPLAINED and rows[:EXPLAINED] == explained
    for row in explained:
        predicted = re.search(r'data-pred="([^"]+)"', row).group(1)
        assert f'data-explained="{predicted}"' in row and "why " + predicted in row
        assert re.search(r'<mark class="xp-word xp-p[1-4]" title="\+', row)
        # cut only at the offsets: the shaded text, tags stripped, is the row's text
        whole = re.search(
            r'class="ev-whole[^"]*" data-explained="[^"]+">(.*?)</(p|span)>', row, re.S
        )
        plain = html.unescape(re.sub(r"<[^>]+>", "", whole.group(1)))
        assert plain in html.unescape(re.sub(r"<[^>]+>", "", row))
    answer = logged_in.get(f"{PAGE}/errors", params={"size": 100}).json()
    shown = [r["explanation"] for r in answer["rows"]]
    assert all(e is not None for e in shown[:EXPLAINED]) and shown[EXPLAINED:] == [None] * (
        len(shown) - EXPLAINED
    )
    first = answer["rows"][0]
    assert first["explanation"]["target"] == first["predicted_label"]
    assert [first["text"][s["start"] : s["end"]] for s in first["explanation"]["spans"]] == [
        s["word"] for s in first["explanation"]["spans"]
    ]


def test_the_class_picker_explains_a_mistake_for_any_class(home, logged_in):
    first = logged_in.get(f"{PAGE}/errors").json()["rows"][0]
    row, text = first["row"], first["text"]
    page = logged_in.get(PAGE).text
    picker = re.search(rf'<select class="ev-why-class" data-row="{row}".*?</select>', page, re.S)
    options = re.findall(r'<option value="([^"]+)"( selected)?>', picker.group(0))
    assert [c for c, _ in options] == ["negative", "neutral", "positive"]
    assert [c for c, chosen in options if chosen] == [first["predicted_label"]]
    scores = {}
    for target in ("negative", "neutral", "positive"):
        answer = logged_in.get(f"{PAGE}/why", params={"row": row, "target": target})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["row"] == row and body["target"] == target
        assert "".join(p["text"] for p in body["pieces"]) == text  # cut at its offsets only
        assert body["top"] and all(set(t) == {"word", "score"} for t in body["top"])
        scores[target] = {p["text"]: p["score"] for p in body["pieces"] if p["score"] is not None}
    assert scores["negative"] != scores["positive"]  # another class, another explanation
    # the predicted class's explanation is the one evaluate saved
    saved = read_explanations(load_evaluation(EXPERIMENT, "best", OWN, "test", home))[row]
    assert scores[first["predicted_label"]] == pytest.approx({s.word: s.score for s in saved.spans})

    refused = logged_in.get(f"{PAGE}/why", params={"row": row, "target": "bored"})
    assert (
        refused.status_code in (400, 422)
        and "its classes are negative, neutral, positive" in (refused.json()["message"])
    )
    right = logged_in.get(f"{PAGE}/why", params={"row": 10**6, "target": "neutral"})
    assert right.status_code == 404 and right.json()["message"].startswith("row 1000000 is not")
    # a checkpoint that moved on since the evaluation explains nothing in its name
    manifest = home.root / "experiments" / EXPERIMENT / "checkpoints" / "best" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "epoch": data["epoch"] + 1}))
    moved = logged_in.get(f"{PAGE}/why", params={"row": row, "target": "neutral"})
    assert moved.status_code == 404 and "evaluate it again" in moved.json()["message"]


def test_the_report_escapes_what_it_shades():
    from critic.explain.result import Explanation, Span

    text = "a <script>alert(1)</script> great & dull film"
    start = text.index("great")
    ex = Explanation(
        "positive",
        {"negative": 0.1, "positive": 0.9},
        "positive",
        "linear",
        "logit",
        2.0,
        0.0,
        [
            Span(text.index("script"), text.index("script") + 6, 0.5, "script"),
            Span(start, start + 5, 1.5, "great"),
            Span(text.index("dull"), text.index("dull") + 4, -0.2, "dull"),
        ],
    )
    errors = pd.DataFrame(
        {
            "row": [7],
            "true_label": ["negative"],
            "predicted_label": ["positive"],
            "probability": [0.9],
            "text": [text],
        }
    )
    metrics = json.loads(json.dumps(_metrics()))
    page = evaluation_html(
        title="t",
        meta={},
        metrics=metrics,
        classes=["negative", "positive"],
        images={},
        errors=errors,
        explanations={7: ex.as_dict()},
    )
    assert "<script>" not in page and "&lt;" in page
    assert "<span class='xp xp-p4' title='+1.5000'>great</span>" in page
    assert "<span class='xp xp-n1' title='-0.2000'>dull</span>" in page
    assert "why positive: great +1.50, script +0.50, dull -0.20" in page


def _metrics() -> dict:
    per = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1, "correct": 0, "incorrect": 1}
    return {
        "accuracy": 0.5,
        "loss": 0.7,
        "baseline_accuracy": 0.5,
        "ece": 0.1,
        "n": 2,
        "incorrect": 1,
        "per_class": {"negative": per, "positive": per},
        "macro_avg": per,
        "weighted_avg": per,
        "confusion_matrix": [[0, 1], [0, 1]],
    }


@pytest.fixture
def evaluated(workspace):
    build_home(workspace.root)
    return workspace


def test_the_explained_mistakes_in_chromium(evaluated, page):
    from playwright.sync_api import expect

    page.goto(page.base + PAGE + "#errors")
    legend = page.locator("#why-legend")
    expect(legend).to_be_visible()
    expect(legend).to_contain_text("toward the predicted class")
    first = page.locator("tr.ev-error").first
    shaded = first.locator("[data-explained]")
    if first.locator("details").count():
        first.locator("summary").click()
    expect(shaded).to_be_visible()
    strongest = first.locator("mark.xp-p4").first
    expect(strongest).to_be_visible()
    colour = strongest.evaluate("m => getComputedStyle(m).backgroundColor")
    assert colour == "rgb(33, 102, 172)"  # the blue of the legend
    swatches = legend.locator("i").evaluate_all(
        "s => s.map(i => getComputedStyle(i).backgroundColor)"
    )
    assert "rgb(33, 102, 172)" in swatches and "rgb(179, 88, 6)" in swatches
    predicted = first.get_attribute("data-pred")
    expect(first.locator(".ev-why")).to_contain_text("why " + predicted)
    shot(page, "evaluation-explained")
    # the class picker: another class, explained by the checkpoint, shaded anew
    other = next(c for c in ("negative", "neutral", "positive") if c != predicted)
    picker = first.locator("select.ev-why-class")
    expect(picker).to_be_visible()
    before = shaded.inner_text()
    picker.select_option(other)
    expect(first.locator(".ev-why-target")).to_have_text("why " + other)
    expect(shaded).to_have_attribute("data-explained", other)
    expect(shaded.locator("mark.xp-word").first).to_be_visible()
    assert shaded.inner_text() == before  # the same text, only its shading changed
    shot(page, "evaluation-explained-other-class")
