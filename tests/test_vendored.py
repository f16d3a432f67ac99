"""Vendored front-end files are what vendor.json says: every file listed with its sha256, every
package with its version and licence (and its LICENSE file), nothing unlisted."""

import hashlib
import json
from importlib import resources

VENDOR = resources.files("critic").joinpath("static", "vendor")


def test_every_vendored_file_is_listed_with_its_hash_and_licence():
    manifest = json.loads(VENDOR.joinpath("vendor.json").read_text())
    folders = {p.name for p in VENDOR.iterdir() if p.is_dir()}
    assert folders == set(manifest)
    for folder, entry in manifest.items():
        assert folder == f"{entry['package']}-{entry['version']}" and entry["license"]
        files = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in VENDOR.joinpath(folder).iterdir()
        }
        assert files == entry["sha256"] and "LICENSE" in files
