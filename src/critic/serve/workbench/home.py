"""The workbench's home: what the workspace holds (dataset versions, experiments, deployments),
counted and listed briefly, from the same library functions as `critic data list`, `critic
experiments list` and `critic deploy list`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from critic.serve.workbench.render import render
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/", "Home")
SHOWN = 5  # rows per list: the newest


@router.get("/", summary="The workbench's home")
def home(request: Request, workbench: Workbench = Depends(get_workbench)) -> HTMLResponse:
    from critic.data import list_versions  # here: the data package brings pandas
    from critic.deploy import list_deployments
    from critic.experiments.store import list_experiments

    versions = list_versions(workbench.workspace)
    experiments = list_experiments(workbench.workspace)
    deployments = list_deployments(workbench.workspace)
    return render(
        request,
        "home.html",
        title="Home",
        counts={
            "versions": len(versions),
            "experiments": len(experiments),
            "deployments": len(deployments),
        },
        versions=_newest(versions, lambda v: v.record.created),
        experiments=[
            (e, _best_val_accuracy(e.record))
            for e in _newest(experiments, lambda e: e.record.created)
        ],
        deployments=_newest(deployments, lambda d: d.updated),
        shown=SHOWN,
    )


def _newest(items: list, when) -> list:
    return sorted(items, key=when, reverse=True)[:SHOWN]


def _best_val_accuracy(record) -> float | None:
    """The validation accuracy of the best epoch, if it was measured."""
    for epoch in record.epochs:
        if epoch.get("epoch") == record.best_epoch:
            return epoch.get("val_accuracy")
    return None
