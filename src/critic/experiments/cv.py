"""k-fold cross-validation: a dataset version's train and validation rows cut into k stratified
folds, each fold a dataset version of its own and a real experiment trained on it.

    cross_validate("imdb", preset="linear", folds=5)
    → datasets cv-NAME-f1 … cv-NAME-fk     held-out fold = test; the rest = train, with a seeded
                                            share carved out for validation (epoch / C choice)
      experiments cv-NAME-f1 … cv-NAME-fk  trained by `train_experiment`, evaluated on the
                                            held-out fold by `evaluate`: both in the catalog
      $CRITIC_HOME/cv/NAME/cv.json          settings, config, per-fold numbers, mean ± std
      $CRITIC_HOME/cv/NAME/folds.png        the per-fold numbers as bars

The held-out fold is the fold version's test subset, so neither the best checkpoint nor the
linear model's C is chosen on the rows that score it. The source's own test subset is left out
of every fold (never trained on, never scored): it stays for the final model."""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from critic.artifacts import write_json
from critic.catalog import open_catalog
from critic.data.split import SplitSettings
from critic.data.store import DatasetVersion, load_version, save_version
from critic.errors import SettingsError
from critic.evaluate import evaluate
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.experiments.store import free_name, now
from critic.names import validate_name
from critic.train import Log
from critic.workspace import Workspace

__all__ = [
    "CVSettings",
    "FoldResult",
    "CVResult",
    "cross_validate",
    "assign_folds",
    "load_cv",
    "METRICS",
]

FORMAT = "critic.cv/1"
METRICS = ("accuracy", "macro_f1", "loss")  # per fold, on its held-out rows
POOL = ("train", "validation")  # the subsets cut into folds; test is never touched


@dataclass(frozen=True)
class CVSettings:
    folds: int = 5  # k; each fold holds out 1/k of the rows (the papers' 10 costs twice the time)
    seed: int = 42  # the folds and each fold's validation share; the same seed, the same folds
    validation_fraction: float = (
        0.1  # of each fold's train rows, to pick the epoch (or C); 0 = none
    )

    def __post_init__(self):
        if self.folds < 2:
            raise SettingsError(f"--folds must be 2 or more, got {self.folds}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise SettingsError(
                f"validation-fraction must be at least 0 and below 1, got {self.validation_fraction}"
            )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FoldResult:
    fold: int  # 1..k
    experiment: str
    dataset: str  # the fold's version, name@version
    rows: dict  # train / validation / test (= held out) row counts
    accuracy: float
    macro_f1: float
    loss: float
    seconds: float  # training and evaluation

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CVResult:
    name: str
    dataset: str  # the source version, name@version
    settings: CVSettings
    config: dict  # the resolved ExperimentConfig every fold trained with (its dataset: the source)
    folds: list[FoldResult]
    folder: Path
    created: str = ""
    status: str = "running"  # while folds are added; then done, failed or stopped (Ctrl-C)
    error: str | None = None

    def mean(self, metric: str) -> float:
        return statistics.fmean(getattr(f, metric) for f in self.folds)

    def std(self, metric: str) -> float:
        """Population standard deviation over the folds (what the bench has always shown)."""
        return statistics.pstdev(getattr(f, metric) for f in self.folds)

    def summary(self) -> dict:
        return (
            {m: {"mean": self.mean(m), "std": self.std(m)} for m in METRICS} if self.folds else {}
        )

    def as_dict(self) -> dict:
        return {
            "format": FORMAT,
            "name": self.name,
            "dataset": self.dataset,
            "created": self.created,
            "status": self.status,
            "error": self.error,
            "settings": self.settings.as_dict(),
            "config": self.config,
            "folds": [f.as_dict() for f in self.folds],
            "summary": self.summary(),
        }


def cross_validate(
    dataset: str,
    *,
    preset: str | None = None,
    config_file: Path | None = None,
    train: dict | None = None,
    settings: CVSettings = CVSettings(),
    name: str | None = None,
    workspace: Workspace | None = None,
    log: Log = lambda event: None,
) -> CVResult:
    """Train and score one experiment per fold of `dataset` (NAME or NAME@V). `log` gets each
    fold's `fold_start` and `fold_end` events and, between them, the training run's own events."""
    workspace = (workspace or Workspace.from_env()).ensure()
    version = load_version(dataset, workspace)
    config = build_config(version.ref, preset=preset, config_file=config_file, train=train)
    pool = _pool(version)
    _check_classes(pool["label"], settings.folds)
    name = _reserve(name, f"{version.record.name}-{config.preset or 'custom'}", workspace)
    result = CVResult(
        name, version.ref, settings, config.as_dict(), [], workspace.root / "cv" / name, now()
    )
    _save(result)
    result = replace(_run_folds(result, pool, version, config, workspace, log), status="done")
    _save(result)
    _folds_png(result)
    return result


def assign_folds(labels: pd.Series, folds: int, seed: int) -> np.ndarray:
    """Fold number (1..folds) per row: stratified by label, shuffled by `seed`."""
    # imported here, as in critic.data.split: scikit-learn costs ~100 MB
    from sklearn.model_selection import StratifiedKFold

    fold_of = np.zeros(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for i, (_, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels.to_numpy())):
        fold_of[held_out] = i + 1
    return fold_of


def load_cv(name: str, workspace: Workspace | None = None) -> dict:
    """A cross-validation's saved cv.json."""
    workspace = workspace or Workspace.from_env()
    path = workspace.root / "cv" / validate_name(name, "cross-validation name") / "cv.json"
    if not path.exists():
        raise SettingsError(f"no cross-validation {name!r}; run `critic cv --dataset ...` first")
    return json.loads(path.read_text())


def _pool(version: DatasetVersion) -> pd.DataFrame:
    """The labelled train and validation rows, in stored order (the columns a version is made of)."""
    frame = version.frame()
    keep = frame["subset"].isin(POOL) & frame["label"].notna()
    return frame[keep].drop(columns=["subset", "source_subset"]).reset_index(drop=True)


def _check_classes(labels: pd.Series, folds: int) -> None:
    counts = labels.value_counts()
    if len(counts) < 2:
        raise SettingsError(
            f"cross-validation needs two or more classes in the train and validation subsets, found {len(counts)}"
        )
    if counts.min() < folds:
        raise SettingsError(
            f"--folds {folds} needs {folds} or more rows of every class in the train and validation "
            f"subsets; {counts.idxmin()!r} has {counts.min()}: use --folds {max(counts.min(), 2)} or fewer"
        )


def _reserve(name: str | None, base: str, workspace: Workspace) -> str:
    """The cross-validation's name (given, or BASE-N), refused when its folder or a fold's
    experiment exists, so that no run is overwritten."""
    root = workspace.root / "cv"
    taken = {p.name for p in root.iterdir()} if root.exists() else set()
    if name is None:
        name = free_name(base, taken)
    validate_name(name, "cross-validation name")
    validate_name(_fold_name(name, 99), "cross-validation name (with its fold suffix)")
    experiments = {r.name for r in open_catalog(workspace).experiments()}
    fold = re.compile(re.escape(_fold_name(name, 0)[:-1]) + r"\d+")
    clash = sorted(e for e in experiments if fold.fullmatch(e))
    if name in taken or clash:
        raise SettingsError(
            f"a cross-validation named {name!r} exists ({(clash or [str(root / name)])[0]}); "
            "choose another --name"
        )
    (root / name).mkdir(parents=True)
    return name


def _fold_name(name: str, fold: int) -> str:
    return f"cv-{name}-f{fold}"


def _run_folds(result, pool, version, config, workspace, log) -> CVResult:
    """Every fold in turn, cv.json rewritten after each (a watcher sees them arrive)."""
    fold_of = assign_folds(pool["label"], result.settings.folds, result.settings.seed)
    try:
        for fold in range(1, result.settings.folds + 1):
            experiment = _fold_name(result.name, fold)
            head = {"fold": fold, "folds": result.settings.folds, "cv": result.name}
            log({"event": "fold_start", **head, "experiment": experiment})
            done = _run_fold(fold, pool, fold_of, version, config, result, workspace, log)
            result = replace(result, folds=[*result.folds, done])
            _save(result)
            log({"event": "fold_end", "folds": result.settings.folds, **done.as_dict()})
    except BaseException as exc:  # the folds done so far stay in cv.json, with what ended it
        stopped = isinstance(exc, KeyboardInterrupt)
        error = "interrupted" if stopped else f"{type(exc).__name__}: {exc}"
        _save(replace(result, status="stopped" if stopped else "failed", error=error))
        raise
    return result


def _run_fold(fold, pool, fold_of, version, config, result, workspace, log) -> FoldResult:
    start = time.perf_counter()
    fold_version = _fold_version(fold, pool, fold_of, version, result, workspace)
    name = _fold_name(result.name, fold)
    train_experiment(
        replace(config, dataset=fold_version.ref), name=name, workspace=workspace, log=log
    )
    (scored,) = evaluate(
        name, checkpoint="best", subset="test", workspace=workspace, progress=False
    )
    m = scored.metrics
    by_subset = fold_version.manifest["rows"]["by_subset"]
    rows = {s: sum(by_subset.get(s, {}).values()) for s in ("train", "validation", "test")}
    return FoldResult(
        fold,
        name,
        fold_version.ref,
        rows,
        float(m["accuracy"]),
        float(m["macro_avg"]["f1"]),
        float(m["loss"]),
        time.perf_counter() - start,
    )


def _fold_version(fold, pool, fold_of, version, result, workspace) -> DatasetVersion:
    """The fold as a dataset version: its held-out rows given as the source's test subset, a
    seeded, stratified share of the rest carved out for validation by the usual split."""
    frame = pool.copy()
    frame["source_subset"] = np.where(fold_of == fold, "test", None)
    source = {
        "kind": "cv-fold",
        "location": version.ref,
        "sha256": None,
        "fingerprint": version.record.fingerprint,
        "format": "critic.dataset",
        "options": {"cv": result.name, "fold": fold, **result.settings.as_dict()},
    }
    split = SplitSettings(result.settings.validation_fraction, 0.0, result.settings.seed)
    saved = save_version(
        workspace,
        _fold_name(result.name, fold),
        frame,
        [],
        source=source,
        columns=version.manifest["columns"],
        split=split,
    )
    return saved.version


def _save(result: CVResult) -> None:
    result.folder.mkdir(parents=True, exist_ok=True)
    write_json(result.folder / "cv.json", result.as_dict())


def _folds_png(result: CVResult) -> Path:
    """Accuracy and macro F1 per fold as bars, their means as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folds = [f.fold for f in result.folds]
    fig, ax = plt.subplots(figsize=(1.2 * len(folds) + 3, 4))
    width = 0.38
    for i, (metric, label) in enumerate((("accuracy", "accuracy"), ("macro_f1", "macro F1"))):
        values = [getattr(f, metric) for f in result.folds]
        x = np.array(folds) + (i - 0.5) * width
        ax.bar(
            x,
            values,
            width,
            color=f"C{i}",
            label=f"{label} {result.mean(metric):.2%} ± {result.std(metric):.2%}",
        )
        ax.axhline(result.mean(metric), color=f"C{i}", linestyle="--", linewidth=1)
    low = min(min(f.accuracy, f.macro_f1) for f in result.folds)
    ax.set(
        xlabel="fold",
        ylabel="on the held-out fold",
        xticks=folds,
        ylim=(max(0.0, low - 0.1), 1.08),
        title=f"{result.settings.folds}-fold cross-validation {result.name} · {result.dataset}",
    )
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = result.folder / "folds.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
