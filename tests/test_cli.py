import sys

import pytest

from critic import cli


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["critic", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review,sentiment\n" + "".join(f"\"review {i}, with a comma\",{'pn'[i % 2]}\n" for i in range(20)) + "broken,row,here\n")
    return path


def test_import_list_show_stats(workspace, monkeypatch, capsys, csv_file):
    code, out, _ = run(monkeypatch, capsys, "data", "import", "rev", "--source", str(csv_file), "-q")
    assert code == 0 and "imported" in out and "rev@1" in out and "1 rows rejected" in out and "rejects.csv" in out
    code, out, _ = run(monkeypatch, capsys, "data", "import", "rev", "--source", str(csv_file), "-q")
    assert code == 0 and "already stored as" in out
    code, out, _ = run(monkeypatch, capsys, "data", "list")
    assert code == 0 and "rev@1" in out and "16 / 4 / 0" in out
    code, out, _ = run(monkeypatch, capsys, "data", "show", "rev@1")
    assert code == 0 and "fingerprint" in out and "review" in out
    code, out, _ = run(monkeypatch, capsys, "data", "stats", "rev")
    assert code == 0 and "95 % at" in out and "length_histogram.png" in out
    code, out, _ = run(monkeypatch, capsys, "data", "split", "rev", "--validation-fraction", "0.5")
    assert code == 0 and "rev@2" in out


def test_errors_are_one_clear_line_and_exit_2(workspace, monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, "data", "show", "missing")
    assert code == 2 and "critic data import missing" in err and "Traceback" not in err
    code, _, err = run(monkeypatch, capsys, "data", "import", "../evil", "--source", str(tmp_path))
    assert code == 2 and "invalid dataset name" in err
    code, _, err = run(monkeypatch, capsys, "data", "import", "x", "--source", str(tmp_path / "nope.csv"))
    assert code == 2 and "no such file" in err


def test_usage_error_exit_code(workspace, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "data", "import", "x")
    assert code == 2 and "--source" in err


def test_version(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "--version")
    assert code == 0 and out.startswith("critic ")


def test_quickstart_with_a_local_tarball(workspace, monkeypatch, capsys, aclimdb_tar):
    monkeypatch.setenv("CRITIC_IMDB_SOURCE", str(aclimdb_tar))
    code, out, _ = run(monkeypatch, capsys, "quickstart")
    assert code == 0 and "imdb@1" in out and "share of texts that fit" in out and "label_balance.png" in out
