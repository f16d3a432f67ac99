"""Drill: the bad-input corpus (tests/data/bad_inputs/make.py). Every file is either refused with a
clear error that leaves the catalog as it was, or imported with accepted + rejected = its rows."""

from __future__ import annotations

import pytest

from critic import errors
from critic.data import SplitSettings, import_dataset
from tests.data.bad_inputs.make import make
from tests.drills.conftest import snapshot

pytestmark = pytest.mark.drill("bad-input corpus")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_inputs")
    return folder, {c.file: c for c in make(folder)}


def _names():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:  # the case list, without keeping the files
        return [c.file for c in make(Path(tmp))]


@pytest.mark.parametrize("name", _names())
def test_bad_input(corpus, workspace, name, record_property):
    folder, cases = corpus
    case = cases[name]
    import_dataset(
        "seed", folder / "crlf_and_blank_lines.csv", progress=False
    )  # a catalog with something in it
    before = snapshot(workspace)
    if case.error:
        with pytest.raises(getattr(errors, case.error)) as info:
            import_dataset("bad", folder / name, progress=False, **case.options)
        assert case.hint in str(info.value), str(info.value)
        assert snapshot(workspace) == before
        record_property("lost", 0)
        return
    saved = import_dataset(
        "bad",
        folder / name,
        progress=False,
        split=SplitSettings(validation_fraction=0.0),
        **case.options,
    )
    manifest = saved.version.manifest
    accepted, rejected = manifest["rows"]["total"], manifest["rejected"]["count"]
    record_property("lost", case.rows - accepted - rejected)
    assert (accepted, accepted + rejected) == (case.accepted, case.rows), manifest["rejected"]
    if rejected:
        assert any(case.hint in reason for reason in manifest["rejected"]["by_reason"]), manifest[
            "rejected"
        ]
        assert (saved.version.path / "rejects.csv").exists()
    if case.warning:
        assert any(case.warning in w for w in saved.warnings), saved.warnings
    assert len(saved.version.frame()) == accepted
