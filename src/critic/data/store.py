"""Immutable dataset versions: `<workspace>/datasets/<name>/v<N>/` holding `data.parquet`,
`manifest.json` and (when rows were rejected) `rejects.csv`, registered in the catalog.

A version's files are written into a temporary folder, made read-only and renamed into place;
the catalog row is inserted last, in the same transaction that picked the version number."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import critic
from critic.catalog import DatasetRecord, open_catalog
from critic.data.rows import Reject
from critic.data.split import SplitSettings, assign_subsets
from critic.errors import DatasetNotFound
from critic.names import DatasetRef, parse_ref, validate_name
from critic.workspace import Workspace

__all__ = ["DatasetVersion", "Saved", "save_version", "load_version", "list_versions", "class_list"]

FORMAT = "critic.dataset/1"
DATA_FILE, MANIFEST_FILE, REJECTS_FILE = "data.parquet", "manifest.json", "rejects.csv"


@dataclass(frozen=True)
class DatasetVersion:
    """One stored version: its catalog record, its folder, and its rows on demand."""

    record: DatasetRecord
    path: Path

    @property
    def manifest(self) -> dict:
        return self.record.manifest

    @property
    def ref(self) -> str:
        return self.record.ref

    @property
    def classes(self) -> list[str]:
        return self.manifest["classes"]

    def frame(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The rows: text, label, subset, source_subset, origin (+ rating for aclImdb)."""
        return _read(self.path / DATA_FILE, columns=columns)

    def subset(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The rows of one subset, in stored order. Filtered while reading (pyarrow), so the other
        subsets' texts never become Python strings: a third of the memory for IMDB's train."""
        frame = _read(
            self.path / DATA_FILE,
            columns=columns and sorted({*columns, "subset"}),
            filters=[("subset", "==", name)],
        )
        return frame.reset_index(drop=True)


def _read(path: Path, **options) -> pd.DataFrame:
    """A parquet file as a frame; then Arrow's allocator gives back what reading it took
    (mimalloc keeps freed pages otherwise: ~200 MB of RSS held after reading IMDB's reviews)."""
    import pyarrow as pa

    frame = pd.read_parquet(path, **options)
    pa.default_memory_pool().release_unused()
    return frame


@dataclass(frozen=True)
class Saved:
    version: DatasetVersion
    created: bool  # False: the same content was already stored as this version
    warnings: list[str] = field(default_factory=list)


def save_version(
    workspace: Workspace,
    name: str,
    frame: pd.DataFrame,
    rejects: Iterable[Reject],  # a list, or critic.data.rows.Rejects (spooled)
    *,
    source: dict,
    columns: dict,
    split: SplitSettings,
) -> Saved:
    """Assign subsets, fingerprint, and store `frame` (text, label, origin[, source_subset, rating])
    as the next version of `name`, unless identical content is already stored."""
    validate_name(name, "dataset name")
    frame = frame.copy()
    subset, split_info = assign_subsets(frame["label"], frame.get("source_subset"), split)
    frame.insert(2, "subset", subset)
    if "source_subset" not in frame:
        frame["source_subset"] = pd.Series([None] * len(frame), dtype=object)
    classes, label_type = class_list(frame["label"])
    fingerprint = _fingerprint(frame, columns)
    manifest = {
        "format": FORMAT,
        "name": name,
        "critic_version": critic.__version__,
        "source": source,
        "columns": columns,
        "classes": classes,
        "label_type": label_type,
        "fingerprint": fingerprint,
        "split": split_info,
        "rows": _row_counts(frame),
        "rejected": _reject_summary(rejects),
        "warnings": _label_warnings(classes),
    }
    return _commit(workspace, name, frame, rejects, manifest)


def _commit(
    workspace: Workspace, name: str, frame: pd.DataFrame, rejects: Iterable[Reject], manifest: dict
) -> Saved:
    folder = workspace.datasets / name
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(folder)
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        frame.to_parquet(tmp / DATA_FILE, index=False, compression="zstd")
        if rejects:
            _write_rejects(tmp / REJECTS_FILE, rejects)
        catalog = open_catalog(workspace)
        with catalog.transaction() as conn:
            same = catalog.dataset_by_fingerprint(conn, name, manifest["fingerprint"])
            if same is not None:
                return Saved(
                    DatasetVersion(same, workspace.root / same.path),
                    created=False,
                    warnings=manifest["warnings"],
                )
            record = _place(workspace, catalog.next_dataset_version(conn, name), tmp, manifest)
            catalog.insert_dataset(conn, record)
        return Saved(
            DatasetVersion(record, workspace.root / record.path),
            created=True,
            warnings=manifest["warnings"],
        )
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _place(workspace: Workspace, version: int, tmp: Path, manifest: dict) -> DatasetRecord:
    """Finish the files for `version` and rename them into place (called inside the transaction)."""
    name = manifest["name"]
    created = datetime.now(UTC).isoformat(timespec="seconds")
    manifest.update(version=version, ref=f"{name}@{version}", created=created)
    manifest["rejected"]["file"] = REJECTS_FILE if (tmp / REJECTS_FILE).exists() else None
    (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    for file in tmp.iterdir():
        file.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # versions are immutable
    final = workspace.datasets / name / f"v{version}"
    if final.exists():  # left by an import that died before its catalog row: never visible, discard
        _make_writable(final)
        shutil.rmtree(final)
    os.rename(tmp, final)
    rows = manifest["rows"]
    return DatasetRecord(
        name,
        version,
        created,
        manifest["fingerprint"],
        rows["total"],
        manifest["rejected"]["count"],
        final.relative_to(workspace.root).as_posix(),
        manifest,
    )


def _remove_stale_temporaries(folder: Path, max_age_s: float = 3600) -> None:
    """Temporary folders of imports killed mid-write. A live import keeps its own for seconds, so
    one older than an hour has no owner."""
    for tmp in folder.glob(".tmp-*"):
        if time.time() - tmp.stat().st_mtime > max_age_s:
            _make_writable(tmp)
            shutil.rmtree(tmp, ignore_errors=True)


def _make_writable(folder: Path) -> None:
    for file in folder.rglob("*"):
        file.chmod(file.stat().st_mode | stat.S_IWUSR)


def load_version(ref: str | DatasetRef, workspace: Workspace | None = None) -> DatasetVersion:
    workspace = workspace or Workspace.from_env()
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    record = open_catalog(workspace).dataset(ref.name, ref.version)
    if record is None:
        known = sorted({r.ref for r in open_catalog(workspace).datasets(ref.name)})
        hint = (
            f" (it has {', '.join(known)})"
            if known
            else f"; run `critic data import {ref.name} --source ...` first"
        )
        raise DatasetNotFound(f"no dataset {str(ref)!r} in {workspace.root}{hint}")
    return DatasetVersion(record, workspace.root / record.path)


def list_versions(
    workspace: Workspace | None = None, name: str | None = None
) -> list[DatasetVersion]:
    workspace = workspace or Workspace.from_env()
    return [
        DatasetVersion(r, workspace.root / r.path) for r in open_catalog(workspace).datasets(name)
    ]


def class_list(labels: pd.Series) -> tuple[list[str], str]:
    """The classes in a stable order and whether they are integers ("int": sorted numerically)."""
    values = sorted(set(labels.dropna()))
    if values and all(_is_int(v) for v in values):
        return sorted(values, key=int), "int"
    return values, "str"


def _is_int(value: str) -> bool:
    return value.lstrip("-").isdigit() and str(int(value)) == value


def _fingerprint(frame: pd.DataFrame, columns: dict) -> str:
    """sha256 over every stored value, length-prefixed so that no two tables share a digest."""
    digest = hashlib.sha256(json.dumps(columns, sort_keys=True).encode())
    for name in ("text", "label", "subset", "source_subset", "rating"):
        if name not in frame:
            continue
        digest.update(name.encode())
        for value in frame[name].tolist():
            data = (
                b"\xff"
                if value is None or value is pd.NA
                else str(value).encode("utf-8", "surrogatepass")
            )
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def _row_counts(frame: pd.DataFrame) -> dict:
    labelled = frame[frame["label"].notna()]
    order = {"train": 0, "validation": 1, "test": 2}
    groups = sorted(labelled.groupby("subset"), key=lambda item: order.get(item[0], 3))
    by_subset = {s: dict(sorted(Counter(g["label"]).items())) for s, g in groups}
    return {
        "total": len(frame),
        "labelled": len(labelled),
        "by_subset": by_subset,
        "unlabelled": int(frame["label"].isna().sum()),
    }


def _reject_summary(rejects: Iterable[Reject]) -> dict:
    reasons = Counter(r.reason for r in rejects)
    return {"count": sum(reasons.values()), "by_reason": dict(reasons.most_common(20))}


def _write_rejects(path: Path, rejects: Iterable[Reject]) -> None:
    """rejects.csv, one rejected row a line, written as they are read (never all in memory)."""
    with open(path, "w", encoding="utf-8", errors="replace", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["source", "line", "reason", "content"])
        writer.writeheader()
        writer.writerows(r.as_dict() for r in rejects)


def _label_warnings(classes: list[str]) -> list[str]:
    by_folded: dict[str, list[str]] = {}
    for c in classes:
        by_folded.setdefault(c.casefold(), []).append(c)
    return [
        f"labels {same} differ only by case and are kept as separate classes; fix the source if they are one class"
        for same in by_folded.values()
        if len(same) > 1
    ]
