"""Experiments: the list (status, progress, best validation figures), a new experiment queued as a
job, the live page (curves, ETA, samples/s, log, settings), cancel, resume, compare.

    GET  /experiments                        the list (?status=S filters); tick two or more, Compare
    GET  /experiments/new                    the form (?model=preset:NAME|graph:NAME&dataset=REF)
    POST /experiments/new                    check, queue `critic train ...` → {"redirect": page}
    GET  /experiments/defaults?model=M       JSON: the model's training settings, which apply
    GET  /experiments/compare?names=A&names=B  curves overlaid, settings side by side, metrics
    GET  /experiments/jobs/{job_id}          a train job: its experiment's page once it has a name
    GET  /experiments/jobs/{job_id}/events   JSON: the job's state and log from ?log=OFFSET
    GET  /experiments/{name}                 the live page (also while its job is queued)
    GET  /experiments/{name}/events          JSON: events from ?offset=N, log from ?log=M, status
    POST /experiments/{name}/cancel          cancel its job (critic.jobs.cancel)
    POST /experiments/{name}/resume          queue `critic train --resume NAME [--epochs=N]`

An experiment's status joins its catalog record and its latest train job (a job queued for a new
experiment has no record yet): queued, running, done, failed, cancelled (stopped: interrupted from
the command line). The page follows the run through files the run writes (events.jsonl, the job's
log), so it keeps following across a restart of this server: the run is another process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from critic.errors import ApiError, ExperimentNotFound, SettingsError
from critic.experiments.events import EVENTS_FILE, read_events
from critic.experiments.store import Experiment, flat_settings, get_experiment, list_experiments
from critic.jobs import JobRecord, cancel, get_job, list_jobs, read_log
from critic.names import validate_name
from critic.serve.workbench.render import render
from critic.serve.workbench.security import read_form, wants_html
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = ["router", "NAV", "status_of"]

router = APIRouter()
NAV = ("/experiments", "Experiments")

STATUSES = ("queued", "running", "done", "failed", "cancelled", "stopped")
ACTIVE = ("queued", "running")
RESUMABLE = ("failed", "cancelled", "stopped")
RESERVED = {"new", "compare", "defaults", "jobs"}  # paths of this page, never an experiment's
MAX_COMPARE = 8
MAX_FIELD = 200  # characters of one form field


@dataclass(frozen=True)
class Row:
    """One line of the list: an experiment, or a train job that has not made one (yet)."""

    name: str | None
    url: str
    status: str
    epochs_done: int
    epochs: int | None
    best_val_loss: float | None
    best_val_accuracy: float | None
    model: str
    dataset: str
    updated: str
    job: str | None


def status_of(experiment: Experiment | None, job: JobRecord | None) -> str:
    """One status from the experiment's record and its latest train job (either may be None)."""
    if job is not None and job.state == "queued":
        return "queued"
    if experiment is not None and experiment.status == "running":
        return "running"
    if job is not None and job.state == "running":
        return "running"  # its process starts, or resumes a run
    if experiment is None:
        return job.state if job is not None else "failed"
    if job is not None and job.state == "cancelled" and experiment.status != "done":
        return "cancelled"
    return "failed" if experiment.status == "killed" else experiment.status


def _latest_jobs(workspace, jobs: list[JobRecord] | None = None) -> dict[str, JobRecord]:
    """Experiment name → its latest train job (jobs come oldest first)."""
    jobs = list_jobs(workspace) if jobs is None else jobs
    return {j.target: j for j in jobs if j.kind == "train" and j.target}


def _job_time(job: JobRecord | None) -> str:
    return (job.ended or job.started or job.created) if job else ""


def _best(experiment: Experiment) -> dict:
    record = experiment.record
    for epoch in record.epochs:
        if epoch.get("epoch") == record.best_epoch:
            return epoch
    return {}


def _option(argv: tuple[str, ...], flag: str) -> str | None:
    """The value of `--flag value` or `--flag=value` in a command line."""
    for i, word in enumerate(argv):
        if word == flag and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(flag + "="):
            return word.partition("=")[2]
    return None


def _model_of(experiment: Experiment) -> str:
    """The preset, or the saved graph a custom model came from (its config file's name)."""
    source = experiment.record.config.get("source") or ""
    if experiment.record.model == "custom" and source.endswith(".toml"):
        return f"graph {Path(source).stem}"
    return experiment.record.model


def _again(job: JobRecord | None) -> str | None:
    """The New form with the model and dataset of a job that started a run (not of a resume)."""
    if job is None or _option(job.argv, "--resume"):
        return None
    preset, config = _option(job.argv, "--preset"), _option(job.argv, "--config")
    model = f"preset:{preset}" if preset else f"graph:{Path(config).stem}" if config else None
    query = {"model": model, "dataset": _option(job.argv, "--dataset")}
    return "/experiments/new?" + urlencode({k: v for k, v in query.items() if v})


def _model_of_job(job: JobRecord) -> str:
    preset = _option(job.argv, "--preset")
    if preset:
        return preset
    config = _option(job.argv, "--config")
    return f"graph {Path(config).stem}" if config else "–"


def _rows(workbench: Workbench) -> list[Row]:
    """Experiments with their jobs, then train jobs that have no experiment: newest first."""
    workspace = workbench.workspace
    every = list_jobs(workspace)
    jobs = _latest_jobs(workspace, every)
    rows = []
    for e in list_experiments(workspace):
        job = jobs.pop(e.name, None)
        best = _best(e)
        rows.append(
            Row(
                e.name,
                f"/experiments/{e.name}",
                status_of(e, job),
                e.record.epochs_done,
                _total_epochs(e),
                best.get("val_loss"),
                best.get("val_accuracy"),
                _model_of(e),
                e.record.dataset,
                max(e.record.updated, _job_time(job)),
                job.id if job else None,
            )
        )
    unnamed = [j for j in every if j.kind == "train" and not j.target]
    for job in [*jobs.values(), *unnamed]:
        if job.target is None and job.state == "done":
            continue  # an unnamed run that ended well is among the experiments above
        epochs = _option(job.argv, "--epochs")
        rows.append(
            Row(
                job.target,
                f"/experiments/{job.target}" if job.target else f"/experiments/jobs/{job.id}",
                status_of(None, job),
                0,
                int(epochs) if epochs and epochs.isdigit() else None,
                None,
                None,
                _model_of_job(job),
                _option(job.argv, "--dataset") or "–",
                _job_time(job),
                job.id,
            )
        )
    return sorted(rows, key=lambda r: r.updated, reverse=True)


@router.get("/experiments", summary="Experiments")
def experiments_page(
    request: Request,
    status: str | None = Query(None, max_length=20),
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    if status is not None and status not in STATUSES:
        raise SettingsError(f"no status {status!r}; one of: {', '.join(STATUSES)}")
    rows = _rows(workbench)
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return render(
        request,
        "experiments.html",
        title="Experiments",
        rows=[r for r in rows if status is None or r.status == status],
        total=len(rows),
        counts=counts,
        chosen=status,
        statuses=STATUSES,
    )


# -- a new experiment --------------------------------------------------------------------------


@router.get("/experiments/new", summary="A new experiment")
def new_page(
    request: Request,
    model: str | None = Query(None, max_length=MAX_FIELD),
    dataset: str | None = Query(None, max_length=MAX_FIELD),
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    from critic.data import list_versions  # here: the data package brings pandas
    from critic.experiments.launch import FORM_SETTINGS, model_choices, train_defaults

    versions = sorted(list_versions(workbench.workspace), key=lambda v: v.record.created)
    choices = model_choices(workbench.workspace)
    values = [c.value for c in choices]
    chosen = model if model in values else "preset:kim-cnn"
    defaults = train_defaults(chosen, workbench.workspace)
    return render(
        request,
        "experiments_new.html",
        title="New experiment",
        versions=list(reversed(versions)),
        dataset=dataset,
        presets=[c for c in choices if c.kind == "preset"],
        graphs=[c for c in choices if c.kind == "graph"],
        model=chosen,
        defaults=defaults,
        settings=list(FORM_SETTINGS),
    )


@router.get("/experiments/defaults", summary="A model's training settings")
def defaults_json(
    model: str = Query(..., max_length=MAX_FIELD), workbench: Workbench = Depends(get_workbench)
) -> dict:
    from critic.experiments.launch import train_defaults

    return train_defaults(model, workbench.workspace)


@router.post("/experiments/new", summary="Queue a new experiment")
async def create(request: Request, workbench: Workbench = Depends(get_workbench)) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    from critic.experiments.launch import FORM_SETTINGS, queue_training

    fields = await _form(request)
    name = fields.get("name", "").strip() or None
    if name is not None:
        validate_name(name, "experiment name")
        if name in RESERVED:
            raise SettingsError(f"{name!r} is a page of the workbench; choose another name")
    typed = {k: fields[k] for k in FORM_SETTINGS if k in fields}
    job = await run_in_threadpool(
        queue_training,
        fields.get("dataset", ""),
        fields.get("model", ""),
        typed,
        name=name,
        user=request.state.session.user,
        workspace=workbench.workspace,
    )
    return _done(request, {"job": job.id, "name": job.target}, f"/experiments/{job.target}")


async def _form(request: Request) -> dict[str, str]:
    """The fields of a form, urlencoded (a plain form) or multipart (a `<form data-api>` sent by
    fetch as FormData): the first of each name, each cut at MAX_FIELD + 1 characters (a setting
    that long is refused by its check), no files."""
    fields = await read_form(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not fields and kind == "multipart/form-data":
        form = await request.form(max_files=0, max_fields=40, max_part_size=4096)
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, value)
    return {k: v[: MAX_FIELD + 1] for k, v in fields.items()}


# -- comparing -------------------------------------------------------------------------------


@router.get("/experiments/compare", summary="Experiments side by side")
def compare_page(
    request: Request,
    names: list[str] = Query([], max_length=200),
    all: bool = False,
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    names = list(dict.fromkeys(names))  # each once, in the order given
    if not 2 <= len(names) <= MAX_COMPARE:
        raise SettingsError(
            f"tick two to {MAX_COMPARE} experiments to compare (got {len(names)}), then Compare"
        )
    runs = [get_experiment(n, workbench.workspace) for n in names]
    flat = [flat_settings(r.record.config) for r in runs]
    keys = sorted({k for f in flat for k in f})
    settings = [(k, [_shown(f.get(k)) for f in flat]) for k in keys]
    differ = [(k, vs) for k, vs in settings if len(set(vs)) > 1]
    catalog = workbench.catalog
    jobs = _latest_jobs(workbench.workspace)
    metrics = [
        {
            "name": r.name,
            "status": status_of(r, jobs.get(r.name)),
            "epochs_done": r.record.epochs_done,
            "best_epoch": r.record.best_epoch,
            "best": _best(r),
            "last": r.record.epochs[-1] if r.record.epochs else {},
            "seconds": r.record.seconds,
            "evaluations": catalog.evaluations(r.name),
        }
        for r in runs
    ]
    # a list, in the order named (a dict would come out of tojson sorted)
    curves = [{"name": r.name, "epochs": [_epoch_point(e) for e in r.record.epochs]} for r in runs]
    return render(
        request,
        "experiments_compare.html",
        title="Compare " + ", ".join(names),
        names=names,
        settings=settings if all else differ,
        all=all,
        differing=len(differ),
        metrics=metrics,
        curves=curves,
    )


def _shown(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _epoch_point(epoch: dict) -> dict:
    keys = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "samples_per_s")
    return {k: epoch.get(k) for k in keys}


# -- a job that has no experiment (yet) ---------------------------------------------------------


@router.get("/experiments/jobs/{job_id}", summary="A train job")
def job_page(request: Request, job_id: str, workbench: Workbench = Depends(get_workbench)):
    job = _train_job(job_id, workbench)
    if job.target:
        return RedirectResponse(f"/experiments/{job.target}", status_code=303)
    return render(
        request,
        "experiments_live.html",
        title=job.id,
        name=None,
        job=job,
        run_status=status_of(None, job),
        again=_again(job),
        experiment=None,
        linear=False,
        total=None,
        model=None,
        settings=[],
        events_url=f"/experiments/jobs/{job.id}/events",
    )


@router.get("/experiments/jobs/{job_id}/events", summary="A train job's state and log")
def job_events(
    job_id: str,
    log: int = Query(0, ge=0, le=2**50),
    workbench: Workbench = Depends(get_workbench),
) -> dict:
    job = _train_job(job_id, workbench)
    return {
        "events": [],
        "offset": 0,
        **_log_part(job, log, workbench),
        "status": status_of(None, job),
        "job": _job_json(job),
        "name": job.target,
    }


def _train_job(job_id: str, workbench: Workbench) -> JobRecord:
    job = get_job(job_id, workbench.workspace)
    if job.kind != "train":
        raise ApiError(404, "not_found", f"job {job_id!r} is a {job.kind} job, not a training")
    return job


# -- one experiment ----------------------------------------------------------------------------


def _find(name: str, workbench: Workbench) -> tuple[Experiment | None, JobRecord | None]:
    """The experiment and its latest train job; at least one of them, else ExperimentNotFound."""
    validate_name(name, "experiment name")
    job = _latest_jobs(workbench.workspace).get(name)
    try:
        return get_experiment(name, workbench.workspace), job
    except ExperimentNotFound:
        if job is None:
            raise
        return None, job


@router.get("/experiments/{name}", summary="An experiment, live while it trains")
def experiment_page(
    request: Request, name: str, workbench: Workbench = Depends(get_workbench)
) -> HTMLResponse:
    experiment, job = _find(name, workbench)
    return render(
        request,
        "experiments_live.html",
        title=name,
        name=name,
        job=job,
        run_status=status_of(experiment, job),
        again=_again(job),
        experiment=experiment,
        linear=_linear(experiment),
        total=_total_epochs(experiment),
        model=_model_of(experiment) if experiment else None,
        settings=_settings_of(experiment),
        events_url=f"/experiments/{name}/events",
    )


def _linear(experiment: Experiment | None) -> bool:
    return experiment is not None and experiment.record.config["model"].get("kind") == "linear"


def _total_epochs(experiment: Experiment | None) -> int | None:
    """The epochs the run is set to (the linear model: its one pass)."""
    if experiment is None:
        return None
    return 1 if _linear(experiment) else experiment.record.config["train"].get("epochs")


def _settings_of(experiment: Experiment | None) -> list[tuple[str, str]]:
    if experiment is None:
        return []
    return [(k, _shown(v)) for k, v in sorted(flat_settings(experiment.record.config).items())]


@router.get("/experiments/{name}/events", summary="An experiment's events and log so far")
def experiment_events(
    name: str,
    offset: int = Query(0, ge=0, le=2**50),
    log: int = Query(0, ge=0, le=2**50),
    settings: bool = False,
    workbench: Workbench = Depends(get_workbench),
) -> dict:
    """What a live page polls: the events written after byte `offset` of events.jsonl, the job's
    log after byte `log`, the status now, and (with `settings`) the run's settings once it has
    them. `ended`: nothing more will come."""
    experiment, job = _find(name, workbench)
    folder = experiment.path if experiment else workbench.workspace.experiments / name
    events, offset = read_events(folder / EVENTS_FILE, offset)
    status = status_of(experiment, job)
    answer = {
        "events": events,
        "offset": offset,
        **_log_part(job, log, workbench),
        "status": status,
        "job": _job_json(job),
        "name": name,
        "epochs_done": experiment.record.epochs_done if experiment else 0,
        "exists": experiment is not None,
        "ended": status not in ACTIVE,
    }
    if settings and experiment is not None:
        answer["settings"] = _settings_of(experiment)
    if experiment is not None and offset == 0 and not (folder / EVENTS_FILE).exists():
        # a run from before events.jsonl existed: its finished epochs, from the catalog
        best = experiment.record.best_epoch
        answer["history"] = [
            {**_epoch_point(e), "best": e.get("epoch") == best} for e in experiment.record.epochs
        ]
    return answer


def _log_part(job: JobRecord | None, offset: int, workbench: Workbench) -> dict:
    if job is None:
        return {"log": "", "log_offset": 0}
    text, offset, _ = read_log(job.id, offset, workbench.workspace)
    return {"log": text, "log_offset": offset}


def _job_json(job: JobRecord | None) -> dict | None:
    if job is None:
        return None
    return {
        "id": job.id,
        "state": job.state,
        "command": job.command,
        "error": job.error,
        "created": job.created,
        "started": job.started,
        "ended": job.ended,
    }


def _done(request: Request, answer: dict, page: str):
    """A form's answer: JSON with `redirect` for a script (workbench.js follows it), the page
    itself (303) for a browser posting a plain form."""
    if wants_html(request):
        return RedirectResponse(page, status_code=303)
    return JSONResponse({**answer, "redirect": page})


@router.post("/experiments/{name}/cancel", summary="Cancel an experiment's job")
def cancel_experiment(request: Request, name: str, workbench: Workbench = Depends(get_workbench)):
    experiment, job = _find(name, workbench)
    if job is None or job.finished:
        if experiment is not None and experiment.status == "running":
            raise ApiError(
                409,
                "not_a_job",
                f"{name!r} was started from the command line; stop it there (Ctrl-C)",
            )
        raise ApiError(409, "not_running", f"{name!r} is not running or queued: nothing to cancel")
    job = cancel(job.id, workspace=workbench.workspace)
    return _done(request, {"job": job.id, "state": job.state}, f"/experiments/{name}")


@router.post("/experiments/{name}/resume", summary="Resume a stopped, failed or cancelled run")
async def resume_experiment(
    request: Request, name: str, workbench: Workbench = Depends(get_workbench)
):
    from starlette.concurrency import run_in_threadpool

    from critic.experiments.launch import parse_settings, queue_resume

    validate_name(name, "experiment name")
    fields = await _form(request)
    epochs = parse_settings({"epochs": fields.get("epochs", "")}).get("epochs")
    job = await run_in_threadpool(
        queue_resume,
        name,
        epochs=epochs,
        user=request.state.session.user,
        workspace=workbench.workspace,
    )
    return _done(request, {"job": job.id}, f"/experiments/{name}")
