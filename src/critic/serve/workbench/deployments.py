"""Deployments: a checkpoint behind the prediction API, with its own token, from the same library
functions as `critic deploy` (critic.deploy).

    GET  /deployments                   the list: state, URL, requests since this server started
    GET  /deployments/new?experiment=N  the form: a finished experiment, a checkpoint, a name
    POST /deployments                   create: answers the token, once (never in a URL or a log)
    GET  /deployments/{name}            URL, input name, curl / JSON / httpx examples, requests and
                                        latency since start, the switch, rotate, delete, the tester
    GET  /deployments/{name}/stats      those request figures as JSON (the page refreshes them)
    POST /deployments/{name}/enabled    enabled=1|0: answer calls or refuse them (404)
    POST /deployments/{name}/rotate     a new token, shown once; the old one stops working at once
    POST /deployments/{name}/delete     confirm=NAME (the name typed again): gone, token and all

A browser gets pages and 303s; a script (no text/html in Accept) gets JSON: the created token as
{"token": ...}, a change as {"redirect": PATH}. A token is only ever in the POST's answer, which is
not cached (PAGE_HEADERS). The workbench's session does not open the prediction API and a token
does not open these pages: each side reads only its own key (security.py, critic.serve.auth)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from critic.catalog import DeploymentRecord
from critic.deploy import (
    PREDICT_PATH,
    create_deployment,
    delete_deployment,
    get_deployment,
    list_deployments,
    rotate_token,
    set_enabled,
)
from critic.errors import ApiError, CriticError, InvalidName, http_status
from critic.experiments.store import Experiment, get_experiment, list_experiments
from critic.names import validate_name
from critic.serve.registry import Registry, model_key
from critic.serve.workbench.render import PAGE_HEADERS, render
from critic.serve.workbench.security import read_form, wants_html
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = ["router", "NAV", "examples"]

router = APIRouter()
NAV = ("/deployments", "Deployments")
CHECKPOINTS = ("best", "last")
RUNTIME_HINTS = (  # critic.deploy.RUNTIMES, as the form explains them
    ("torch", "PyTorch: explanations at no extra memory"),
    (
        "torch-bf16",
        "PyTorch in bfloat16: about 2x faster on CPUs with AMX, answers ~1e-2 apart",
    ),
    ("onnx", "ONNX Runtime on an export made now: the same answers within 1e-4, less memory"),
    ("onnx-int8", "transformer models only: weights in int8, faster, answers a little apart"),
)
RESERVED = {"new"}  # /deployments/new is the form: a deployment of that name would hide behind it
SAMPLE = "A fun brain candy movie"  # the examples' text (seed 000's first review)


def _registry(request: Request) -> Registry:
    return request.app.state.registry


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _predict_url(request: Request, name: str) -> str:
    return _base(request) + PREDICT_PATH.format(name=name)


def _tester_url(request: Request, record: DeploymentRecord) -> str:
    """The tester filled in (URL and input name; never the token)."""
    query = urlencode({"url": _predict_url(request, record.name), "input": record.input_name})
    return f"/tester?{query}"


# --- the list -------------------------------------------------------------------------------------


@router.get("/deployments", summary="Deployments: state, URL, requests since start")
def deployments_page(
    request: Request,
    deleted: str | None = Query(None, max_length=64, description="a deployment just deleted"),
    workbench: Workbench = Depends(get_workbench),
) -> Response:
    stats = _registry(request).stats
    rows = [
        (d, _predict_url(request, d.name), stats.summary(d.name))
        for d in sorted(list_deployments(workbench.workspace), key=lambda d: d.name)
    ]
    return render(
        request,
        "deployments.html",
        title="Deployments",
        rows=rows,
        deleted=deleted if deleted and _valid(deleted) else None,
        since=stats.started,
    )


def _valid(name: str) -> bool:
    try:
        validate_name(name)
    except InvalidName:
        return False
    return True


# --- create ---------------------------------------------------------------------------------------


def deployable(workbench: Workbench) -> list[Experiment]:
    """Experiments that finished with a checkpoint (from the catalog alone: no file read per row)."""
    found = [
        e
        for e in list_experiments(workbench.workspace)
        if e.status == "done" and e.record.epochs_done > 0
    ]
    return sorted(found, key=lambda e: e.record.updated, reverse=True)


@router.get("/deployments/new", summary="The form that deploys an experiment's checkpoint")
def new_page(
    request: Request,
    experiment: str | None = Query(None, max_length=64, description="the experiment to preselect"),
    workbench: Workbench = Depends(get_workbench),
) -> Response:
    return _new_form(request, workbench, {"experiment": experiment or "", "checkpoint": "best"})


def _new_form(
    request: Request,
    workbench: Workbench,
    values: dict,
    error: CriticError | ApiError | None = None,
    status: int = 200,
) -> Response:
    experiments = deployable(workbench)
    wanted = values.get("experiment") or ""
    names = {e.name for e in experiments}
    note = None
    if wanted and wanted not in names and error is None:
        note = _not_deployable(wanted, workbench)
    return render(
        request,
        "deployments-new.html",
        status=status,
        title="New deployment",
        experiments=[(e, _best_val_accuracy(e)) for e in experiments],
        values={**values, "experiment": wanted if wanted in names else ""},
        checkpoints=CHECKPOINTS,
        runtimes=RUNTIME_HINTS,
        error=_message(error) if error else None,
        note=note,
    )


def _best_val_accuracy(experiment: Experiment) -> float | None:
    """The validation accuracy of the best epoch, if it was measured (from the catalog's record)."""
    for epoch in experiment.record.epochs:
        if epoch.get("epoch") == experiment.record.best_epoch:
            return epoch.get("val_accuracy")
    return None


def _not_deployable(name: str, workbench: Workbench) -> str:
    try:
        found = get_experiment(name, workbench.workspace)
    except CriticError as exc:
        return str(exc)
    return (
        f"experiment {name!r} cannot be deployed yet: it is {found.status}; a deployment "
        "serves the checkpoint of a finished run"
    )


def _message(error: CriticError | ApiError) -> str:
    return error.message if isinstance(error, ApiError) else str(error)


@router.post("/deployments", summary="Create a deployment: its token is in this answer, once")
async def create(request: Request, workbench: Workbench = Depends(get_workbench)) -> Response:
    form = await read_form(request)
    values = {
        "experiment": form.get("experiment", "").strip()[
            :200
        ],  # validate_name refuses what is too long
        "checkpoint": form.get("checkpoint", "best").strip()[:200],
        "name": form.get("name", "").strip()[:200],  # validate_name refuses what is too long
        "disabled": form.get("disabled") == "1",  # a checkbox: absent when not ticked
        "runtime": form.get("runtime", "torch").strip()[:40],  # create_deployment checks it
    }
    try:
        if not values["experiment"]:
            raise ApiError(422, "experiment_required", "choose the experiment to deploy")
        if values["name"] in RESERVED:
            raise InvalidName(
                f"invalid deployment name {values['name']!r}: /deployments/new is the form's "
                "address; choose another name"
            )
        created = await run_in_threadpool(
            create_deployment,
            values["experiment"],
            checkpoint=values["checkpoint"],
            name=values["name"] or None,
            enabled=not values["disabled"],
            runtime=values["runtime"],
            workspace=workbench.workspace,
        )
    except (CriticError, ApiError) as exc:
        if not wants_html(request):
            raise
        return _new_form(request, workbench, values, exc, http_status(exc)[0])
    await run_in_threadpool(_registry(request).refresh, True)  # served from this answer on
    return _token_answer(request, created.deployment, created.token, rotated=False)


def _token_answer(
    request: Request, record: DeploymentRecord, token: str, *, rotated: bool
) -> Response:
    """The token, in this answer only: a page with a copy button for a browser, else JSON."""
    url = _predict_url(request, record.name)
    if not wants_html(request):
        body = {
            "deployment": record.name,
            "token": token,
            "url": url,
            "input_name": record.input_name,
        }
        return JSONResponse(body, status_code=201 if not rotated else 200, headers=PAGE_HEADERS)
    return render(
        request,
        "deployments-token.html",
        status=201 if not rotated else 200,
        title=f"Token of {record.name}",
        d=record,
        token=token,
        rotated=rotated,
        url=url,
        tester=_tester_url(request, record),
    )


# --- one deployment -------------------------------------------------------------------------------


@router.get("/deployments/{name}", summary="One deployment: URL, examples, requests, actions")
def deployment_page(
    request: Request, name: str, workbench: Workbench = Depends(get_workbench)
) -> Response:
    return _deployment(request, get_deployment(name, workbench.workspace), workbench)


def _deployment(
    request: Request,
    record: DeploymentRecord,
    workbench: Workbench,
    delete_error: str | None = None,
    status: int = 200,
) -> Response:
    registry = _registry(request)
    registry.refresh()
    try:
        experiment = get_experiment(record.experiment, workbench.workspace)
    except CriticError:  # deleted behind the deployment's back: the page still shows what it can
        experiment = None
    classes = _classes(experiment, record.checkpoint)
    url = _predict_url(request, record.name)
    return render(
        request,
        "deployments-page.html",
        status=status,
        title=record.name,
        d=record,
        experiment=experiment,
        url=url,
        tester=_tester_url(request, record),
        stats=registry.stats.summary(record.name),
        window=registry.stats.WINDOW,
        problem=_problem(registry, record),
        examples=examples(url, record.input_name, classes, record),
        delete_error=delete_error,
    )


def _classes(experiment: Experiment | None, checkpoint: str) -> list[str]:
    """The checkpoint's classes (classes.json, a few bytes), for the example answer."""
    if experiment is None:
        return []
    try:
        classes = json.loads(
            (Path(experiment.path) / "checkpoints" / checkpoint / "classes.json").read_text()
        )
    except (OSError, ValueError):
        return []
    return [str(c) for c in classes][:20] if isinstance(classes, list) else []


def _problem(registry: Registry, record: DeploymentRecord) -> str | None:
    """Why this server cannot answer for an enabled deployment (its model failed to load), if so."""
    key = model_key(record)
    if record.enabled and key not in registry.predictors:
        return registry.broken.get(key, "its model is not loaded in this server yet")
    return None


def examples(
    url: str, input_name: str, classes: list[str], record: DeploymentRecord | None = None
) -> list[dict]:
    """How to call the deployment: [{id, title, text}], the token as $CRITIC_TOKEN (never the real
    one); shell words quoted for any input name (a dataset's column may have a space)."""
    q = shlex.quote
    field = q(f"{input_name}={SAMPLE}")
    upload = q(f"{input_name}=@review.txt")
    one = json.dumps({input_name: SAMPLE})
    batch = json.dumps({"rows": [{input_name: SAMPLE}, {input_name: "Dull and far too long"}]})
    shown = classes or ["negative", "positive"]
    probabilities = {
        c: round((0.9 if i == len(shown) - 1 else 0.1 / max(1, len(shown) - 1)), 4)
        for i, c in enumerate(shown)
    }
    answer = json.dumps(
        {
            "label": shown[-1],
            "probabilities": probabilities,
            "deployment": record.name if record else "…",
            "experiment": record.experiment if record else "…",
            "checkpoint": record.checkpoint if record else "…",
        },
        indent=2,
        ensure_ascii=False,
    )
    return [
        {
            "id": "curl-form",
            "title": "curl, a form field (HTTP Basic: the token as the user name)",
            "text": f'curl -X POST -F {field} -u "$CRITIC_TOKEN:" {q(url)}',
        },
        {
            "id": "curl-file",
            "title": "curl, a text file as the field",
            "text": f'curl -X POST -F {upload} -u "$CRITIC_TOKEN:" {q(url)}',
        },
        {
            "id": "curl-bearer",
            "title": "curl, the token as a Bearer header",
            "text": f'curl -X POST -F {field} -H "Authorization: Bearer $CRITIC_TOKEN" {q(url)}',
        },
        {
            "id": "curl-json",
            "title": 'curl, a JSON body (or several texts: {"rows": [...]})',
            "text": f"curl -X POST -H 'Content-Type: application/json' -d {q(one)} "
            f'-u "$CRITIC_TOKEN:" {q(url)}',
        },
        {
            "id": "json-body",
            "title": "JSON bodies: one text, or a batch",
            "text": f"{one}\n{batch}",
        },
        {"id": "json-answer", "title": "The answer (one text)", "text": answer},
        {
            "id": "python",
            "title": "Python (httpx)",
            "text": "\n".join(
                [
                    "import os",
                    "",
                    "import httpx",
                    "",
                    "answer = httpx.post(",
                    f"    {json.dumps(url)},",
                    f"    data={{{json.dumps(input_name)}: {json.dumps(SAMPLE)}}},",
                    '    auth=(os.environ["CRITIC_TOKEN"], ""),  # or headers={"Authorization": "Bearer ..."}',
                    "    timeout=30,",
                    ")",
                    "answer.raise_for_status()",
                    'print(answer.json()["label"], answer.json()["probabilities"])',
                ]
            ),
        },
    ]


@router.get("/deployments/{name}/stats", summary="Requests and latency since this server started")
def stats(request: Request, name: str, workbench: Workbench = Depends(get_workbench)) -> dict:
    record = get_deployment(name, workbench.workspace)
    return {"enabled": record.enabled, **_registry(request).stats.summary(record.name)}


# --- changes --------------------------------------------------------------------------------------


def _done(request: Request, target: str) -> Response:
    """After a change: a browser goes to `target` (303), a script is told where."""
    if wants_html(request):
        return RedirectResponse(target, status_code=303)
    return JSONResponse({"redirect": target}, headers=PAGE_HEADERS)


@router.post("/deployments/{name}/enabled", summary="Enable (enabled=1) or disable (enabled=0)")
async def enable(
    request: Request, name: str, workbench: Workbench = Depends(get_workbench)
) -> Response:
    wanted = (await read_form(request)).get("enabled")
    if wanted not in ("0", "1"):
        raise ApiError(
            422, "enabled_required", "send enabled=1 (answer calls) or enabled=0 (refuse them)"
        )
    record = await run_in_threadpool(set_enabled, name, wanted == "1", workbench.workspace)
    await run_in_threadpool(_registry(request).refresh, True)  # this server notices at once
    return _done(request, f"/deployments/{record.name}")


@router.post("/deployments/{name}/rotate", summary="A new token (shown once); the old one stops")
async def rotate(
    request: Request, name: str, workbench: Workbench = Depends(get_workbench)
) -> Response:
    created = await run_in_threadpool(rotate_token, name, workbench.workspace)
    await run_in_threadpool(_registry(request).refresh, True)
    return _token_answer(request, created.deployment, created.token, rotated=True)


@router.post("/deployments/{name}/delete", summary="Delete: confirm=NAME, the name typed again")
async def delete(
    request: Request, name: str, workbench: Workbench = Depends(get_workbench)
) -> Response:
    record = get_deployment(name, workbench.workspace)
    typed = (await read_form(request)).get("confirm", "")[:100]
    if typed != record.name:
        message = f"type the deployment's name, {record.name}, to delete it (got {typed!r})"
        if wants_html(request):
            return _deployment(request, record, workbench, delete_error=message, status=400)
        raise ApiError(400, "confirmation_mismatch", message)
    await run_in_threadpool(delete_deployment, record.name, workbench.workspace)
    registry = _registry(request)
    registry.stats.forget(record.name)
    await run_in_threadpool(registry.refresh, True)
    return _done(request, "/deployments?" + urlencode({"deleted": record.name}))
