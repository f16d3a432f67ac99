"""CORS for the prediction API only: a page served by another site (CRITIC_CORS_ORIGINS, e.g. an
API tester of its own) may call /v1/... from a browser with a deployment's token. Everything else,
the workbench above all (a control plane behind a cookie), gets no CORS header from any origin.

Starlette's `CORSMiddleware` does the work on /v1 paths; a refused preflight is answered as JSON,
like every other error."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

__all__ = ["install", "PREFIX"]

PREFIX = "/v1/"  # the prediction API's routes (critic.serve.api)
METHODS = ("GET", "POST")  # describe, predict
HEADERS = ("Authorization", "Content-Type")  # the token (Bearer), a JSON or form body


def install(app: FastAPI, origins: tuple[str, ...]) -> None:
    """Answer CORS on PREFIX for exactly `origins` (none: install nothing, CORS stays off)."""
    if origins:
        app.add_middleware(_ApiCORS, allow_origins=list(origins))


class _ApiCORS(CORSMiddleware):
    """CORSMiddleware on PREFIX paths; other paths pass by untouched."""

    def __init__(self, app, allow_origins: list[str]):
        super().__init__(
            app,
            allow_origins=allow_origins,
            allow_methods=METHODS,
            allow_headers=HEADERS,
            allow_credentials=False,  # the token travels in a header; no cookie is ever needed
            expose_headers=("WWW-Authenticate",),
            max_age=600,
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        # Starlette says "Disallowed CORS origin" in plain text; the API's errors are JSON
        return JSONResponse(
            {
                "error": "cors_refused",
                "message": answer.body.decode(errors="replace")
                + "; allowed origins are set with CRITIC_CORS_ORIGINS (critic serve --cors-origin)",
            },
            status_code=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k.lower() == "vary"},
        )
