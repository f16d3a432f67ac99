"""The texts of a prediction request, from a form (multipart or urlencoded; `curl -F`) or a JSON
body, read within the size limits. Written by hand rather than as a FastAPI body parameter because
one route takes both kinds and the text's field name is each deployment's own; the schema that
/docs shows for it comes from `critic.serve.schemas`."""

from __future__ import annotations

import json

from fastapi import Request
from starlette.datastructures import UploadFile

from critic.errors import ApiError
from critic.serve.settings import ServeSettings

__all__ = ["FORM_TYPES", "read_texts"]

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_texts(
    request: Request, input_name: str, settings: ServeSettings
) -> tuple[list[str], bool]:
    """(texts, single?) from a form or JSON body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (*FORM_TYPES, "application/json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send multipart/form-data or application/x-www-form-urlencoded with the "
            f'field {input_name!r}, or application/json {{"{input_name}": "..."}}'
            f" (got {kind or 'no content type'!r})",
        )
    body = await _body(request, settings.max_body_bytes)
    if kind == "application/json":
        return _json_texts(body, input_name, settings)
    return await _form_texts(request, body, input_name)


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
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def _form_texts(request: Request, body: bytes, input_name: str) -> tuple[list[str], bool]:
    async def receive() -> (
        dict
    ):  # the body was read already (within the limit): parse it from memory
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, receive).form()
    except Exception as exc:  # a malformed multipart body; python-multipart raises several types
        raise ApiError(
            422,
            "malformed_form",
            f'the form body could not be parsed ({exc}); `curl -F "{input_name}=..."` sends a valid one',
        ) from None
    if input_name not in form:
        raise ApiError(
            422,
            "missing_field",
            f"the form has no field {input_name!r} (got {sorted(form.keys())}); send the text as "
            f'`-F "{input_name}=..."`',
        )
    texts = [await _form_text(v, input_name) for v in form.getlist(input_name)]
    return [_non_empty(t, input_name) for t in texts], len(texts) == 1


async def _form_text(value, input_name: str) -> str:
    if isinstance(value, UploadFile):  # curl -F "review=@file.txt"
        try:
            return (await value.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(
                422, "not_utf8", f"the file sent as {input_name!r} is not UTF-8 text"
            ) from None
    return value


def _json_texts(body: bytes, input_name: str, settings: ServeSettings) -> tuple[list[str], bool]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(
            422,
            "malformed_json",
            f'the body is not valid JSON ({exc.__class__.__name__}: {exc}); send {{"{input_name}": "..."}}',
        ) from None
    if isinstance(data, dict) and "rows" in data:
        rows = data["rows"]
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise ApiError(
                422,
                "malformed_batch",
                f'"rows" must be a non-empty list of objects like {{"{input_name}": "..."}}',
            )
        if len(rows) > settings.max_batch:
            raise ApiError(
                413,
                "batch_too_large",
                f"{len(rows):,} rows in one request; send at most {settings.max_batch:,} "
                f"per request (the limit is CRITIC_MAX_BATCH)",
            )
        return [_json_text(r, input_name, f"rows[{i}]") for i, r in enumerate(rows)], False
    if not isinstance(data, dict):
        raise ApiError(
            422,
            "malformed_json",
            f'send a JSON object {{"{input_name}": "..."}} or {{"rows": [...]}}',
        )
    return [_json_text(data, input_name, "the body")], True


def _json_text(row: dict, input_name: str, where: str) -> str:
    if input_name not in row:
        raise ApiError(
            422,
            "missing_field",
            f"{where} has no field {input_name!r} (got {sorted(row)}); this deployment "
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
