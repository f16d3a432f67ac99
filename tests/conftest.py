"""Fixtures: a private workspace per test (its catalog on SQLite, or on PostgreSQL where a module
asks for both engines), tiny aclImdb trees and tarballs, a local HTTP server."""

from __future__ import annotations

import os
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from critic.workspace import Workspace

# A tiny corpus in aclImdb's layout: (subset, folder, id, rating, text).
TINY_REVIEWS = [
    ("train", "pos", 0, 9, "A great film.<br /><br />Great acting, great story!"),
    ("train", "pos", 1, 8, "I loved it; loved every minute."),
    ("train", "pos", 2, 10, "Brilliant. Simply brilliant, a must see."),
    ("train", "pos", 3, 7, "Good fun, good cast, good times."),
    ("train", "pos", 10, 9, "Wonderful and moving; the best film this year."),
    ("train", "neg", 0, 1, "Awful film. Terrible acting, awful story."),
    ("train", "neg", 1, 2, "I hated it; hated every minute."),
    ("train", "neg", 2, 3, "Boring, boring, boring. Don't bother."),
    ("train", "neg", 3, 4, "Bad plot, bad cast, bad times."),
    ("train", "neg", 10, 1, "The worst film this year, dull and long."),
    ("test", "pos", 0, 10, "Great story and a great cast."),
    ("test", "pos", 1, 8, "Loved the acting."),
    ("test", "neg", 0, 2, "Terrible story and a bad cast."),
    ("test", "neg", 1, 3, "Hated the acting."),
    ("train", "unsup", 0, 0, "No label here."),
]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "drill(name): a reliability or security drill; bench/drills.py tallies them by name",
    )
    config.addinivalue_line(
        "markers", "both_engines: run the tests once with the catalog on SQLite, once on PostgreSQL"
    )


@pytest.fixture(autouse=True)
def _drill(request, record_property):
    """A drill's name goes into the JUnit XML report, where bench/drills.py finds it."""
    marker = request.node.get_closest_marker("drill")
    if marker:
        record_property("drill", marker.args[0])


# The catalog engines; a module marked `pytestmark = pytest.mark.both_engines` runs each of its
# tests that use a workspace (or `database`) once on each.
ENGINES = ["sqlite", "postgresql"]


def pytest_generate_tests(metafunc):
    chosen = any(  # a test that names its own engines keeps them
        m.args and m.args[0] == "database" for m in metafunc.definition.iter_markers("parametrize")
    )
    if (
        metafunc.definition.get_closest_marker("both_engines")
        and "database" in metafunc.fixturenames
        and not chosen
    ):
        metafunc.parametrize("database", ENGINES, indirect=True)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server's superuser URL: CI's (CRITIC_TEST_POSTGRES, started by .ci/run), else
    a throwaway cluster started here when PostgreSQL is installed; skipped otherwise, except
    under CRITIC_REQUIRE_SERVICES=1 (CI), where a missing service fails."""
    given = os.environ.get("CRITIC_TEST_POSTGRES")
    if given:
        yield given
        return
    from tests.services import postgres_bin, throwaway_postgres

    if postgres_bin() is None:
        if os.environ.get("CRITIC_REQUIRE_SERVICES") == "1":
            pytest.fail("CRITIC_REQUIRE_SERVICES=1 but PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); CI runs these")
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def database(request, monkeypatch) -> str | None:
    """The catalog's database for this test: None for the workspace's SQLite file (the default),
    or a fresh PostgreSQL database (parametrized "postgresql"), set as CRITIC_DATABASE_URL so the
    CLI, the server and every job started by the test use it too."""
    engine = getattr(request, "param", "sqlite")
    if engine == "sqlite":
        monkeypatch.delenv("CRITIC_DATABASE_URL", raising=False)
        return None
    from tests.services import create_database, drop_database

    admin = request.getfixturevalue("postgres_server")
    url = create_database(admin)
    request.addfinalizer(lambda: drop_database(admin, url))
    monkeypatch.setenv("CRITIC_DATABASE_URL", url)
    return url


def catalog_rows(workspace: Workspace, sql: str) -> list[tuple]:
    """Rows of a raw query on the workspace's catalog, whichever engine holds it (what a test
    checks underneath the catalog's own methods: what is stored, and how)."""
    from critic.catalog import open_catalog

    with open_catalog(workspace).engine.reading() as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def stored_bytes(workspace: Workspace) -> bytes:
    """Everything the catalog holds, as bytes: SQLite's files (the WAL too), or every row of every
    table of a PostgreSQL catalog as text (to check that a secret is stored nowhere)."""
    if workspace.database is None:
        return b"".join(p.read_bytes() for p in workspace.root.glob("catalog.sqlite*"))
    tables = catalog_rows(
        workspace, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    return repr([catalog_rows(workspace, f'SELECT * FROM "{t}"') for (t,) in tables]).encode()


@pytest.fixture
def workspace(tmp_path, monkeypatch, database) -> Workspace:
    """CRITIC_HOME in tmp_path, so the CLI and the library both write there and nowhere else."""
    monkeypatch.setenv("CRITIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("CRITIC_IMDB_SOURCE", raising=False)
    return Workspace.from_env()


def write_aclimdb(root: Path, reviews=TINY_REVIEWS) -> Path:
    """Write `reviews` as <root>/aclImdb/{train,test}/{pos,neg,unsup}/<id>_<rating>.txt."""
    base = root / "aclImdb"
    for subset, folder, rid, rating, text in reviews:
        path = base / subset / folder / f"{rid}_{rating}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (base / "README").write_text("tiny aclImdb for tests\n")
    (base / "imdb.vocab").write_text("the\nand\n")
    return base


def tar_folder(folder: Path, tarball: Path) -> Path:
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return tarball


@pytest.fixture
def aclimdb_dir(tmp_path) -> Path:
    return write_aclimdb(tmp_path / "src")


@pytest.fixture
def aclimdb_tar(tmp_path, aclimdb_dir) -> Path:
    return tar_folder(aclimdb_dir, tmp_path / "aclImdb_v1.tar.gz")


class FileServer:
    """Serves bytes over HTTP on 127.0.0.1 with Range support; can cut the next N responses short."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[dict] = []
        self.cut_after: int | None = None  # bytes to send before dropping the connection
        self.cuts_left = 0
        self.ignore_range = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, "range": self.headers.get("Range")})
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and not server.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if server.cuts_left > 0 and server.cut_after is not None:
                    server.cuts_left -= 1
                    self.wfile.write(body[: server.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.close()


POSITIVE = ["great", "wonderful", "loved", "brilliant", "superb"]
NEGATIVE = ["awful", "boring", "hated", "terrible", "dull"]
NEUTRAL = ["okay", "average", "fine", "decent", "middling"]
FILLER = [
    "the",
    "movie",
    "plot",
    "actor",
    "scene",
    "and",
    "was",
    "a",
    "it",
    "story",
    "film",
    "director",
]


def sentiment_rows(n: int, classes: int = 2, seed: int = 0) -> list[tuple[str, str]]:
    """Reviews of filler words plus one word that decides the label (known right answers)."""
    import random

    rng = random.Random(seed)
    vocab = [("negative", NEGATIVE), ("positive", POSITIVE), ("neutral", NEUTRAL)][:classes]
    rows = []
    for i in range(n):
        label, cue = vocab[i % classes]
        words = rng.choices(FILLER, k=rng.randint(4, 24)) + [rng.choice(cue)]
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows) -> Path:
    path.write_text("text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows))
    return path


@pytest.fixture
def tiny_dataset(workspace, tmp_path) -> str:
    """A 2-class dataset `tiny@1` of 80 rows (64 train, 16 validation) in the test's workspace."""
    from critic.data import import_dataset

    return import_dataset(
        "tiny", write_csv(tmp_path / "tiny.csv", sentiment_rows(80)), progress=False
    ).version.ref


class LiveServer:
    """`critic.serve` on uvicorn in a daemon thread, on a free port of 127.0.0.1; stopped at teardown
    (and with the test process, whatever happens)."""

    def __init__(self, app, log_level: str = "warning", access_log: bool = False):
        import socket
        import threading

        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level=log_level, access_log=access_log
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    """A random 2-layer BERT (hidden 32) with a WordPiece vocabulary trained on the test corpus,
    saved as a model directory (config.json, model.safetensors, vocab.txt, tokenizer.json)."""
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    texts = [t for t, _ in sentiment_rows(200, classes=3)] + [
        "a great film",
        "dull and boring",
        "loved it",
    ]
    tokenizer = BertWordPieceTokenizer(lowercase=True)
    tokenizer.train_from_iterator(
        texts,
        vocab_size=120,
        min_frequency=1,
        show_progress=False,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    tokenizer.save_model(str(folder))
    tokenizer.save(str(folder / "tokenizer.json"))
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=0,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(folder))
    return str(folder)


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`critic ARGS` in this process: (exit code, stdout, stderr), on a wide terminal (250
    columns: no table cell is cut short)."""
    import sys

    from critic import cli

    monkeypatch.setattr(sys, "argv", ["critic", *args])
    monkeypatch.setattr(cli.console, "width", 250)
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err
