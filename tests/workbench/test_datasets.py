"""The Datasets pages through FastAPI's TestClient: the list, the streamed upload and its size
limit, server paths only under the import directory, the preview, an import and a new split run as
jobs by the app's own pool, the version page, its rejects download and the coverage route."""

from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient

from critic.data import import_dataset
from critic.jobs import get_job
from critic.serve import ServeSettings, create_app
from critic.serve.workbench.staging import UPLOADS, clean_uploads
from tests.conftest import sentiment_rows
from tests.workbench.conftest import ORIGIN, csrf_of, log_in

CSV = (
    "text,label,topic\n"
    '"Great, really great",pos,film\n'
    '"Bad, so bad",neg,book\n'
    '"Fine, quite fine",pos,book\n'
    '"Dull, dull, dull",neg,film\n'
    '"broken row",pos,film,extra\n'
)


def _client(workspace, alice, **settings) -> TestClient:
    app = create_app(workspace, ServeSettings(refresh_seconds=0, **settings), workbench=True)
    client = TestClient(app, base_url=ORIGIN)
    client.__enter__()
    assert log_in(client).status_code == 303
    client.headers["X-CSRF-Token"] = csrf_of(client)
    return client


@pytest.fixture
def wb(workspace, alice):
    client = _client(workspace, alice)
    yield client
    client.__exit__(None, None, None)


def _upload(client, body: bytes, filename="reviews.csv"):
    return client.post(
        "/datasets/-/upload",
        params={"filename": filename},
        content=body,
        headers={"Content-Type": "application/octet-stream", "Accept": "application/json"},
    )


def _wait(job_id: str, workspace, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = get_job(job_id, workspace)
        if job.finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"{job_id} did not finish in {seconds} s")


def test_the_list_shows_every_version_with_its_counts(wb, workspace, tmp_path):
    assert "No dataset yet" in wb.get("/datasets").text
    rows = sentiment_rows(40)
    path = tmp_path / "r.csv"
    path.write_text("text,label\n" + "".join(f'"{t}",{lab}\n' for t, lab in rows))
    import_dataset("reviews", path, workspace=workspace, progress=False)
    page = wb.get("/datasets")
    assert page.status_code == 200
    assert 'href="/datasets/reviews/1"' in page.text and "reviews@1" in page.text
    assert (
        wb.get("/datasets/reviews", follow_redirects=False).headers["location"]
        == "/datasets/reviews/1"
    )
    assert "A file on the server" not in page.text  # no import directory named: no server path form


def test_an_upload_is_streamed_to_disk_and_previewed_with_the_guessed_columns(wb, workspace):
    answer = _upload(wb, CSV.encode())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    stored = workspace.root / UPLOADS / body["upload"] / "reviews.csv"
    assert stored.read_bytes() == CSV.encode() and body["bytes"] == len(CSV)
    page = wb.get(body["redirect"])
    assert page.status_code == 200
    assert "Great, really great" in page.text  # the quoted comma kept in its cell
    assert '<option value="label" selected>' in page.text  # the importer's guess
    assert 'value="reviews"' in page.text  # the dataset name suggested from the file


@pytest.mark.parametrize("chunked", [False, True])
def test_an_upload_over_the_limit_is_refused_with_the_setting_named(workspace, alice, chunked):
    client = _client(workspace, alice, max_upload_bytes=1000)
    try:
        data = b"text,label\n" + b'"x",pos\n' * 500
        body = (data[i : i + 100] for i in range(0, len(data), 100)) if chunked else data
        answer = _upload(client, body)
        assert answer.status_code == 413
        assert answer.json()["error"] == "upload_too_large"
        assert "CRITIC_MAX_UPLOAD_BYTES" in answer.json()["message"]
        assert not any((workspace.root / UPLOADS).glob("*/*"))  # nothing half-written is kept
    finally:
        client.__exit__(None, None, None)


def test_an_upload_that_is_not_a_table_is_refused(wb):
    answer = _upload(wb, b"#!/bin/sh\n", filename="run.sh")
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_file"
    answer = _upload(wb, b"", filename="../../etc/x.csv")
    assert answer.status_code == 400 and answer.json()["error"] == "empty_upload"


def test_old_uploads_are_cleaned(tmp_path):
    old, new = tmp_path / ("a" * 16), tmp_path / ("b" * 16)
    for folder in (old, new):
        folder.mkdir()
        (folder / "x.csv").write_text("text,label\n")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    assert clean_uploads(tmp_path) == 1
    assert not old.exists() and new.exists()


def test_server_paths_only_under_the_import_directory(workspace, alice, tmp_path):
    allowed = tmp_path / "imports"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "ok.csv").write_text(CSV)
    secret = tmp_path / "secret.csv"
    secret.write_text("text,label\nsecret,pos\n")
    (allowed / "link.csv").symlink_to(secret)
    client = _client(workspace, alice, import_dir=str(allowed))
    try:
        assert "A file on the server" in client.get("/datasets").text
        ok = client.post("/datasets/-/server-path", data={"path": "sub/ok.csv"})
        assert ok.status_code == 200, ok.text
        assert "Great, really great" in client.get(ok.json()["redirect"]).text
        for outside in ("../secret.csv", str(secret), "link.csv"):
            refused = client.post("/datasets/-/server-path", data={"path": outside})
            assert refused.status_code == 403 and refused.json()["error"] == "outside_import_dir"
            page = client.get("/datasets/-/preview", params={"path": outside})
            assert page.status_code == 403
        imported = client.post("/datasets/-/import", data={"path": "../secret.csv", "name": "leak"})
        assert imported.status_code == 403
    finally:
        client.__exit__(None, None, None)


def test_without_an_import_directory_no_server_path_is_read(wb):
    refused = wb.post("/datasets/-/server-path", data={"path": "x.csv"})
    assert refused.status_code == 403 and refused.json()["error"] == "no_import_dir"


def test_a_bad_name_or_column_is_refused_before_a_job_is_queued(wb, workspace):
    upload = _upload(wb, CSV.encode()).json()["upload"]
    for name in ("../x", "has space", "", "-x", "a" * 65):
        answer = wb.post("/datasets/-/import", data={"upload": upload, "name": name})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_name", name
    answer = wb.post("/datasets/-/import", data={"upload": upload, "name": "r", "label": "nope"})
    assert answer.status_code == 400 and answer.json()["error"] == "no_such_column"
    answer = wb.post(
        "/datasets/-/import", data={"upload": upload, "name": "r", "validation_percent": "120"}
    )
    assert answer.status_code == 422
    answer = wb.post("/datasets/-/import", data={"upload": "0" * 16, "name": "r"})
    assert answer.status_code == 404
    answer = wb.post("/datasets/-/import", data={"url": "file:///etc/passwd", "name": "r"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_url"


def test_import_split_stats_rejects_and_coverage(wb, workspace):
    upload = _upload(wb, CSV.encode()).json()["upload"]
    # multipart, as the page's <form data-api> sends it
    answer = wb.post(
        "/datasets/-/import",
        files={
            k: (None, v)
            for k, v in {
                "upload": upload,
                "name": "rev",
                "text": "text",
                "label": "topic",
                "validation_percent": "25",
            }.items()
        },
    )
    assert answer.status_code == 200, answer.text
    job = _wait(answer.json()["job"], workspace)
    assert job.state == "done", job.error
    assert job.argv[:3] == ("data", "import", "rev") and "--label" in job.argv
    log = wb.get(f"/datasets/-/jobs/{job.id}/log").json()
    assert log["finished"] and log["version"] == {"ref": "rev@1", "url": "/datasets/rev/1"}
    assert wb.get(f"/datasets/-/jobs/{job.id}").status_code == 200

    page = wb.get("/datasets/rev/1")
    assert page.status_code == 200
    assert "label = topic" in page.text  # the column chosen, not the guessed `label`
    assert 'data-stats="missing"' in page.text
    assert wb.get("/datasets/rev/1/coverage", params={"length": "3"}).status_code == 409

    rejects = wb.get("/datasets/rev/1/rejects.csv")
    assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
    assert "attachment" in rejects.headers["content-disposition"] and "has 4 fields" in rejects.text
    assert "has 4 fields" in page.text  # the first rejected rows are shown on the page

    stats = wb.post("/datasets/rev/1/stats")
    assert stats.status_code == 200
    again = wb.post("/datasets/rev/1/stats").json()
    assert again["job"] == stats.json()["job"] or again["state"] != "queued"  # not queued twice
    assert _wait(stats.json()["job"], workspace).state == "done"
    page = wb.get("/datasets/rev/1")
    assert (
        'data-stats="ready"' in page.text
        and "/datasets/rev/1/plots/length_histogram.png" in page.text
    )
    png = wb.get("/datasets/rev/1/plots/vocabulary.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert wb.get("/datasets/rev/1/plots/nothing.png").status_code == 404

    cut = wb.get("/datasets/rev/1/coverage", params={"length": "2"}).json()
    assert cut["words"]["all"] == 1.0 and cut["wordpiece"] is None  # every text has 3 words
    assert wb.get("/datasets/rev/1/coverage", params={"length": "3"}).json()["words"]["all"] == 0.0
    for bad in ("0", "-1", "x", "99999999"):
        answer = wb.get("/datasets/rev/1/coverage", params={"length": bad})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_length"

    split = wb.post("/datasets/rev/1/split", data={"validation_percent": "50", "seed": "7"})
    assert split.status_code == 200, split.text
    done = _wait(split.json()["job"], workspace)
    assert done.state == "done", done.error
    made = wb.get(f"/datasets/-/jobs/{done.id}/log").json()["version"]
    assert made["ref"] == "rev@2"
    assert "seed 7" in wb.get("/datasets/rev/2").text
    listed = wb.get("/datasets").text  # the data jobs of the last day, each linked to its log
    assert (
        f'href="/datasets/-/jobs/{done.id}"' in listed
        and f'href="/datasets/-/jobs/{job.id}"' in listed
    )


def test_unknown_versions_and_jobs_are_404(wb):
    assert wb.get("/datasets/nothing/1").status_code == 404
    assert wb.get("/datasets/nothing/1/rejects.csv").status_code == 404
    assert wb.get("/datasets/nothing/1/coverage?length=5").status_code == 404
    assert wb.get("/datasets/-/preview", params={"upload": "../../x"}).status_code == 400


def test_the_settings_come_from_the_environment_and_critic_serve(
    workspace, tmp_path, monkeypatch, capsys
):
    from critic.errors import SettingsError
    from tests.test_cli import run

    monkeypatch.setenv("CRITIC_MAX_UPLOAD_BYTES", "12345")
    monkeypatch.setenv("CRITIC_IMPORT_DIR", str(tmp_path))
    settings = ServeSettings.from_env()
    assert settings.max_upload_bytes == 12345 and settings.import_dir == str(tmp_path.resolve())
    monkeypatch.setenv("CRITIC_IMPORT_DIR", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="not a directory"):
        ServeSettings.from_env()
    monkeypatch.delenv("CRITIC_IMPORT_DIR")
    assert ServeSettings.from_env().import_dir is None
    monkeypatch.setenv("CRITIC_MAX_UPLOAD_BYTES", "0")
    with pytest.raises(SettingsError):
        ServeSettings.from_env()
    monkeypatch.delenv("CRITIC_MAX_UPLOAD_BYTES")  # `critic serve` refuses a bad setting at once

    monkeypatch.setattr("uvicorn.run", lambda *a, **k: None)
    for key in (
        "CRITIC_WORKBENCH",
        "CRITIC_TORCH_THREADS",
    ):  # set by `critic serve`: restored after
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "in").mkdir()
    code, _, _ = run(monkeypatch, capsys, "serve", "--import-dir", str(tmp_path / "in"))
    assert code == 0 and os.environ["CRITIC_IMPORT_DIR"] == str((tmp_path / "in").resolve())
    code, _, _ = run(monkeypatch, capsys, "serve", "--import-dir", str(tmp_path / "nope"))
    assert code != 0


def test_a_queued_data_job_is_cancelled_from_its_page(workspace, alice, monkeypatch):
    monkeypatch.setenv("CRITIC_JOBS_POOL", "0")  # nothing starts it: it stays queued
    client = _client(workspace, alice)
    try:
        upload = _upload(client, CSV.encode()).json()["upload"]
        job = client.post("/datasets/-/import", data={"upload": upload, "name": "q"}).json()["job"]
        page = client.get(f"/datasets/-/jobs/{job}").text
        assert 'id="job-cancel"' in page and "queued" in page
        assert client.post(f"/datasets/-/jobs/{job}/cancel").json() == {"state": "cancelled"}
        assert client.get(f"/datasets/-/jobs/{job}/log").json()["state"] == "cancelled"
        assert 'id="job-cancel"' not in client.get(f"/datasets/-/jobs/{job}").text
    finally:
        client.__exit__(None, None, None)
