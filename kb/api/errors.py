"""Every error the API returns is JSON that names the field at fault, never a traceback.

The body follows OpenAI's error shape, so OpenAI clients show the message as it is::

    {"error": {"message": "k: must be at most 50", "type": "invalid_request_error",
               "code": "invalid_value", "field": "k", "param": "k"}}

``field`` (and ``param``, its OpenAI name) is a dotted path into the request (``filters.city``),
``body`` for the body as a whole, or null when no field is at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("kb.api")

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error with its status, a short code, a message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_body(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error"),
            "code": code,
            "field": field,
            "param": field,
        }
    }


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(
        error_body(status, code, message, field), status_code=status, headers=headers
    )


def field_path(loc: Sequence[Any], prefixed: bool = True) -> str:
    """``("body", "filters", "city", 0)`` -> ``filters.city[0]``; the body itself -> ``body``.

    FastAPI's locations start with where the value came from (body, query, path, header);
    a model validated by hand (``prefixed=False``) has no such first element.
    """
    parts = list(loc)
    if prefixed and parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "body"


def _message(err: dict[str, Any]) -> tuple[int, str, str]:
    """(status, code, message) for one pydantic error."""
    kind = err.get("type", "")
    if kind == "json_invalid":
        return (
            400,
            "malformed_json",
            "the body is not valid JSON: "
            + str(err.get("ctx", {}).get("error", err.get("msg", ""))),
        )
    if kind == "extra_forbidden":
        return 422, "unknown_field", "unknown field"
    if kind == "missing":
        return 422, "missing_field", "required field is missing"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return 422, "invalid_type", "must be a JSON object"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return 422, "invalid_value", msg


# which problem to report first when there are several: the body, then unknown fields
_FIRST = {"json_invalid": 0, "extra_forbidden": 1}


def validation_error(errors: Sequence[dict[str, Any]], prefixed: bool = True) -> ApiError:
    """The most telling problem of a failed validation, as an :class:`ApiError`."""
    ranked = sorted(errors, key=lambda e: _FIRST.get(str(e.get("type")), 2))
    err = dict(ranked[0]) if ranked else {"type": "invalid", "loc": (), "msg": "invalid request"}
    loc = err.get("loc", ())
    status, code, message = _message(err)
    field = "body" if code == "malformed_json" else field_path(loc, prefixed)
    return ApiError(status, code, f"{field}: {message}", field)


def install(app: FastAPI) -> None:
    """Route every failure through :func:`error_response`."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = validation_error(list(exc.errors()))
        return error_response(err.status, err.code, err.message, err.field)

    @app.exception_handler(ValidationError)
    async def _model_invalid(_: Request, exc: ValidationError) -> JSONResponse:
        err = validation_error(list(exc.errors()), prefixed=False)
        return error_response(err.status, err.code, err.message, err.field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message, field = {
            404: ("not_found", "no such endpoint: see /docs", None),
            405: ("method_not_allowed", "method not allowed", None),
            413: ("too_large", str(exc.detail), "body"),
        }.get(exc.status_code, ("http_error", str(exc.detail), None))
        return error_response(exc.status_code, code, message, field)


class CatchAll:
    """A JSON 500 for any unexpected exception, the traceback to the server's log only.

    Starlette's own last-resort handler answers too but then re-raises, and uvicorn closes the
    connection: a client reusing it for its next request would see a reset. Here the exception
    ends with the response, and the connection stays usable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # a stream already under way cannot become an error: it just ends
                return
            body = error_body(500, "internal_error", "internal error: see the server's log")
            await JSONResponse(body, status_code=500)(scope, receive, send)
