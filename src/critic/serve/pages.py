"""The pages a person opens in a browser. Today the API tester (static HTML, its script and its
stylesheet as files, which asks for the token at run time and never embeds one, under a CSP that
allows no inline script or style); the workbench's pages join this router."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from critic.errors import ApiError

__all__ = ["router", "TESTER_HEADERS"]

router = APIRouter(tags=["pages"])
TESTER_HEADERS = {
    # its own script and stylesheet only; it may call a critic server elsewhere (the URL typed in)
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' http: https:; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_FILES = {"tester.js": "text/javascript; charset=utf-8", "tester.css": "text/css; charset=utf-8"}


@router.get("/tester", response_class=HTMLResponse, summary="The API tester page")
async def tester() -> HTMLResponse:
    return HTMLResponse(_static("tester.html"), headers=TESTER_HEADERS)


@router.get("/tester/{name}", include_in_schema=False)
async def tester_file(name: str) -> Response:
    """The tester's script and stylesheet (an API-only server has no /static)."""
    if name not in _FILES:
        raise ApiError(404, "not_found", f"the tester has no file {name[:80]!r}")
    return Response(_static(name), media_type=_FILES[name], headers=TESTER_HEADERS)


def _static(name: str) -> str:
    return resources.files("critic").joinpath("static", name).read_text(encoding="utf-8")
