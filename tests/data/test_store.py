import json
import os
import threading

import numpy as np
import pandas as pd
import pytest

from critic.data import SplitSettings, import_dataset, list_versions, load_version, resplit
from critic.data.split import assign_subsets
from critic.errors import DatasetNotFound, InvalidName, SettingsError

# the catalog on both engines: the workspace's SQLite file and a PostgreSQL database
pytestmark = pytest.mark.both_engines


def _csv(path, n=40, extra=""):
    path.write_text(
        "text,label\n" + "".join(f"review {i}{extra},{'abc'[i % 3]}\n" for i in range(n))
    )
    return path


def test_versions_are_numbered_immutable_and_identical_content_is_not_copied(workspace, tmp_path):
    first = import_dataset("d", _csv(tmp_path / "a.csv"), progress=False)
    assert first.created and first.version.ref == "d@1"
    same = import_dataset("d", _csv(tmp_path / "b.csv"), progress=False)  # other file, same content
    assert not same.created and same.version.ref == "d@1"
    changed = import_dataset("d", _csv(tmp_path / "c.csv", extra="!"), progress=False)
    assert changed.created and changed.version.ref == "d@2"
    assert [v.ref for v in list_versions()] == ["d@1", "d@2"]
    assert load_version("d").ref == "d@2" and load_version("d@1").ref == "d@1"
    data = first.version.path / "data.parquet"
    assert not os.access(data, os.W_OK) or os.geteuid() == 0  # read-only (root may write anyway)
    assert oct(data.stat().st_mode & 0o777) == "0o444"
    manifest = json.loads((first.version.path / "manifest.json").read_text())
    assert manifest == first.version.manifest
    for key in (
        "source",
        "fingerprint",
        "rows",
        "rejected",
        "split",
        "created",
        "critic_version",
        "classes",
    ):
        assert key in manifest
    assert manifest["source"]["sha256"] and len(manifest["fingerprint"]) == 64


def test_manifest_counts(workspace, tmp_path):
    m = import_dataset("d", _csv(tmp_path / "a.csv", n=30), progress=False).version.manifest
    assert m["rows"]["total"] == 30 and m["classes"] == ["a", "b", "c"]
    assert m["rows"]["by_subset"] == {
        "train": {"a": 8, "b": 8, "c": 8},
        "validation": {"a": 2, "b": 2, "c": 2},
    }


def test_split_is_stratified_reproducible_and_disjoint():
    labels = pd.Series(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    one, info = assign_subsets(labels, None, SplitSettings(0.2, 0.1, seed=7))
    two, _ = assign_subsets(labels, None, SplitSettings(0.2, 0.1, seed=7))
    other, _ = assign_subsets(labels, None, SplitSettings(0.2, 0.1, seed=8))
    assert (one == two).all() and not (one == other).all()
    assert info["stratified"]
    # each row is in exactly one subset; per-class shares follow the fractions
    assert set(one) == {"train", "validation", "test"}
    table = pd.crosstab(labels, one)
    assert table.loc["a"].to_dict() == {"test": 6, "train": 43, "validation": 11}
    assert table.loc["c", "test"] == 1 and table.loc["c", "validation"] == 2


def test_split_keeps_the_sources_own_subsets():
    labels = pd.Series(["a", "b"] * 10)
    given = pd.Series(["train"] * 10 + ["test"] * 10)
    subset, info = assign_subsets(labels, given, SplitSettings(0.2, 0.5, seed=0))
    assert (subset[10:] == "test").all()  # the source's test stays; no second test carved
    assert (subset[:10] == "validation").sum() == 2 and info["from_source"] == ["test"]


def test_bad_fractions():
    with pytest.raises(SettingsError, match="validation-fraction"):
        SplitSettings(validation_fraction=1.0)
    with pytest.raises(SettingsError, match="leave some rows"):
        SplitSettings(0.6, 0.5)


def test_resplit_makes_a_new_version_and_same_settings_are_identical(workspace, tmp_path):
    import_dataset("d", _csv(tmp_path / "a.csv"), progress=False)
    again = resplit("d@1", SplitSettings())
    assert not again.created and again.version.ref == "d@1"
    other = resplit("d@1", SplitSettings(validation_fraction=0.5, seed=3))
    assert other.created and other.version.ref == "d@2"
    assert other.version.manifest["source"]["location"] == "d@1"
    assert (other.version.frame()["subset"] == "validation").sum() == 20


@pytest.mark.drill("names that become paths")
@pytest.mark.parametrize(
    "name",
    ["../x", "a/b", "", ".hidden", "x" * 65, "nul", "CON.txt", "a\x00b", "tab\tname", "a..b"],
)
def test_names_that_become_paths_are_validated(workspace, tmp_path, name):
    with pytest.raises(InvalidName):
        import_dataset(name, _csv(tmp_path / "a.csv"), progress=False)
    assert not workspace.datasets.exists() or not any(workspace.datasets.iterdir())


def test_unknown_dataset_says_what_to_do(workspace):
    with pytest.raises(DatasetNotFound, match="critic data import nope"):
        load_version("nope")


@pytest.mark.drill("interrupted work")
def test_a_folder_left_by_a_killed_import_is_never_visible_and_is_replaced(workspace, tmp_path):
    orphan = workspace.ensure().datasets / "d" / "v1"
    orphan.mkdir(parents=True)
    (orphan / "data.parquet").write_bytes(b"half-written")
    with pytest.raises(DatasetNotFound):
        load_version("d")  # the catalog, not the folder, says what exists
    saved = import_dataset("d", _csv(tmp_path / "a.csv"), progress=False)
    assert saved.version.ref == "d@1" and len(saved.version.frame()) == 40


@pytest.mark.drill("concurrency")
def test_concurrent_imports_of_one_name_make_distinct_versions(workspace, tmp_path):
    files = [_csv(tmp_path / f"{i}.csv", extra=str(i)) for i in range(4)]
    results, errors = [], []

    def run(path):
        try:
            results.append(import_dataset("d", path, progress=False).version.ref)
        except Exception as exc:  # pragma: no cover - a failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in files]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and sorted(results) == ["d@1", "d@2", "d@3", "d@4"]
    texts = {v.ref: v.frame()["text"].iloc[0] for v in list_versions()}
    assert sorted(texts.values()) == sorted(f"review 0{i}" for i in range(4))


def test_fingerprint_depends_on_content_not_on_file(workspace, tmp_path):
    a = import_dataset("d", _csv(tmp_path / "a.csv"), progress=False).version.manifest[
        "fingerprint"
    ]
    b = import_dataset("e", _csv(tmp_path / "b.csv"), progress=False).version.manifest[
        "fingerprint"
    ]
    assert a == b
    np.testing.assert_equal(len(a), 64)
