"""Subsets: train / validation / test, assigned once per row and stored with the version.

The source's own split wins (aclImdb's train/test folders, a --subset-column, zip members named
train.csv/test.csv); what it lacks is carved out of train, stratified by label, from a seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from critic.errors import SettingsError

__all__ = ["SplitSettings", "SUBSETS", "assign_subsets"]

SUBSETS = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitSettings:
    validation_fraction: float = 0.2  # the seeds' default: 20 % of train held out for validation
    test_fraction: float = 0.0  # a table without its own test split gets none unless asked
    seed: int = 42  # recorded in the manifest; the same seed gives the same split

    def __post_init__(self):
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise SettingsError(
                    f"{name.replace('_', '-')} must be at least 0 and below 1, got {value}"
                )
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise SettingsError(
                "validation and test fractions together must leave some rows for training"
            )

    def as_dict(self) -> dict:
        return asdict(self)


def assign_subsets(
    labels: pd.Series, source_subset: pd.Series | None, settings: SplitSettings
) -> tuple[np.ndarray, dict]:
    """Return (subset per row, a description for the manifest)."""
    subset = np.full(len(labels), "train", dtype=object)
    if source_subset is not None:
        given = source_subset.notna().to_numpy()
        subset[given] = source_subset[given].to_numpy()
    present = set(subset)
    info = {
        **settings.as_dict(),
        "from_source": sorted(present & {"validation", "test"}),
        "stratified": True,
    }
    if "test" not in present and settings.test_fraction > 0:
        info["stratified"] &= _carve(subset, labels, "test", settings.test_fraction, settings.seed)
    if "validation" not in present and settings.validation_fraction > 0:
        # the fraction is of the train rows, as in the seeds ("20 % of train")
        info["stratified"] &= _carve(
            subset, labels, "validation", settings.validation_fraction, settings.seed
        )
    return subset, info


def _carve(subset: np.ndarray, labels: pd.Series, name: str, fraction: float, seed: int) -> bool:
    """Move `fraction` of the train rows to `name` in place; True if the draw was stratified."""
    pool = np.flatnonzero(subset == "train")
    take = int(round(len(pool) * fraction))
    if take == 0 or take == len(pool):
        return True
    pool_labels = labels.to_numpy()[pool]
    counts = pd.Series(pool_labels).value_counts()
    # stratifying needs ≥ 2 rows per class and room for every class on both sides
    stratify = (
        pool_labels if counts.min() >= 2 and len(counts) <= min(take, len(pool) - take) else None
    )
    # imported here: scikit-learn costs ~100 MB, and a refused import never gets this far
    from sklearn.model_selection import train_test_split

    _, chosen = train_test_split(pool, test_size=take, random_state=seed, stratify=stratify)
    subset[chosen] = name
    return stratify is not None
