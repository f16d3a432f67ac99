"""Sweeps: the searches over a preset's settings (critic.experiments.sweep, what `critic sweep`
runs), a new one queued from a form, and one sweep's trials, best, importances and pictures.

    GET  /sweeps                          the sweeps: status, trials by state, best value
    GET  /sweeps/new                      the form (?dataset=REF&preset=NAME): dataset version,
                                          preset, the search space as TOML (the preset's example
                                          filled in), trials, metric, pruner
    POST /sweeps/new                      check, create the study, queue one job per trial
                                          → {"redirect": "/sweeps/NAME"}
    GET  /sweeps/{name}                   the sweep: best trial, trials (each an experiment),
                                          importances, pictures, the space; live while it runs
    GET  /sweeps/{name}/state             JSON: status and trials by state (the page polls it)
    GET  /sweeps/{name}/plots/{plot}.png  a picture (drawn by each trial as it ends)
    POST /sweeps/{name}/cancel            cancel its queued and running jobs

The trials are jobs: this server's job pool runs them, CRITIC_JOBS_MAX_RUNNING at a time (or
Ray, when the server submits there), as for every job the workbench queues."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from critic.errors import ApiError, SettingsError
from critic.names import validate_name
from critic.serve.workbench.render import render
from critic.serve.workbench.security import read_form, wants_html
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/sweeps", "Sweeps")

RESERVED = {"new"}  # a path of this page, never a sweep's name
MAX_SPACE = 8000  # characters of the search space typed in the form
MAX_FIELD = 200
NUMBERS = ("trials", "prune_from_epoch", "prune_after_trials", "seed")
PICTURES = {  # file → (title, alt text)
    "history.png": ("Value by trial", "each trial's value by trial number, the best so far"),
    "epochs.png": ("Epoch by epoch", "each trial's validation metric after every epoch"),
    "settings.png": ("Value by setting", "the value against each setting's value"),
    "importances.png": ("Importances", "each setting's share of the value's variation"),
}


@router.get("/sweeps", summary="Sweeps")
def sweeps_page(request: Request, workbench: Workbench = Depends(get_workbench)) -> HTMLResponse:
    from critic.experiments.sweep import list_sweeps

    sweeps = list(reversed(list_sweeps(workbench.workspace)))
    return render(request, "sweeps.html", title="Sweeps", sweeps=sweeps)


@router.get("/sweeps/new", summary="A new sweep")
def new_page(
    request: Request,
    dataset: str | None = None,
    preset: str | None = None,
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    from critic.data import list_versions  # here: the data package brings pandas
    from critic.experiments.sweep import PRUNERS, SweepSettings
    from critic.experiments.sweep_space import example_spaces
    from critic.jobs import max_running_from_env

    versions = sorted(list_versions(workbench.workspace), key=lambda v: v.record.created)
    examples = example_spaces()
    chosen = preset if preset in examples else "linear"
    return render(
        request,
        "sweeps_new.html",
        title="New sweep",
        versions=list(reversed(versions)),
        dataset=dataset,
        presets=examples,
        preset=chosen,
        defaults=SweepSettings(),
        pruners=PRUNERS,
        at_once=max_running_from_env(),
    )


@router.post("/sweeps/new", summary="Create a sweep and queue its trials")
async def create(request: Request, workbench: Workbench = Depends(get_workbench)):
    from starlette.concurrency import run_in_threadpool

    fields = await _form(request)
    sweep = await run_in_threadpool(_create, fields, request.state.session.user, workbench)
    return _done(request, {"name": sweep.name, "jobs": len(sweep.jobs)}, f"/sweeps/{sweep.name}")


def _create(fields: dict[str, str], user: str, workbench: Workbench):
    """The form's fields → create_sweep, checked as `critic sweep create` checks its options."""
    from critic.experiments.sweep import SweepSettings, create_sweep
    from critic.experiments.sweep_space import parse_space, read_toml
    from critic.jobs import max_running_from_env

    name = fields.get("name", "").strip() or None
    if name is not None and name in RESERVED:
        raise SettingsError(f"{name!r} is a page of the workbench; choose another name")
    text = fields.get("space", "")
    if len(text) > MAX_SPACE:
        raise SettingsError(f"the search space is over {MAX_SPACE:,} characters")
    space = parse_space(read_toml(text, "the search space"), "the search space")
    numbers = {k: _whole(fields, k) for k in NUMBERS if fields.get(k, "").strip()}
    settings = SweepSettings(
        metric=fields.get("metric", "val_loss"),
        pruner=fields.get("pruner", "median"),
        parallel=max_running_from_env(),  # the pool's: what this server runs at once
        **numbers,
    )
    return create_sweep(
        fields.get("dataset", ""),
        fields.get("preset", ""),
        space,
        settings,
        name=name,
        user=user,
        workspace=workbench.workspace,
    )


def _whole(fields: dict[str, str], key: str) -> int:
    text = fields[key].strip()
    try:
        return int(text)
    except ValueError:
        raise SettingsError(
            f"{key.replace('_', ' ')} is a whole number, got {text[:20]!r}"
        ) from None


async def _form(request: Request) -> dict[str, str]:
    """A plain form (urlencoded) or a `<form data-api>` sent by fetch (multipart): the first of
    each name, no files; the space up to MAX_SPACE + 1 characters, the rest up to MAX_FIELD + 1
    (a longer one is refused by its check)."""
    fields = await read_form(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not fields and kind == "multipart/form-data":
        form = await request.form(max_files=0, max_fields=20, max_part_size=4 * MAX_SPACE)
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, value)
    return {k: v[: (MAX_SPACE if k == "space" else MAX_FIELD) + 1] for k, v in fields.items()}


def _done(request: Request, answer: dict, page: str):
    """JSON with `redirect` for a script (workbench.js follows it); 303 to it for a plain form."""
    if wants_html(request):
        return RedirectResponse(page, status_code=303)
    return JSONResponse({**answer, "redirect": page})


@router.get("/sweeps/{name}", summary="A sweep: its trials, best, importances and pictures")
def sweep_page(
    request: Request, name: str, workbench: Workbench = Depends(get_workbench)
) -> HTMLResponse:
    from critic.experiments.sweep import load_sweep
    from critic.experiments.sweep_space import space_toml

    sweep = load_sweep(validate_name(name, "sweep name"), workbench.workspace)
    pictures = [(p.name, *PICTURES[p.name]) for p in sweep.plots]
    return render(
        request,
        "sweeps_page.html",
        title=f"Sweep {name}",
        sweep=sweep,
        best=sweep.best,
        pictures=pictures,
        space=space_toml(sweep.space),
        state=_state(sweep),
    )


@router.get("/sweeps/{name}/state", summary="A sweep's status and trials by state")
def sweep_state(name: str, workbench: Workbench = Depends(get_workbench)) -> dict:
    from critic.experiments.sweep import load_sweep

    return _state(load_sweep(validate_name(name, "sweep name"), workbench.workspace))


def _state(sweep) -> dict:
    states = ("complete", "pruned", "failed", "running", "queued")
    return {
        "name": sweep.name,
        "status": sweep.status,
        "finished": sweep.finished,
        "trials": {s: sweep.count(s) for s in states},
        "best": sweep.best.number if sweep.best else None,
    }


@router.get("/sweeps/{name}/plots/{plot}.png", summary="A sweep's picture")
def sweep_plot(name: str, plot: str, workbench: Workbench = Depends(get_workbench)):
    validate_name(name, "sweep name")
    file = f"{plot}.png"
    path = workbench.workspace.root / "sweeps" / name / file
    if file not in PICTURES or not path.is_file():
        raise ApiError(404, "no_plot", f"sweep {name!r} has no picture {plot[:50]!r} (yet)")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.post("/sweeps/{name}/cancel", summary="Cancel a sweep's jobs")
def cancel(request: Request, name: str, workbench: Workbench = Depends(get_workbench)):
    from critic.experiments.sweep import cancel_sweep, load_sweep

    sweep = load_sweep(validate_name(name, "sweep name"), workbench.workspace)
    if sweep.finished:
        raise ApiError(409, "not_running", f"sweep {name!r} has ended: nothing to cancel")
    sweep = cancel_sweep(name, workspace=workbench.workspace)
    return _done(request, _state(sweep), f"/sweeps/{name}")
