"""The pages a person opens in a browser. Today the API tester (static HTML + JS that asks for the
token at run time and never embeds one); the workbench's pages join this router."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter(tags=["pages"])


@router.get("/tester", response_class=HTMLResponse, summary="The API tester page")
async def tester() -> HTMLResponse:
    return HTMLResponse(_static("tester.html"))


def _static(name: str) -> str:
    return resources.files("critic").joinpath("static", name).read_text(encoding="utf-8")
