"""One handler maps kizuna's exception tree to HTTP: JSON for the API, an HTML page or the login redirect for pages."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kizuna.errors import KizunaError, NotAuthenticated
from kizuna.platform.web.templating import render

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/v1/")


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "text/html" not in accept and "application/json" in accept


class ErrorJSON(JSONResponse):
    """An error body in JSON with every non-ASCII character escaped: what a client sent is echoed back, and a lone
    surrogate (``"\\ud800"``, valid JSON, not valid UTF-8) must not turn a 400 into a 500."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _json_safe(context: dict[str, object]) -> dict[str, object]:
    return {k: v if isinstance(v, str | int | float | bool) or v is None else str(v) for k, v in context.items()}


def _error_response(request: Request, status: int, kind: str, message: str, context: dict[str, object]) -> Response:
    if wants_json(request):
        headers = {"WWW-Authenticate": 'Bearer realm="kizuna"'} if status == 401 else None
        return ErrorJSON(
            {"error": kind, "message": message, "context": _json_safe(context)}, status_code=status, headers=headers
        )
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return render(request, "error.html", {"status": status, "kind": kind, "message": message}, status_code=status)


async def handle_kizuna_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KizunaError)
    if exc.status_code >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    status = 401 if isinstance(exc, NotAuthenticated) else exc.status_code
    return _error_response(request, status, type(exc).__name__, exc.message, exc.context)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _error_response(request, exc.status_code, "HTTPError", str(exc.detail), {})


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid input')}" if where else "invalid input"
    if wants_json(request):
        # FastAPI's own shape (the OpenAPI spec's HTTPValidationError): ``loc`` a list, ``msg``, ``type``, ``input``
        detail = jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("utf-8", "backslashreplace")})
        return ErrorJSON({"error": "InvalidInput", "message": message, "detail": detail}, status_code=422)
    return _error_response(request, 422, "InvalidInput", message, {})


async def handle_out_of_range(request: Request, exc: Exception) -> Response:
    """A number the database cannot hold (a huge id in a URL): the caller's mistake, not a server error. Routes bound
    their ids; this is the safety net for any that do not."""
    log.info("out-of-range value on %s %s: %s", request.method, request.url.path, exc)
    return _error_response(request, 400, "InvalidInput", "a number in the request is out of range", {})


def install(app: FastAPI) -> None:
    app.add_exception_handler(KizunaError, handle_kizuna_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(OverflowError, handle_out_of_range)
    app.add_exception_handler(sqlalchemy.exc.DataError, handle_out_of_range)
