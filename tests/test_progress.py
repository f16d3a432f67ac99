"""Progress where stderr is not a terminal (a job's log, CI): plain lines while the work moves."""

from __future__ import annotations

import critic.progress
from critic.progress import bar


def test_a_log_gets_plain_progress_lines(monkeypatch, capsys):
    monkeypatch.setattr(critic.progress, "LINE_EVERY", 0.0)
    with bar("reading big.csv", 4 * 2**20, unit="bytes") as advance:
        for _ in range(4):
            advance(2**20)
    with bar("rows", None) as advance:
        advance(1234)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("reading big.csv: 1.0 MB of 4.0 MB (25%), ")
    assert lines[3].startswith("reading big.csv: 4.0 MB of 4.0 MB (100%), ")
    assert len(lines) == 5 and lines[4].startswith("rows: 1,234, ")  # no repeat at the end


def test_lines_come_at_most_every_few_seconds(capsys):
    with bar("rows", 1000) as advance:
        for _ in range(1000):
            advance(1)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [lines[-1]] and lines[-1].startswith("rows: 1,000 of 1,000 (100%)")
