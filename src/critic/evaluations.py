"""Saved evaluations found again (what `critic.evaluate` wrote), and what may be evaluated: light
on purpose (the catalog, small JSON files and one CSV), so the workbench reads them without the
model, plotting or training code.

    list_evaluations(ws)                          every evaluation the catalog records, newest first
    load_evaluation(EXP, CHECKPOINT, REF, SUBSET) one of them (404-kind error when missing)
    read_errors(evaluation, true=, predicted=, query=, order=, page=, size=)
                                                  its misclassified rows, filtered, sorted, one page
    read_explanations(evaluation)                 its most confident mistakes explained: row → Explanation
    error_row(evaluation, ROW)                    one misclassified row (404-kind error when not one)
    explain_mistake(evaluation, ROW, CLASS)       it explained again for any class, by the
                                                  evaluated checkpoint (loads the model: the
                                                  error browser's class picker)
    check_evaluable(EXP, checkpoint=, subset=, dataset=)
                                                  what `evaluate` would read, or the error it would raise
    evaluable_versions(EXP)                       dataset versions with the model's classes, and the others
    same_classes(a, b)                            the rule: the same set of classes, no fewer, no others
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critic.catalog import open_catalog
from critic.data.store import DatasetVersion, list_versions, load_version
from critic.errors import EvaluationNotFound, SettingsError
from critic.experiments.store import Experiment, get_experiment
from critic.explain.result import Explanation
from critic.names import parse_ref
from critic.workspace import Workspace

__all__ = [
    "SavedEvaluation",
    "ErrorsPage",
    "Evaluable",
    "list_evaluations",
    "load_evaluation",
    "read_errors",
    "read_explanations",
    "error_row",
    "explain_mistake",
    "check_evaluable",
    "evaluable_versions",
    "same_classes",
    "check_same_classes",
    "CHECKPOINTS",
    "SUBSETS",
    "PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_QUERY",
]

CHECKPOINTS = ("best", "last")
SUBSETS = ("validation", "test")  # what one evaluation reads (`all` is both, in turn)
PAGE_SIZE, MAX_PAGE_SIZE = 25, 100  # error rows per page: the default, the most one page holds
MAX_QUERY = 200  # characters of a text search
ORDERS = ("desc", "asc")  # by the confidence of the wrong answer: most confident mistakes first


@dataclass(frozen=True)
class SavedEvaluation:
    """One row of the catalog's evaluations: the key (experiment, checkpoint, dataset, subset),
    its summary (n, accuracy, loss, macro_f1, ece, roc_auc) and its folder."""

    experiment: str
    checkpoint: str
    dataset: str  # NAME@V it read
    subset: str
    epoch: int
    created: str
    summary: dict
    folder: Path

    def file(self, name: str) -> Path:
        return self.folder / name

    def metrics(self) -> dict:
        """metrics.json: `critic.metrics.classification_metrics` + what was evaluated."""
        return json.loads(self.file("metrics.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ErrorsPage:
    rows: list[
        dict
    ]  # row, origin, true_label, predicted_label, probability, true_label_probability, text
    total: int  # rows matching the filters (all pages)
    page: int  # 1-based
    size: int
    of: int  # misclassified rows in the evaluation, before filtering

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class Evaluable:
    """What `critic.evaluate.evaluate` reads: the experiment, its checkpoint folder, the version,
    the subsets in turn and the model's classes."""

    experiment: Experiment
    checkpoint: Path
    version: DatasetVersion
    subsets: list[str]
    classes: list[str]


def _saved(row: dict, root: Path) -> SavedEvaluation:
    summary = {
        k: v
        for k, v in row.items()
        if k not in ("experiment", "checkpoint", "dataset", "subset", "epoch", "created", "path")
    }
    return SavedEvaluation(
        row["experiment"],
        row["checkpoint"],
        row["dataset"],
        row["subset"],
        row["epoch"],
        row["created"],
        summary,
        root / row["path"],
    )


def list_evaluations(workspace: Workspace | None = None) -> list[SavedEvaluation]:
    """From the catalog alone (no file is read): newest first."""
    workspace = workspace or Workspace.from_env()
    return [_saved(r, workspace.root) for r in open_catalog(workspace).all_evaluations()]


def load_evaluation(
    experiment: str,
    checkpoint: str,
    dataset: str,
    subset: str,
    workspace: Workspace | None = None,
) -> SavedEvaluation:
    """The evaluation of EXPERIMENT's CHECKPOINT on DATASET (NAME@V) / SUBSET."""
    workspace = workspace or Workspace.from_env()
    get_experiment(experiment, workspace)  # ExperimentNotFound first: the likelier mistake
    _check_choice(checkpoint, CHECKPOINTS, "checkpoint")
    _check_choice(subset, SUBSETS, "subset")
    ref = parse_ref(dataset)
    for row in open_catalog(workspace).evaluations(experiment):
        if (row["checkpoint"], row["dataset"], row["subset"]) == (checkpoint, str(ref), subset):
            return _saved({"experiment": experiment, **row}, workspace.root)
    raise EvaluationNotFound(
        f"{experiment!r} has no evaluation of its {checkpoint} checkpoint on {ref} {subset}; run "
        f"`critic evaluate {experiment} --checkpoint {checkpoint} --dataset {ref} --subset {subset}`"
    )


def read_errors(
    evaluation: SavedEvaluation,
    *,
    true: str | None = None,
    predicted: str | None = None,
    query: str | None = None,
    order: str = "desc",
    page: int = 1,
    size: int = PAGE_SIZE,
) -> ErrorsPage:
    """One page of the misclassified rows (errors.csv), those of a true and / or predicted class
    whose text holds `query` (case-insensitive), sorted by the wrong answer's probability."""
    _check_choice(order, ORDERS, "order")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise SettingsError(f"a page holds 1 to {MAX_PAGE_SIZE} rows, not {size}")
    if page < 1:
        raise SettingsError(f"pages are numbered from 1, not {page}")
    if query is not None and len(query) > MAX_QUERY:
        raise SettingsError(f"a search is at most {MAX_QUERY} characters, not {len(query):,}")
    frame = _errors_frame(evaluation.file("errors.csv"))
    classes = list(evaluation.metrics()["per_class"])
    keep = pd.Series(True, index=frame.index)
    for column, value in (("true_label", true), ("predicted_label", predicted)):
        if value:
            _check_choice(value, classes, "class")
            keep &= frame[column] == value
    if query:
        keep &= frame["text"].str.contains(query, case=False, regex=False)
    chosen = frame[keep]
    if order == "asc":  # errors.csv is sorted most confident first (ties by row)
        chosen = chosen.sort_values(["probability", "row"], ascending=[True, True], kind="stable")
    start = (page - 1) * size
    rows = chosen.iloc[start : start + size].to_dict("records")
    return ErrorsPage(rows, len(chosen), page, size, len(frame))


def error_row(evaluation: SavedEvaluation, row: int) -> dict:
    """The misclassified row numbered `row` (errors.csv's columns), or EvaluationNotFound."""
    frame = _errors_frame(evaluation.file("errors.csv"))
    found = frame[frame["row"] == row]
    if found.empty:
        raise EvaluationNotFound(
            f"row {row} is not a mistake of this evaluation ({evaluation.experiment}, "
            f"{evaluation.checkpoint}, {evaluation.dataset} {evaluation.subset})"
        )
    return found.iloc[0].to_dict()


def _errors_frame(path: Path) -> pd.DataFrame:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise EvaluationNotFound(f"{path.parent} has no errors.csv; evaluate again") from None
    return _read_errors_csv(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)  # a few evaluations open at once; a rewritten file has a new key
def _read_errors_csv(path: Path, mtime_ns: int, size: int) -> pd.DataFrame:
    text = {c: str for c in ("origin", "true_label", "predicted_label", "text")}
    return pd.read_csv(path, dtype=text, keep_default_na=False)


def read_explanations(evaluation: SavedEvaluation) -> dict[int, Explanation]:
    """row → the explanation `critic.evaluate` saved for it (its most confident mistakes; an
    evaluation made before explanations has none)."""
    path = evaluation.file("explanations.jsonl")
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    return _read_explanations(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_explanations(path: Path, mtime_ns: int, size: int) -> dict[int, Explanation]:
    found = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            found[data["row"]] = Explanation.from_dict(
                data["explanation"], data["label"], data["probabilities"]
            )
    return found


def check_evaluable(
    name: str,
    *,
    checkpoint: str = "best",
    subset: str = "test",
    dataset: str | None = None,
    workspace: Workspace | None = None,
) -> Evaluable:
    """Everything `evaluate` checks before it predicts: the experiment and its checkpoint, the
    version (default: the one it trained on), the subset(s) with rows, and the same classes."""
    workspace = workspace or Workspace.from_env()
    _check_choice(subset, (*SUBSETS, "all"), "subset")
    experiment = get_experiment(name, workspace)
    folder = experiment.checkpoint(checkpoint)
    version = load_version(dataset or experiment.record.dataset, workspace)
    wanted = list(SUBSETS) if subset == "all" else [subset]
    counts = version.manifest["rows"]["by_subset"]
    missing = [s for s in wanted if not sum(counts.get(s, {}).values())]
    if missing:
        option = "--test-fraction" if "test" in missing else "--validation-fraction"
        raise SettingsError(
            f"{version.ref} has no {' or '.join(missing)} subset; make a version with one: "
            f"`critic data split {version.record.name} {option} 0.2`"
        )
    classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    check_same_classes(version, classes, experiment.name)
    return Evaluable(experiment, folder, version, wanted, classes)


def same_classes(a, b) -> bool:
    """A version may be evaluated by a model when it holds the model's classes, no fewer and no
    others (in any order)."""
    return set(a) == set(b)


def check_same_classes(version: DatasetVersion, classes: list[str], name: str) -> None:
    if not same_classes(version.classes, classes):
        raise SettingsError(
            f"{version.ref} has the classes {sorted(version.classes)}, and {name!r} predicts "
            f"{sorted(classes)}; evaluate it on a dataset labelled with the same classes"
        )


def evaluable_versions(
    name: str, workspace: Workspace | None = None
) -> tuple[list[DatasetVersion], list[DatasetVersion]]:
    """(versions with the classes of the experiment's dataset, the others), from the catalog
    alone; the experiment's own version first, then by name and version."""
    workspace = workspace or Workspace.from_env()
    experiment = get_experiment(name, workspace)
    versions = sorted(
        list_versions(workspace),
        key=lambda v: (v.ref != experiment.record.dataset, v.record.name, v.record.version),
    )
    own = next((v for v in versions if v.ref == experiment.record.dataset), None)
    classes = own.classes if own else []
    matching = [v for v in versions if own is not None and same_classes(v.classes, classes)]
    refs = {v.ref for v in matching}
    return matching, [v for v in versions if v.ref not in refs]


def _check_choice(value: str, choices, what: str) -> str:
    if value not in choices:
        shown = repr(value)[:80]
        raise SettingsError(f"no {what} {shown}; one of: {', '.join(choices)}")
    return value


def explain_mistake(
    evaluation: SavedEvaluation, row: int, target: str, workspace: Workspace
) -> tuple[str, Explanation]:
    """(the text, its Explanation for `target`) of row `row` of a saved evaluation's errors,
    explained by the evaluated checkpoint; refused when the row is not a mistake of it, the class
    is not the model's, or the checkpoint changed since (a later epoch: evaluate again)."""
    found = error_row(evaluation, row)
    folder = get_experiment(evaluation.experiment, workspace).checkpoint(evaluation.checkpoint)
    predictor = _cached_predictor(str(folder), (folder / "manifest.json").stat().st_mtime_ns)
    if predictor.manifest.get("epoch") != evaluation.epoch:
        raise EvaluationNotFound(
            f"the {evaluation.checkpoint} checkpoint of {evaluation.experiment!r} holds epoch "
            f"{predictor.manifest.get('epoch')} now, not the evaluated {evaluation.epoch}; "
            "evaluate it again to explain its mistakes"
        )
    if target not in predictor.classes:
        raise SettingsError(
            f"{target[:80]!r} is not a class of this model; its classes are "
            + ", ".join(predictor.classes)
        )
    return found["text"], predictor.explain([found["text"]], target)[0]


@functools.lru_cache(maxsize=2)  # the checkpoints of the pages open; a rewritten one: a new key
def _cached_predictor(folder: str, mtime_ns: int):
    from critic.predictor import Predictor  # the model, only for this: the rest stays light

    return Predictor.from_checkpoint(Path(folder))
