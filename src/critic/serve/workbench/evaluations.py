"""Evaluation: the evaluations done, one evaluation's figures and its errors, and an evaluation run
as a job, on the experiment's own subsets or on another dataset version with the same classes.
The same library functions as `critic evaluate` (critic.evaluations, critic.jobs).

    GET  /evaluations                         the evaluations (catalog only) and the form to run one
                                              (?experiment=NAME preselects; ?job=ID shows that job)
    POST /evaluations                         experiment, checkpoint, dataset, subset → an evaluate
                                              job (checked first: a version with other classes is
                                              refused in words) → {"job", "redirect"}
    GET  /evaluations/jobs/{job_id}           an evaluate job's state, log tail and result links (JSON)
    POST /evaluations/jobs/{job_id}/cancel    stop it (queued: at once; running: its process group)
    GET  /evaluations/{exp}/{checkpoint}/{dataset}/{subset}
                                              metric cards, confusion matrix (a cell filters the
                                              errors: ?true=A&pred=B), per-class table, pictures,
                                              the error browser (?true ?pred ?q ?order ?page ?size),
                                              the explained mistakes' words shaded by score
    GET  /evaluations/{exp}/{checkpoint}/{dataset}/{subset}/errors   one page of errors (JSON)
    GET  /evaluations/{exp}/{checkpoint}/{dataset}/{subset}/why?row=N&target=CLASS
                                              one mistake explained for a class (the error
                                              browser's class picker; JSON), by the checkpoint
    GET  /evaluations/{exp}/{checkpoint}/{dataset}/{subset}/files/{name}
                                              a picture the evaluation saved, errors.csv, metrics.json
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

import anyio
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from critic.errors import ApiError
from critic.serve.workbench.render import render
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/evaluations", "Evaluation")

JOBS_SHOWN = 5  # evaluate jobs listed on /evaluations: the newest
LOG_LINES = 12  # of a job's log, shown while it runs
PICTURES = {  # file → (title, alt text)
    "history.png": ("Training history", "train and validation loss and accuracy per epoch"),
    "reliability.png": ("Calibration", "reliability diagram: accuracy against confidence"),
    "roc_pr.png": ("ROC and precision–recall", "ROC and precision-recall curves"),
}
BARS = "correct_incorrect.png"  # beside the confusion matrix
DOWNLOADS = {"errors.csv": "text/csv; charset=utf-8", "metrics.json": "application/json"}
_Short = Annotated[str, Query(max_length=200)]


@dataclass
class ErrorQuery:
    """The error browser's query string (the page and its JSON read the same): filters, order,
    page, page size; each bounded."""

    true: _Short = ""
    pred: _Short = ""
    q: _Short = ""
    order: Annotated[str, Query(max_length=8)] = "desc"
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1
    size: Annotated[int, Query(ge=1, le=1000)] = 25

    def read(self, ev):
        from critic.evaluations import read_errors

        return read_errors(
            ev,
            true=self.true,
            predicted=self.pred,
            query=self.q,
            order=self.order,
            page=self.page,
            size=self.size,
        )

    def filters(self) -> dict:
        """What a link keeps (the page is set by each link)."""
        return {k: v for k, v in asdict(self).items() if k != "page"}


# -- the list and the run form --------------------------------------------------------------------


@router.get("/evaluations", summary="The evaluations, and the form to run one")
def evaluations_page(
    request: Request,
    experiment: Annotated[str | None, Query(max_length=64)] = None,
    job: Annotated[str | None, Query(max_length=64)] = None,
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    from critic.evaluations import list_evaluations
    from critic.experiments.store import list_experiments

    ws = workbench.workspace
    experiments = list_experiments(ws)
    runnable = sorted((e for e in experiments if e.record.epochs_done > 0), key=lambda e: e.name)
    chosen = next((e for e in runnable if e.name == experiment), None)
    if chosen is None and runnable and not experiment:
        chosen = runnable[0]
    matching, others = _versions_for(chosen, ws)
    return render(
        request,
        "evaluations.html",
        title="Evaluation",
        evaluations=[(ev, evaluation_url(ev)) for ev in list_evaluations(ws)],
        own_dataset={e.name: e.record.dataset for e in experiments},
        experiments=runnable,
        chosen=chosen,
        asked=experiment,
        matching=matching,
        others=others,
        jobs=_recent_jobs(ws, job),
        focus_job=job,
    )


def _versions_for(experiment, ws):
    if experiment is None:
        return [], []
    from critic.evaluations import evaluable_versions

    return evaluable_versions(experiment.name, ws)


def _recent_jobs(ws, focus: str | None) -> list[dict]:
    from critic.jobs import list_jobs

    jobs = [j for j in reversed(list_jobs(ws)) if j.kind == "evaluate"][:JOBS_SHOWN]
    if focus and not any(j.id == focus for j in jobs):
        from critic.jobs import get_job

        found = get_job(focus, ws)  # JobNotFound: 404
        if found.kind == "evaluate":
            jobs.insert(0, found)
    return [job_view(j, ws) for j in jobs]


@router.post("/evaluations", summary="Queue an evaluation job")
def run_evaluation(
    request: Request,
    experiment: Annotated[str, Form(max_length=64)],
    checkpoint: Annotated[str, Form(max_length=8)] = "best",
    dataset: Annotated[str, Form(max_length=80)] = "",
    subset: Annotated[str, Form(max_length=16)] = "test",
    workbench: Workbench = Depends(get_workbench),
) -> JSONResponse:
    from critic.evaluations import check_evaluable
    from critic.jobs import submit

    ws = workbench.workspace
    # the same checks `critic evaluate` makes before it predicts: refused now, in words, not
    # minutes later in a job's log (a version with other classes, a subset with no rows)
    plan = check_evaluable(
        experiment, checkpoint=checkpoint, subset=subset, dataset=dataset or None, workspace=ws
    )
    argv = ["evaluate", plan.experiment.name, "--checkpoint", checkpoint, "--subset", subset]
    argv += ["--dataset", plan.version.ref]
    job = submit("evaluate", argv, user=request.state.session.user, workspace=ws)
    query = urlencode({"experiment": plan.experiment.name, "job": job.id})
    return JSONResponse({"job": job.id, "redirect": f"/evaluations?{query}#job-{job.id}"})


@router.get("/evaluations/jobs/{job_id}", summary="An evaluation job's state (JSON)")
def evaluation_job(job_id: str, workbench: Workbench = Depends(get_workbench)) -> JSONResponse:
    from critic.jobs import get_job

    job = get_job(job_id, workbench.workspace)
    if job.kind != "evaluate":
        raise ApiError(404, "not_found", f"{job_id!r} is a {job.kind} job, not an evaluation")
    return JSONResponse(job_view(job, workbench.workspace))


@router.post("/evaluations/jobs/{job_id}/cancel", summary="Cancel an evaluation job")
def cancel_evaluation_job(
    job_id: str, workbench: Workbench = Depends(get_workbench)
) -> JSONResponse:
    from critic.jobs import cancel, get_job

    job = get_job(job_id, workbench.workspace)
    if job.kind != "evaluate":
        raise ApiError(404, "not_found", f"{job_id!r} is a {job.kind} job, not an evaluation")
    return JSONResponse(
        job_view(cancel(job.id, workspace=workbench.workspace), workbench.workspace)
    )


def job_view(job, ws) -> dict:
    """What the page shows of an evaluate job: state, times, the log's last lines while it runs
    or why it failed, and links to its results once done."""
    from critic.jobs.logs import tail

    args = _job_args(job.argv)
    wanted = ["validation", "test"] if args["subset"] == "all" else [args["subset"]]
    return {
        "id": job.id,
        "state": job.state,
        "finished": job.finished,
        "created": job.created,
        "seconds": job.seconds(),
        "command": job.command,
        "experiment": args["experiment"],
        "checkpoint": args["checkpoint"],
        "dataset": args["dataset"],
        "subset": args["subset"],
        "log": tail(ws.root / job.log, LOG_LINES) if not job.finished else "",
        "error": job.error,
        "results": [
            {"subset": s, "url": _url(args["experiment"], args["checkpoint"], args["dataset"], s)}
            for s in wanted
        ]
        if job.state == "done" and args["dataset"]
        else [],
    }


def _job_args(argv) -> dict:
    """experiment, checkpoint, dataset, subset of `critic evaluate EXP [--option value]...`."""
    found = {"experiment": argv[1] if len(argv) > 1 else "", "checkpoint": "best"}
    found.update(subset="test", dataset="")
    names = {
        "--checkpoint": "checkpoint",
        "--subset": "subset",
        "--dataset": "dataset",
        "-d": "dataset",
    }
    for option, value in zip(argv[2:], argv[3:]):
        if option in names:
            found[names[option]] = value
    return found


# -- one evaluation --------------------------------------------------------------------------------


def _url(experiment: str, checkpoint: str, dataset: str, subset: str) -> str:
    parts = (experiment, checkpoint, dataset, subset)
    return "/evaluations/" + "/".join(quote(p, safe="@") for p in parts)


def evaluation_url(ev) -> str:
    return _url(ev.experiment, ev.checkpoint, ev.dataset, ev.subset)


_KEY = "/evaluations/{experiment}/{checkpoint}/{dataset}/{subset}"


def the_evaluation(
    experiment: str,
    checkpoint: str,
    dataset: str,
    subset: str,
    workbench: Workbench = Depends(get_workbench),
):
    """The evaluation a URL under _KEY names (a dependency of those routes), else 404."""
    from critic.evaluations import load_evaluation

    return load_evaluation(experiment, checkpoint, dataset, subset, workbench.workspace)


@router.get(_KEY, summary="One evaluation: figures, confusion matrix, errors")
def evaluation_page(
    request: Request,
    ev=Depends(the_evaluation),
    shown: ErrorQuery = Depends(),
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    from critic.evaluations import list_evaluations, read_explanations
    from critic.experiments.store import get_experiment

    metrics = ev.metrics()
    errors = shown.read(ev)
    saved = read_explanations(ev)
    own = get_experiment(ev.experiment, workbench.workspace).record.dataset == ev.dataset
    url = evaluation_url(ev)
    filters = shown.filters()
    siblings = [
        (other, evaluation_url(other))
        for other in list_evaluations(workbench.workspace)
        if other.experiment == ev.experiment
    ]
    return render(
        request,
        "evaluation.html",
        title=f"{ev.experiment} · {ev.checkpoint} · {ev.dataset} {ev.subset}",
        ev=ev,
        url=url,
        own=own,
        m=metrics,
        classes=list(metrics["per_class"]),
        matrix=confusion_view(metrics),
        cards=metric_cards(metrics),
        pictures=[(name, *PICTURES[name]) for name in PICTURES if ev.file(name).exists()],
        has_bars=ev.file(BARS).exists(),
        errors=errors,
        filters=filters,
        link=lambda change: _with(url, filters, change),
        siblings=siblings,
        explained={
            r["row"]: why(r["text"], saved[r["row"]]) for r in errors.rows if r["row"] in saved
        },
        n_explained=len(saved),
    )


def why(text: str, explanation) -> dict:
    """What the error browser shows of an explained mistake: the text as pieces to shade
    (`critic.explain.shade`: class xp-p1..4 / xp-n1..4, no inline style), the class explained and
    its strongest words."""
    from critic.explain.shade import pieces

    return {
        "pieces": pieces(text, explanation),
        "target": explanation.target,
        "top": explanation.top(5),
        "method": explanation.method,
    }


def _with(url: str, filters: dict, change: dict) -> str:
    """The evaluation's URL with its filters, some changed; defaults left out, page 1 unless set."""
    merged = {**filters, "page": 1, **change}
    defaults = {"true": "", "pred": "", "q": "", "order": "desc", "size": 25, "page": 1}
    query = {k: v for k, v in merged.items() if v != defaults.get(k)}
    return url + ("?" + urlencode(query) if query else "") + "#errors"


def confusion_view(metrics: dict) -> list[dict]:
    """Per true class: its cells (count, share of the row, shade 0-10 for the colour) and recall."""
    classes = list(metrics["per_class"])
    rows = []
    for i, (name, counts) in enumerate(zip(classes, metrics["confusion_matrix"])):
        support = sum(counts)
        cells = [
            {
                "pred": classes[j],
                "count": count,
                "share": count / support if support else 0.0,
                "shade": round(10 * count / support) if support else 0,
                "diagonal": i == j,
            }
            for j, count in enumerate(counts)
        ]
        rows.append(
            {"label": name, "cells": cells, "support": support, **metrics["per_class"][name]}
        )
    return rows


def metric_cards(metrics: dict) -> list[tuple[str, str, str]]:
    """(label, value, note) for the cards at the top."""
    cards = [
        (
            "Accuracy",
            f"{metrics['accuracy']:.1%}",
            f"{metrics['correct']:,} of {metrics['n']:,} right",
        ),
        ("Macro F1", f"{metrics['macro_avg']['f1']:.3f}", "the classes' F1, averaged"),
        ("Loss", f"{metrics['loss']:.4f}", "cross-entropy"),
        (
            "Baseline",
            f"{metrics['baseline_accuracy']:.1%}",
            f"always {metrics['baseline_class']!r}",
        ),
        (
            "Errors",
            f"{metrics['incorrect']:,}",
            f"{metrics['incorrect'] / max(metrics['n'], 1):.1%} of rows",
        ),
        ("ECE", f"{metrics['ece']:.3f}", "calibration error (lower is better)"),
    ]
    if "roc_auc" in metrics:
        cards.append(("ROC AUC", f"{metrics['roc_auc']:.3f}", "ranking of the second class"))
        cards.append(("Average precision", f"{metrics['average_precision']:.3f}", "area under PR"))
    return cards


# explanations computed for the class picker, at once in this process: each takes the cores
# for a while (Integrated Gradients: tens of model passes), and the pages must stay responsive
_EXPLAINING = anyio.CapacityLimiter(1)


@router.get(_KEY + "/why", summary="One mistake explained for a class (JSON): the class picker")
async def evaluation_why(
    row: int = Query(
        ..., ge=0, le=2**31, description="the mistake's row, as errors.csv numbers it"
    ),
    target: str = Query(..., min_length=1, max_length=200, description="the class to explain"),
    ev=Depends(the_evaluation),
    workbench: Workbench = Depends(get_workbench),
) -> JSONResponse:
    from critic.evaluations import explain_mistake

    text, explanation = await anyio.to_thread.run_sync(
        explain_mistake, ev, row, target, workbench.workspace, limiter=_EXPLAINING
    )
    shown = why(text, explanation)
    return JSONResponse(
        {
            "row": row,
            "target": shown["target"],
            "method": shown["method"],
            "pieces": [asdict(p) for p in shown["pieces"]],
            "top": [{"word": s.word, "score": s.score} for s in shown["top"]],
        }
    )


@router.get(_KEY + "/errors", summary="One page of an evaluation's errors (JSON)")
def evaluation_errors(
    ev=Depends(the_evaluation),
    shown: ErrorQuery = Depends(),
    workbench: Workbench = Depends(get_workbench),
) -> JSONResponse:

    from critic.evaluations import read_explanations

    found = shown.read(ev)
    saved = read_explanations(ev)
    rows = [
        {**r, "explanation": saved[r["row"]].as_dict() if r["row"] in saved else None}
        for r in found.rows
    ]
    return JSONResponse(
        {
            "rows": rows,
            "total": found.total,
            "page": found.page,
            "pages": found.pages,
            "size": found.size,
            "of": found.of,
        }
    )


@router.get(_KEY + "/files/{name}", summary="A picture or file the evaluation saved")
def evaluation_file(name: str, ev=Depends(the_evaluation)) -> FileResponse:
    if (
        name not in PICTURES and name not in DOWNLOADS and name != BARS
    ):  # never a path from the browser
        raise ApiError(404, "not_found", f"an evaluation has no file {name[:80]!r}")
    path = ev.file(name)
    if not path.is_file():
        raise ApiError(
            404, "not_found", f"this evaluation has no {name} (ROC/PR: two classes only)"
        )
    media = DOWNLOADS.get(name, "image/png")
    download = f"{ev.experiment}-{ev.checkpoint}-{ev.dataset.replace('@', '-v')}-{ev.subset}-{name}"
    return FileResponse(
        path,
        media_type=media,
        filename=download if name in DOWNLOADS else None,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )
