import hashlib

import pytest

from critic.data.download import fetch
from critic.data.importer import import_dataset
from critic.errors import ChecksumMismatch, DownloadError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB that is not all one byte
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_verifies_and_caches_by_sha256(tmp_path, file_server):
    file_server.files["/data.tar.gz"] = PAYLOAD
    path = fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=SHA, progress=False)
    assert path == tmp_path / SHA / "data.tar.gz"
    assert path.read_bytes() == PAYLOAD
    # a second fetch is served from the cache: no new request
    assert fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=SHA, progress=False) == path
    assert len(file_server.requests) == 1


@pytest.mark.drill("interrupted work")
def test_interrupted_transfer_resumes_with_range(tmp_path, file_server):
    file_server.files["/data.tar.gz"] = PAYLOAD
    file_server.cut_after, file_server.cuts_left = (
        300_000,
        1,
    )  # the first response dies after 300 kB
    path = fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=SHA, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert [r["range"] for r in file_server.requests] == [None, "bytes=300000-"]


@pytest.mark.drill("interrupted work")
def test_partial_file_from_an_earlier_run_is_resumed(tmp_path, file_server):
    file_server.files["/data.tar.gz"] = PAYLOAD
    file_server.cut_after, file_server.cuts_left = 500_000, 10  # every attempt dies
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=SHA, progress=False, retries=0)
    file_server.cuts_left = 0  # the network is back
    path = fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=SHA, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert file_server.requests[-1]["range"] == "bytes=500000-"


@pytest.mark.drill("interrupted work")
def test_server_that_ignores_range_restarts_cleanly(tmp_path, file_server):
    file_server.files["/data.tar.gz"] = PAYLOAD
    file_server.ignore_range = True
    file_server.cut_after, file_server.cuts_left = 400_000, 1
    path = fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=SHA, progress=False)
    assert path.read_bytes() == PAYLOAD  # not the first 400 kB twice


@pytest.mark.drill("interrupted work")
def test_wrong_checksum_is_refused_and_not_cached(tmp_path, file_server):
    file_server.files["/data.tar.gz"] = PAYLOAD
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatch) as info:
        fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=wrong, progress=False)
    assert wrong in str(info.value) and SHA in str(info.value)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []
    # and a retry does not treat anything as cached
    with pytest.raises(ChecksumMismatch):
        fetch(file_server.url("/data.tar.gz"), tmp_path, sha256=wrong, progress=False)
    assert len(file_server.requests) == 2


def test_http_error_is_clear(tmp_path, file_server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(file_server.url("/missing.tar.gz"), tmp_path, progress=False)


def test_malformed_sha256_option(tmp_path, file_server):
    with pytest.raises(Exception, match="64 hexadecimal"):
        fetch(file_server.url("/x.csv"), tmp_path, sha256="abc", progress=False)


def test_import_aclimdb_from_url(workspace, file_server, aclimdb_tar):
    data = aclimdb_tar.read_bytes()
    file_server.files["/aclImdb_v1.tar.gz"] = data
    sha = hashlib.sha256(data).hexdigest()
    saved = import_dataset(
        "imdb", file_server.url("/aclImdb_v1.tar.gz"), sha256=sha, progress=False
    )
    source = saved.version.manifest["source"]
    assert source["kind"] == "url" and source["sha256"] == sha and source["verified"] is True
    assert saved.version.manifest["rows"]["labelled"] == 14
    assert (workspace.downloads / sha / "aclImdb_v1.tar.gz").is_file()


@pytest.mark.drill("interrupted work")
def test_import_refuses_a_tampered_download(workspace, file_server, aclimdb_tar):
    file_server.files["/aclImdb_v1.tar.gz"] = aclimdb_tar.read_bytes()
    with pytest.raises(ChecksumMismatch):
        import_dataset(
            "imdb", file_server.url("/aclImdb_v1.tar.gz"), sha256="a" * 64, progress=False
        )
    assert not workspace.datasets.exists() or not any(workspace.datasets.iterdir())
