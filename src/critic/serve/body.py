"""The texts of a prediction request, from a form (multipart or urlencoded; `curl -F`) or a JSON
body, read within the limits: body size (CRITIC_MAX_BODY_BYTES), texts per request
(CRITIC_MAX_BATCH) and JSON nesting (CRITIC_MAX_JSON_DEPTH, checked before the body is parsed).
Written by hand rather than as a FastAPI body parameter because one route takes both kinds and the
text's field name is each deployment's own; the schema that /docs shows for it comes from
`critic.serve.schemas`. Whatever the body, the answer is texts or an ApiError (4xx), never a 500.

Beside the texts, a body may ask for explanations: `"explain": true` (JSON, at the top level of a
single text or a batch) or `explain=1` (a form), and `"explain_class": "CLASS"` for a class other
than the predicted one (it implies `explain`). Texts explained per request are limited too
(CRITIC_MAX_EXPLAIN): an explanation costs up to a few dozen forward passes."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect

from critic import safejson
from critic.errors import ApiError, JSONTooDeep, UnsafeJSON
from critic.serve.settings import ServeSettings

__all__ = ["FORM_TYPES", "EXPLAIN", "EXPLAIN_CLASS", "PredictBody", "read_body"]

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
EXPLAIN, EXPLAIN_CLASS = "explain", "explain_class"  # the options' field names
_FORM_SWITCH = {"1": True, "true": True, "on": True, "yes": True}
_FORM_SWITCH |= {"0": False, "false": False, "off": False, "no": False, "": False}


@dataclass(frozen=True)
class PredictBody:
    texts: list[str]
    single: bool  # one text (answered as one prediction) rather than a batch
    explain: bool = False
    explain_class: str | None = None  # None: each text's predicted class


async def read_body(request: Request, input_name: str, settings: ServeSettings) -> PredictBody:
    """The texts and the options of a form or JSON body."""
    kind = _media_type(request, input_name)
    body = await _body(request, settings.max_body_bytes)
    if kind == "application/json":
        found = _json_body(body, input_name, settings)
    else:
        found = await _form_body(request, body, input_name, settings.max_batch)
    if found.explain:
        _check_explain(len(found.texts), settings.max_explain)
    return found


def _check_explain(count: int, limit: int) -> None:
    if count > limit:
        raise ApiError(
            413,
            "explain_too_large",
            f"{count:,} texts to explain in one request; explain at most {limit:,} per request "
            f"(the limit is CRITIC_MAX_EXPLAIN), or leave out explain",
        )


def _options(explain, explain_class, switch) -> tuple[bool, str | None]:
    """(explain?, class) from the raw values; `switch` reads the explain value."""
    on = switch(explain) if explain is not None else None
    if explain_class is not None:
        if not isinstance(explain_class, str) or not 0 < len(explain_class) <= 200:
            raise ApiError(
                422, "invalid_explain_class", f"{EXPLAIN_CLASS!r} must be a class name (a string)"
            )
        if on is False:
            raise ApiError(
                422,
                "invalid_explain",
                f"{EXPLAIN_CLASS!r} asks for an explanation but {EXPLAIN!r} is off; drop one of them",
            )
        on = True
    return bool(on), explain_class


def _json_switch(value) -> bool:
    if not isinstance(value, bool):
        raise ApiError(422, "invalid_explain", f"{EXPLAIN!r} must be true or false (JSON booleans)")
    return value


def _form_switch(value) -> bool:
    if not isinstance(value, str) or value.strip().lower() not in _FORM_SWITCH:
        raise ApiError(422, "invalid_explain", f"{EXPLAIN!r} must be 1 or 0 (or true / false)")
    return _FORM_SWITCH[value.strip().lower()]


def _media_type(request: Request, input_name: str) -> str:
    """The body's media type (form or JSON), or 415; a compressed body is refused, not inflated."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (*FORM_TYPES, "application/json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send multipart/form-data or application/x-www-form-urlencoded with the "
            f'field {input_name!r}, or application/json {{"{input_name}": "..."}}'
            f" (got {kind or 'no content type'!r})",
        )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ApiError(
            415,
            "unsupported_encoding",
            f"the body is sent with Content-Encoding {encoding!r}; send it uncompressed "
            f"(the server does not inflate request bodies)",
        )
    return kind


async def _body(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it passes `limit` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    too_big = ApiError(
        413,
        "body_too_large",
        f"the request body is over {limit:,} bytes; send shorter texts or smaller "
        f"batches (the limit is CRITIC_MAX_BODY_BYTES)",
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:  # the client left mid-body (or its Content-Length promised more)
        raise ApiError(
            400, "incomplete_body", "the connection closed before the whole body arrived"
        ) from None
    return b"".join(chunks)


def _check_batch(count: int, limit: int, what: str) -> None:
    """413 when one request holds more than `limit` texts (JSON rows, or form fields of one name)."""
    if count > limit:
        raise ApiError(
            413,
            "batch_too_large",
            f"{count:,} {what} in one request; send at most {limit:,} "
            f"per request (the limit is CRITIC_MAX_BATCH)",
        )


async def _form_body(request: Request, body: bytes, input_name: str, max_batch: int) -> PredictBody:
    form = await _parse_form(request, body, input_name)
    try:
        options = _options(
            *(form.get(k) if k != input_name else None for k in (EXPLAIN, EXPLAIN_CLASS)),
            _form_switch,
        )
        if input_name not in form:
            raise ApiError(
                422,
                "missing_field",
                f"the form has no field {input_name!r} (got {sorted(form.keys())[:20]}); send the "
                f'text as `-F "{input_name}=..."`',
            )
        values = form.getlist(input_name)
        _check_batch(len(values), max_batch, f"{input_name!r} fields")
        texts = [await _form_text(v, input_name) for v in values]
    finally:
        await form.close()  # uploaded files are spooled to temporary files
    return PredictBody([_non_empty(t, input_name) for t in texts], len(texts) == 1, *options)


async def _parse_form(request: Request, body: bytes, input_name: str) -> FormData:
    # the body was read already (within the limit): parse it from memory
    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, receive).form()
    except Exception as exc:  # a malformed multipart body; python-multipart raises several types
        reason = getattr(exc, "detail", None) or exc  # starlette's HTTPException: its text alone
        raise ApiError(
            422,
            "malformed_form",
            f'the form body could not be parsed ({reason}); `curl -F "{input_name}=..."` sends a valid one',
        ) from None


async def _form_text(value, input_name: str) -> str:
    if isinstance(value, UploadFile):  # curl -F "review=@file.txt"
        try:
            return (await value.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(
                422, "not_utf8", f"the file sent as {input_name!r} is not UTF-8 text"
            ) from None
    return value


def _json_body(body: bytes, input_name: str, settings: ServeSettings) -> PredictBody:
    data = _parse_json(body, input_name, settings.max_json_depth)
    options = (
        _options(
            *(data.get(k) if k != input_name else None for k in (EXPLAIN, EXPLAIN_CLASS)),
            _json_switch,
        )
        if isinstance(data, dict)
        else (False, None)
    )
    if isinstance(data, dict) and "rows" in data:
        rows = data["rows"]
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise ApiError(
                422,
                "malformed_batch",
                f'"rows" must be a non-empty list of objects like {{"{input_name}": "..."}}',
            )
        _check_batch(len(rows), settings.max_batch, "rows")
        texts = [_json_text(r, input_name, f"rows[{i}]") for i, r in enumerate(rows)]
        return PredictBody(texts, False, *options)
    if not isinstance(data, dict):
        raise ApiError(
            422,
            "malformed_json",
            f'send a JSON object {{"{input_name}": "..."}} or {{"rows": [...]}}',
        )
    return PredictBody([_json_text(data, input_name, "the body")], True, *options)


def _parse_json(body: bytes, input_name: str, max_depth: int):
    """The body's JSON value, or 422 (not UTF-8, not JSON) or 413 (nested deeper than allowed)."""
    try:
        text = body.decode("utf-8-sig")  # RFC 8259: JSON travels as UTF-8 (a BOM is tolerated)
    except UnicodeDecodeError as exc:
        raise ApiError(
            422, "not_utf8", f"the body is not UTF-8 (byte {exc.start}); send JSON as UTF-8"
        ) from None
    try:
        return safejson.loads(text, max_depth)
    except JSONTooDeep as exc:
        raise ApiError(
            413,
            "json_too_deep",
            f'the JSON body is {exc}; a prediction body is {{"{input_name}": "..."}} or '
            f'{{"rows": [{{"{input_name}": "..."}}]}}',
        ) from None
    except UnsafeJSON as exc:
        raise ApiError(
            422,
            "malformed_json",
            f'the body is not valid JSON ({exc}); send {{"{input_name}": "..."}}',
        ) from None


def _json_text(row: dict, input_name: str, where: str) -> str:
    if input_name not in row:
        raise ApiError(
            422,
            "missing_field",
            f"{where} has no field {input_name!r} (got {sorted(row)[:20]}); this deployment "
            f"reads its text from {input_name!r}",
        )
    value = row[input_name]
    if not isinstance(value, str):
        raise ApiError(
            422, "not_text", f"{where}: {input_name!r} must be a string, got {type(value).__name__}"
        )
    return _non_empty(value, input_name, where)


def _non_empty(text: str, input_name: str, where: str = "the request") -> str:
    if not text.strip():
        raise ApiError(
            422, "empty_text", f"{where}: {input_name!r} is empty; send the text to classify"
        )
    return text
