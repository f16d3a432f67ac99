"""`critic predict --explain`: the words shaded in the terminal (blue toward the class, orange
away), and an `explanation` column in `--file` output."""

from __future__ import annotations

import json

import pandas as pd
from rich.console import Console

import critic.cli.evaluate
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.explain.shade import COLOURS, pieces
from tests.test_cli import run


def _rgb(hex_colour: str) -> str:
    """The 24-bit background escape rich writes for a colour."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"48;2;{r};{g};{b}"


def test_predict_explain_shades_the_words(tiny_dataset, monkeypatch, capsys):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    terminal = Console(force_terminal=True, color_system="truecolor", width=200, record=True)
    monkeypatch.setattr(critic.cli.evaluate, "console", terminal)
    text = "a <b>wonderful</b> film, the plot was awful"
    code, _, err = run(monkeypatch, capsys, "predict", "lin", text, "--explain-class", "positive")
    assert code == 0, err
    shown = terminal.export_text(styles=True, clear=False)
    plain = terminal.export_text()
    assert text in plain  # the text as given, tags and all
    assert "why positive" in plain and "strongest: wonderful" in plain
    assert "toward the class" in plain and "away from it" in plain
    assert _rgb(COLOURS[4]) in shown and _rgb(COLOURS[-4]) in shown  # both colours, and the legend


def test_the_shaded_pieces_rebuild_the_text(tiny_dataset):
    from critic.experiments.store import get_experiment
    from critic.predictor import Predictor

    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    predictor = Predictor.from_checkpoint(get_experiment("lin").checkpoint("best"))
    text = "a <b>wonderful</b> film 😍, the plot was awful!"
    (ex,) = predictor.explain([text], "positive")
    shaded = pieces(text, ex)
    assert "".join(p.text for p in shaded) == text
    levels = {p.text: p.level for p in shaded if p.score is not None}
    assert levels["wonderful"] > 0 > levels["awful"] and max(map(abs, levels.values())) == 4


def test_predict_file_explain_column(tiny_dataset, monkeypatch, capsys, tmp_path):
    train_experiment(build_config(tiny_dataset, preset="linear"), name="lin")
    source = tmp_path / "new.csv"
    source.write_text('review,id\n"a wonderful film",1\n"awful, awful",2\n"",3\n')
    code, out, err = run(monkeypatch, capsys, "predict", "lin", "--file", str(source), "--explain")
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "new.predictions.csv", keep_default_na=False)
    assert list(frame.columns) == [
        "review",
        "id",
        "predicted_label",
        "p_negative",
        "p_positive",
        "explanation",
    ]
    first, second, empty = (json.loads(v) for v in frame["explanation"])
    assert first["class"] == "positive" and first["top"][0]["word"] == "wonderful"
    assert first["top"][0]["start"] == 2 and first["top"][0]["end"] == 11
    assert second["class"] == "negative" and [w["word"] for w in second["top"]] == [
        "awful",
        "awful",
    ]
    assert empty == {"class": frame["predicted_label"][2], "top": []}
    # without --explain, no column; an unknown class is refused before any work
    run(monkeypatch, capsys, "predict", "lin", "--file", str(source))
    assert "explanation" not in pd.read_csv(tmp_path / "new.predictions.csv").columns
    code, _, err = run(
        monkeypatch, capsys, "predict", "lin", "--file", str(source), "--explain-class", "happy"
    )
    assert code != 0 and "no class 'happy'" in err
