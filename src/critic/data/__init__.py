"""Datasets: import, immutable versions with subsets, statistics."""

from critic.data.download import IMDB_URL, fetch
from critic.data.importer import FORMATS, import_dataset, resplit
from critic.data.split import SUBSETS, SplitSettings
from critic.data.store import DatasetVersion, Saved, list_versions, load_version

__all__ = [
    "IMDB_URL",
    "FORMATS",
    "SUBSETS",
    "SplitSettings",
    "DatasetVersion",
    "Saved",
    "fetch",
    "import_dataset",
    "resplit",
    "load_version",
    "list_versions",
]
