"""Datasets: the list of datasets and versions, upload/URL/server-path import with a preview, a
version's page (subsets × labels, rejected rows, statistics as pictures, the coverage field), a new
version with other subset settings. The work is done by the CLI's own commands, run as jobs
(`critic data import|split|stats`); the pages read what they wrote.

    GET  /datasets                                 every dataset and version; the import forms
    POST /datasets/-/upload?filename=F             the raw body streamed to uploads/<id>/<F> → preview
    GET  /datasets/-/preview?upload=ID | ?path=P   first rows, guessed columns, the import form
    POST /datasets/-/import                        queue `critic data import` → its job page
    GET  /datasets/-/jobs/{job}                    a data job's progress and log
    GET  /datasets/-/jobs/{job}/log?offset=N       JSON: the log from N on, state, the version made
    POST /datasets/-/jobs/{job}/cancel             stop it (its process group), as `critic jobs cancel`
    GET  /datasets/{name}                          → its newest version
    GET  /datasets/{name}/{v}                      counts, rejects (?rejects=PAGE), statistics
    GET  /datasets/{name}/{v}/rejects.csv          the rejected rows, downloaded
    GET  /datasets/{name}/{v}/plots/{plot}.png     a statistics picture
    GET  /datasets/{name}/{v}/coverage?length=N    JSON: the share of texts N cuts, words and WordPiece
    POST /datasets/{name}/{v}/stats                queue `critic data stats` (once at a time)
    POST /datasets/{name}/{v}/split                queue `critic data split` → its job page

The routes that are not a dataset start with /datasets/-/: a dataset name never starts with "-".
Paths never come from the browser: an upload is named by its random id, a server file by its path
under the directory the operator named (CRITIC_IMPORT_DIR, `critic serve --import-dir`); staging.py
keeps both."""

from __future__ import annotations

import csv
import re
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import ClientDisconnect

from critic.data.download import is_url
from critic.data.measures import PLOTS, kept_cut, plot_file, read_stats, wordpiece_file
from critic.data.preview import preview_table
from critic.data.split import SUBSETS, SplitSettings
from critic.data.store import REJECTS_FILE, DatasetVersion, list_versions, load_version
from critic.errors import ApiError, CriticError, SettingsError
from critic.jobs import cancel, get_job, list_jobs, read_log, submit
from critic.jobs.logs import tail
from critic.names import validate_name
from critic.serve.workbench.render import PAGE_HEADERS, render
from critic.serve.workbench.security import FORM_LIMIT, read_form
from critic.serve.workbench.staging import (
    UPLOADS,
    checked_delimiter,
    checked_encoding,
    chunks,
    clean_uploads,
    safe_filename,
    server_file,
    server_files,
    staged,
    suggested_name,
    too_big,
)
from critic.serve.workbench.state import Workbench, get_workbench

__all__ = ["router", "NAV"]

router = APIRouter()
NAV = ("/datasets", "Datasets")

REJECTS_PER_PAGE = 50
DATA_JOBS = ("import", "split", "stats")
COVERAGE_DEFAULT = 512
MAX_LENGTH = 1_000_000  # the longest sequence length the coverage field takes


# -- the list ------------------------------------------------------------------------------------


@router.get("/datasets", summary="Datasets and their versions")
def datasets_page(request: Request, workbench: Workbench = Depends(get_workbench)) -> HTMLResponse:
    by_name: dict[str, list[DatasetVersion]] = {}
    for v in list_versions(workbench.workspace):
        by_name.setdefault(v.record.name, []).append(v)
    datasets = [
        (name, sorted(vs, key=lambda v: v.record.version, reverse=True))
        for name, vs in sorted(by_name.items())
    ]
    recent = _recent_jobs(workbench)
    return render(
        request,
        "datasets.html",
        title="Datasets",
        datasets=datasets,
        subsets=SUBSETS,
        recent=recent,
        max_upload=workbench.settings.max_upload_bytes,
        import_dir=workbench.settings.import_dir,
        server_files=server_files(workbench.settings.import_dir),
        split=SplitSettings(),
    )


def _recent_jobs(workbench: Workbench, most: int = 5, hours: float = 24) -> list:
    """The newest data jobs still running or ended within `hours`: an import that failed while
    the person was elsewhere is found here, with its log one click away."""
    since = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    jobs = [
        j
        for j in list_jobs(workbench.workspace)
        if j.kind in DATA_JOBS and (not j.finished or (j.ended or "") >= since)
    ]
    return sorted(jobs, key=lambda j: j.created, reverse=True)[:most]


# -- upload, server path, preview ------------------------------------------------------------------


@router.post("/datasets/-/upload", summary="Upload a table (the raw body), streamed to disk")
async def upload(
    request: Request, filename: str = "", workbench: Workbench = Depends(get_workbench)
) -> JSONResponse:
    limit = workbench.settings.max_upload_bytes
    name = safe_filename(filename)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big(limit, int(declared))
    root = workbench.workspace.root / UPLOADS
    await anyio.to_thread.run_sync(clean_uploads, root)
    upload_id = secrets.token_hex(8)
    folder = root / upload_id
    folder.mkdir(parents=True)
    partial = folder / f".partial-{name}"
    size = 0
    try:
        with open(partial, "wb") as out:
            async for chunk in chunks(request):
                size += len(chunk)
                if size > limit:
                    raise too_big(limit)
                await anyio.to_thread.run_sync(out.write, chunk)
    except ClientDisconnect:
        shutil.rmtree(folder, ignore_errors=True)
        raise ApiError(
            400, "incomplete_body", "the upload stopped before the whole file arrived"
        ) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ApiError(400, "empty_upload", f"{name} arrived empty: choose a file with data rows")
    partial.rename(folder / name)
    return JSONResponse(
        {
            "upload": upload_id,
            "file": name,
            "bytes": size,
            "redirect": "/datasets/-/preview?" + urlencode({"upload": upload_id}),
        }
    )


@router.get("/datasets/-/preview", summary="The first rows of an upload or server file")
def preview_page(
    request: Request,
    upload: str = "",
    path: str = "",
    encoding: str = "utf-8",
    delimiter: str = "",
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    file, source = staged(workbench, upload, path)
    encoding, delimiter = checked_encoding(encoding), checked_delimiter(delimiter)
    preview, problem = None, None
    try:
        preview = preview_table(file, encoding=encoding, delimiter=delimiter or None)
    except CriticError as exc:  # the page says what is wrong and offers encoding and delimiter
        problem = str(exc)
    return render(
        request,
        "datasets_preview.html",
        title=f"Preview of {file.name}",
        file=file.name,
        file_size=file.stat().st_size,
        source=source,
        preview=preview,
        problem=problem,
        encoding=encoding,
        delimiter=delimiter,
        name=suggested_name(file.name),
        split=SplitSettings(),
    )


@router.post("/datasets/-/server-path", summary="Preview a file under the import directory")
async def server_path(request: Request, workbench: Workbench = Depends(get_workbench)):
    form = await _form(request)
    file = server_file(workbench, form.get("path", "").strip())
    rel = file.relative_to(Path(workbench.settings.import_dir).resolve()).as_posix()
    return {"redirect": "/datasets/-/preview?" + urlencode({"path": rel})}


# -- import, split, stats: jobs ---------------------------------------------------------------------


@router.post("/datasets/-/import", summary="Queue the import of an upload, server file or URL")
async def start_import(
    request: Request, workbench: Workbench = Depends(get_workbench)
) -> JSONResponse:
    form = await _form(request)
    name = validate_name(form.get("name", "").strip(), "dataset name")
    url = form.get("url", "").strip()
    if url:
        if len(url) > 2000 or not is_url(url):
            raise ApiError(400, "invalid_url", "give an http:// or https:// URL of a table or .zip")
        source, header = url, None
    else:
        file, _ = staged(workbench, form.get("upload", ""), form.get("path", ""))
        source, header = str(file), file
    argv = ["data", "import", name, "--source", source]
    encoding, delimiter = (
        checked_encoding(form.get("encoding", "")),
        checked_delimiter(form.get("delimiter", "")),
    )
    columns = {o: form.get(f, "").strip() for f, o in _COLUMN_FIELDS.items()}
    if header is not None:
        _check_columns(header, columns, encoding, delimiter)
    for option, value in columns.items():
        if value:
            argv += [option, value[:200]]
    if encoding.lower() not in ("utf-8", "utf8"):
        argv += ["--encoding", encoding]
    if delimiter:
        argv += ["--delimiter", delimiter]
    argv += _split_options(form)
    job = submit("import", argv, user=_user(request), workspace=workbench.workspace)
    return JSONResponse({"job": job.id, "redirect": f"/datasets/-/jobs/{job.id}"})


_COLUMN_FIELDS = {"text": "--text", "label": "--label", "subset_column": "--subset-column"}


def _check_columns(file: Path, columns: dict, encoding: str, delimiter: str) -> None:
    """The chosen columns exist in the table (refused now, not in the job's log)."""
    header = preview_table(file, encoding=encoding, delimiter=delimiter or None, rows=1).columns
    for value in columns.values():
        if value and value not in header:
            raise ApiError(
                400, "no_such_column", f"{file.name} has no column {value!r}; its columns: {header}"
            )
    if columns["--text"] and columns["--text"] == columns["--label"]:
        raise ApiError(400, "same_column", "the text and the label must be different columns")


def _split_options(form: dict) -> list[str]:
    """--validation-fraction, --test-fraction, --seed from the form, checked by SplitSettings."""
    defaults = SplitSettings()
    try:
        split = SplitSettings(
            _percent(form, "validation_percent", defaults.validation_fraction),
            _percent(form, "test_percent", defaults.test_fraction),
            int(form.get("seed") or defaults.seed),
        )
    except ValueError:
        raise SettingsError("the seed is a whole number, e.g. 42") from None
    return [
        "--validation-fraction",
        repr(split.validation_fraction),
        "--test-fraction",
        repr(split.test_fraction),
        "--seed",
        str(split.seed),
    ]


def _percent(form: dict, key: str, default: float) -> float:
    raw = form.get(key, "").strip()
    if not raw:
        return default
    try:
        return round(float(raw) / 100, 6)
    except ValueError:
        raise SettingsError(
            f"{key.replace('_', ' ')} is a number from 0 to 99, got {raw[:20]!r}"
        ) from None


@router.post("/datasets/{name}/{version}/split", summary="A new version with other subset settings")
async def start_split(
    request: Request, name: str, version: int, workbench: Workbench = Depends(get_workbench)
) -> JSONResponse:
    v = _version(workbench, name, version)
    argv = ["data", "split", v.ref, *_split_options(await _form(request))]
    job = submit("split", argv, user=_user(request), workspace=workbench.workspace)
    return JSONResponse({"job": job.id, "redirect": f"/datasets/-/jobs/{job.id}"})


@router.post("/datasets/{name}/{version}/stats", summary="Compute a version's statistics (a job)")
async def start_stats(
    request: Request, name: str, version: int, workbench: Workbench = Depends(get_workbench)
) -> JSONResponse:
    v = _version(workbench, name, version)
    form = await _form(request)
    running = _stats_job(workbench, v.ref)
    if running is None:
        argv = ["data", "stats", v.ref]
        source = workbench.settings.wordpiece_source
        if form.get("wordpiece") or Path(source).expanduser().is_dir():
            argv += ["--tokenizer", source]  # the operator's setting, never the browser's
        running = submit("stats", argv, user=_user(request), workspace=workbench.workspace)
    return JSONResponse({"job": running.id, "state": running.state})


def _stats_job(workbench: Workbench, ref: str):
    return next(
        (
            j
            for j in reversed(list_jobs(workbench.workspace))
            if j.kind == "stats" and j.target == ref and not j.finished
        ),
        None,
    )


@router.get("/datasets/-/jobs/{job_id}", summary="A data job's progress")
def job_page(
    request: Request, job_id: str, workbench: Workbench = Depends(get_workbench)
) -> HTMLResponse:
    job = _data_job(workbench, job_id)
    return render(
        request,
        "datasets_job.html",
        title=f"{job.kind.capitalize()} job",
        job=job,
        made=_made(workbench, job),
        log=tail(workbench.workspace.root / job.log, 200),
    )


@router.get("/datasets/-/jobs/{job_id}/log", summary="A data job's log from an offset (JSON)")
def job_log(job_id: str, offset: int = 0, workbench: Workbench = Depends(get_workbench)) -> dict:
    job = _data_job(workbench, job_id)
    text, offset, finished = read_log(job.id, max(0, offset), workbench.workspace)
    job = get_job(job.id, workbench.workspace) if finished else job
    made = _made(workbench, job)
    return {
        "text": text,
        "offset": offset,
        "finished": job.finished,
        "state": job.state,
        "error": job.error,
        "seconds": job.seconds(),
        "version": made and {"ref": made[0], "url": made[1]},
    }


@router.post("/datasets/-/jobs/{job_id}/cancel", summary="Cancel a data job")
def cancel_job(job_id: str, workbench: Workbench = Depends(get_workbench)) -> dict:
    job = cancel(_data_job(workbench, job_id).id, workspace=workbench.workspace)
    return {"state": job.state}


def _data_job(workbench: Workbench, job_id: str):
    job = get_job(job_id, workbench.workspace)
    if job.kind not in DATA_JOBS:
        raise ApiError(404, "not_found", f"{job_id} is a {job.kind} job, not a dataset job")
    return job


def _made(workbench: Workbench, job) -> tuple[str, str] | None:
    """(ref, page) of the version a finished job made or found (import, split) or read (stats)."""
    if job.state != "done" or not job.target:
        return None
    name = job.target.split("@")[0]
    if job.kind == "stats":
        found = [job.target]
    else:
        text = tail(workbench.workspace.root / job.log, 60)
        found = re.findall(rf"(?<![\w.-]){re.escape(name)}@(\d+)", text)
        found = [f"{name}@{found[-1]}"] if found else []
    if not found:
        return None
    ref = found[0]
    return ref, "/datasets/{}/{}".format(*ref.split("@"))


# -- a version -------------------------------------------------------------------------------------


@router.get("/datasets/{name}", summary="A dataset's newest version")
def dataset_newest(name: str, workbench: Workbench = Depends(get_workbench)) -> RedirectResponse:
    v = load_version(validate_name(name, "dataset name"), workbench.workspace)
    return RedirectResponse(f"/datasets/{v.record.name}/{v.record.version}", status_code=303)


@router.get("/datasets/{name}/{version}", summary="A dataset version")
def version_page(
    request: Request,
    name: str,
    version: int,
    rejects: int = 1,
    workbench: Workbench = Depends(get_workbench),
) -> HTMLResponse:
    v = _version(workbench, name, version)
    m = v.manifest
    pages = max(1, -(-m["rejected"]["count"] // REJECTS_PER_PAGE))
    page = min(max(1, rejects), pages)
    stats = read_stats(v)
    source = workbench.settings.wordpiece_source
    job = None if stats else _stats_job(workbench, v.ref)
    return render(
        request,
        "datasets_version.html",
        title=v.ref,
        v=v,
        m=m,
        counts=_counts_table(m),
        others=sorted(
            (o for o in list_versions(workbench.workspace, v.record.name) if o.ref != v.ref),
            key=lambda o: o.record.version,
            reverse=True,
        ),
        rejects=_rejects_page(v, page),
        rejects_page=page,
        rejects_pages=pages,
        stats=stats,
        plots=[p for p in PLOTS if plot_file(v, p)],
        stats_job=job,
        wordpiece_source=source,
        wordpiece_counted=wordpiece_file(v, source).is_file(),
        coverage_default=COVERAGE_DEFAULT,
        split=SplitSettings(
            m["split"].get("validation_fraction", 0.2),
            m["split"].get("test_fraction", 0.0),
            m["split"].get("seed", 42),
        ),
    )


@router.get("/datasets/{name}/{version}/rejects.csv", summary="A version's rejected rows")
def rejects_csv(name: str, version: int, workbench: Workbench = Depends(get_workbench)):
    v = _version(workbench, name, version)
    path = v.path / REJECTS_FILE
    if not v.manifest["rejected"]["file"] or not path.is_file():
        raise ApiError(404, "no_rejects", f"{v.ref} has no rejected rows")
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=f"{v.record.name}-v{v.record.version}-rejects.csv",
        headers={k: PAGE_HEADERS[k] for k in ("X-Content-Type-Options", "Cache-Control")},
    )


@router.get("/datasets/{name}/{version}/plots/{plot}.png", summary="A statistics picture")
def plot_png(name: str, version: int, plot: str, workbench: Workbench = Depends(get_workbench)):
    v = _version(workbench, name, version)
    path = plot_file(v, plot)
    if path is None:
        raise ApiError(404, "no_plot", f"{v.ref} has no picture {plot[:50]!r} (yet)")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.get(
    "/datasets/{name}/{version}/coverage", summary="The share of texts a length cuts (JSON)"
)
def coverage(
    name: str, version: int, length: str = "", workbench: Workbench = Depends(get_workbench)
) -> dict:
    v = _version(workbench, name, version)
    if not length.strip().isdigit() or not 1 <= int(length) <= MAX_LENGTH:
        raise ApiError(
            400,
            "invalid_length",
            f"the sequence length is a whole number from 1 to {MAX_LENGTH:,}, got {length[:20]!r}",
        )
    source = workbench.settings.wordpiece_source
    cut = kept_cut(v, int(length), source)
    if cut["words"] is None:
        raise ApiError(
            409,
            "no_statistics",
            f"the statistics of {v.ref} are not computed yet: open its page, or run "
            f"`critic data stats {v.ref}`",
        )
    return {**cut, "wordpiece_source": source}


def _version(workbench: Workbench, name: str, version: int) -> DatasetVersion:
    validate_name(name, "dataset name")
    if version < 1:
        raise ApiError(404, "not_found", f"no version {version} of {name}: versions count from 1")
    return load_version(f"{name}@{version}", workbench.workspace)


def _counts_table(m: dict) -> dict:
    """{labels, rows: [(subset, [count per label], total)], totals, total} from the manifest."""
    by = m["rows"]["by_subset"]
    labels = m["classes"]
    rows = [(s, [by[s].get(c, 0) for c in labels], sum(by[s].values())) for s in by]
    totals = [sum(r[1][i] for r in rows) for i in range(len(labels))]
    return {"labels": labels, "rows": rows, "totals": totals, "total": sum(totals)}


def _rejects_page(v: DatasetVersion, page: int) -> list[dict]:
    """Rejected rows of page `page` (REJECTS_PER_PAGE each), their content cut to 300 characters."""
    path = v.path / REJECTS_FILE
    if not path.is_file():
        return []
    first, out = (page - 1) * REJECTS_PER_PAGE, []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i >= first + REJECTS_PER_PAGE:
                break
            if i >= first:
                content = row.get("content") or ""
                row["content"] = content[:300] + ("…" if len(content) > 300 else "")
                out.append(row)
    return out


# -- forms --------------------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    """A small form's fields, urlencoded or multipart (as `<form data-api>` sends it), files refused."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        return await read_form(request)
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > FORM_LIMIT:
        raise ApiError(413, "form_too_large", f"the form is over {FORM_LIMIT:,} bytes")
    async with request.form(max_files=0, max_fields=50) as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


def _user(request: Request) -> str | None:
    session = getattr(request.state, "session", None)
    return getattr(session, "user", None)
