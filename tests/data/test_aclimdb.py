import io
import tarfile

import pytest

from critic.data import import_dataset, load_version
from critic.errors import SourceError
from tests.conftest import TINY_REVIEWS, tar_folder, write_aclimdb


def _rows(saved):
    return saved.version.frame()


def test_folder_and_tarball_give_the_same_version(workspace, aclimdb_dir, aclimdb_tar):
    from_dir = import_dataset("imdb", aclimdb_dir, progress=False)
    from_tar = import_dataset("imdb", aclimdb_tar, progress=False)
    assert from_dir.created and not from_tar.created  # identical content is detected
    assert from_tar.version.ref == from_dir.version.ref == "imdb@1"
    # the parent folder of aclImdb/ works too
    assert not import_dataset("imdb", aclimdb_dir.parent, progress=False).created


def test_reads_labels_ratings_and_keeps_text_verbatim(workspace, aclimdb_tar):
    saved = import_dataset("imdb", aclimdb_tar, progress=False)
    frame = _rows(saved)
    m = saved.version.manifest
    assert m["classes"] == ["negative", "positive"]
    assert m["columns"] == {"text": "review", "label": "sentiment", "subset": None}
    assert m["rows"]["labelled"] == 14 and m["rows"]["unlabelled"] == 0  # unsup skipped by default
    first = frame[frame["origin"] == "train/pos/0_9.txt"].iloc[0]
    assert first["text"] == "A great film.<br /><br />Great acting, great story!"  # <br /> kept
    assert first["label"] == "positive" and first["rating"] == 9
    assert set(frame[frame["source_subset"] == "test"]["subset"]) == {"test"}
    # canonical order: subset, folder, numeric id (10 after 3, not after 1)
    train_pos = frame[frame["origin"].str.startswith("train/pos/")]["origin"].tolist()
    assert train_pos == [
        f"train/pos/{i}_{r}.txt" for i, r in [(0, 9), (1, 8), (2, 10), (3, 7), (10, 9)]
    ]


def test_unsup_only_when_asked(workspace, aclimdb_tar):
    saved = import_dataset("imdb", aclimdb_tar, include_unsup=True, progress=False)
    frame = _rows(saved)
    unsup = frame[frame["subset"] == "unsup"]
    assert len(unsup) == 1 and unsup["label"].isna().all()
    assert saved.version.manifest["classes"] == ["negative", "positive"]


def test_default_split_is_20_percent_of_train_stratified(workspace, aclimdb_tar):
    frame = _rows(import_dataset("imdb", aclimdb_tar, progress=False))
    assert (frame["subset"] == "validation").sum() == 2  # 20 % of 10 train reviews
    assert sorted(frame[frame["subset"] == "validation"]["label"]) == ["negative", "positive"]
    assert (frame["subset"] == "test").sum() == 4


def test_bad_review_files_are_rejected_one_by_one(workspace, tmp_path):
    root = write_aclimdb(tmp_path / "src")
    (root / "train" / "pos" / "20_9.txt").write_bytes(b"caf\xe9 latin-1 bytes")
    (root / "train" / "neg" / "20_1.txt").write_text("   ")
    saved = import_dataset("imdb", tar_folder(root, tmp_path / "a.tar.gz"), progress=False)
    m = saved.version.manifest
    assert m["rejected"]["count"] == 2 and m["rows"]["labelled"] == 14
    rejects = (saved.version.path / "rejects.csv").read_text()
    assert "20_9.txt" in rejects and "not valid UTF-8" in rejects and "empty review" in rejects


def test_tarball_without_train_is_a_clear_error(workspace, tmp_path):
    folder = tmp_path / "other"
    (folder / "stuff").mkdir(parents=True)
    (folder / "stuff" / "a.txt").write_text("x")
    with pytest.raises(SourceError, match="train/pos or train/neg"):
        import_dataset("imdb", tar_folder(folder, tmp_path / "x.tar.gz"), progress=False)
    assert not workspace.datasets.exists() or not any(workspace.datasets.iterdir())


def test_links_and_traversal_members_are_skipped_and_counted(workspace, tmp_path):
    tarball = tmp_path / "evil.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, text in [
            ("aclImdb/train/pos/0_9.txt", "good"),
            ("aclImdb/train/neg/0_1.txt", "bad"),
            ("../aclImdb/train/pos/1_9.txt", "escape"),
            ("aclImdb/test/pos/0_9.txt", "fine"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
        link = tarfile.TarInfo("aclImdb/train/neg/1_1.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    saved = import_dataset("imdb", tarball, progress=False, split=_no_validation())
    m = saved.version.manifest
    assert m["rows"]["labelled"] == 3 and m["rejected"]["count"] == 2
    assert set(saved.version.frame()["text"]) == {"good", "bad", "fine"}


def _no_validation():
    from critic.data import SplitSettings

    return SplitSettings(validation_fraction=0.0)


def test_not_a_tarball(workspace, tmp_path):
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"this is not gzip")
    with pytest.raises(SourceError, match="cannot read"):
        import_dataset("imdb", bad, progress=False)


def test_version_is_loadable_by_ref(workspace, aclimdb_tar):
    import_dataset("imdb", aclimdb_tar, progress=False)
    assert load_version("imdb@1").record.rows == len([r for r in TINY_REVIEWS if r[1] != "unsup"])
