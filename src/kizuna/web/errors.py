"""One handler maps kizuna's exception tree to HTTP: JSON for the API, an HTML page or the login redirect for pages.

The JSON error bodies are documented in the OpenAPI spec here too (:func:`document_errors`), for every operation of the
API at once, so that no route can forget them."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kizuna.db import is_contention
from kizuna.errors import KizunaError, NotAuthenticated
from kizuna.platform.web.templating import render

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/v1/")
#: machine peers' endpoints outside the documented API (vendors' webhooks): their errors are JSON too
MACHINE_PREFIXES = (*API_PREFIXES, "/webhooks/", "/slack/")  # peers that never read HTML: Stripe, Slack


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(MACHINE_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "text/html" not in accept and "application/json" in accept


class ErrorJSON(JSONResponse):
    """An error body in JSON with every non-ASCII character escaped: what a client sent is echoed back, and a lone
    surrogate (``"\\ud800"``, valid JSON, not valid UTF-8) must not turn a 400 into a 500."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


class ErrorBody(BaseModel):
    """The body of every JSON error answer but a validation error's (the ``ErrorJSON`` the handlers send)."""

    error: str = Field(description="The kind of error: InvalidInput, NotFound, Conflict, NotAuthenticated, ...")
    message: str = Field(description="What went wrong, in words; names the field or value where known.")
    context: dict[str, str | int | float | bool | None] = Field(description="The values the message is about.")


class FieldError(BaseModel):
    """One field that failed validation."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field's path.")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None
    url: str | None = None


class ValidationErrorBody(BaseModel):
    """The body of a 422: the request's shape or types are wrong (the first error is the message)."""

    error: str = Field(description="Always InvalidInput.")
    message: str
    detail: list[FieldError]


#: the error answers an API operation may give; writes (POST, PUT, PATCH, DELETE) may also clash (409)
API_ERRORS: dict[int, str] = {
    400: "Invalid input: a value the service refuses (the message names it)",
    401: "No valid API key or session",
    403: "The caller lacks the role or scope",
    404: "Not found: an id in the request, or something the answer needs (a KPI snapshot, a trained model)",
    422: "The request's shape or types are wrong (the detail names each field)",
}
WRITE_ERRORS: dict[int, str] = {409: "Conflict: the write clashes with the current state (a duplicate, a stale call)"}
#: the tracking API (Segment's shape) authenticates with a write key and looks nothing up by id
TRACKING_ERRORS: dict[int, str] = {
    400: "Invalid message or body encoding",
    401: "Missing or unknown write key",
    403: "The key lacks the ingest scope",
    422: "The message's shape or types are wrong (the detail names each field)",
}


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
    """A value the database cannot hold (a huge id, an over-long text on PostgreSQL): the caller's mistake, not a
    server error. Every route bounds what it takes (a 422 naming the field, tests/web/test_api_contract.py); this is
    the safety net for any that does not, and says which kind of value it was."""
    log.warning("value the database refused on %s %s: %s", request.method, request.url.path, exc)
    problem = str(getattr(exc, "orig", exc)).lower()
    if "too long" in problem:
        message = "a text in the request is longer than the database holds"
    elif "null character" in problem or "0x00" in problem:
        message = "a text in the request holds a NUL character"
    else:
        message = "a number in the request is out of range"
    return _error_response(request, 400, "InvalidInput", message, {})


#: seconds a client is asked to wait when the database was busy (a refresh step or an import holding SQLite's lock)
BUSY_RETRY_AFTER = 5


async def handle_database_busy(request: Request, exc: Exception) -> Response:
    """Another writer held the database past the busy timeout (a refresh step, an import): not a bug and not the
    caller's fault -- 503 with ``Retry-After``, which tracking clients (Segment's, RudderStack's) retry. Any other
    operational error is a server error, raised on."""
    if not is_contention(exc):
        raise exc
    log.warning("database busy on %s %s: %s", request.method, request.url.path, getattr(exc, "orig", exc))
    message = "the database is busy with another writer; try again in a few seconds"
    headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
    if wants_json(request):
        return ErrorJSON({"error": "Busy", "message": message, "context": {}}, status_code=503, headers=headers)
    response = render(request, "error.html", {"status": 503, "kind": "Busy", "message": message}, status_code=503)
    response.headers.update(headers)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(KizunaError, handle_kizuna_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(OverflowError, handle_out_of_range)
    app.add_exception_handler(sqlalchemy.exc.DataError, handle_out_of_range)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, handle_database_busy)


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers to every operation of the API (``/api/`` and ``/v1/``) of the OpenAPI ``spec``, with
    their JSON body's schema; changes ``spec`` in place and returns it."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, ValidationErrorBody):
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[model.__name__] = found
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith(API_PREFIXES):
            continue
        for method, operation in operations.items():
            codes = dict(TRACKING_ERRORS) if path.startswith("/v1/") else dict(API_ERRORS)
            if method in ("post", "put", "patch", "delete") and not path.startswith("/v1/"):
                codes.update(WRITE_ERRORS)
            responses = operation.setdefault("responses", {})
            for code, description in sorted(codes.items()):
                body = ValidationErrorBody if code == 422 else ErrorBody
                responses[str(code)] = {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}},
                }
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body; ours replaced it everywhere
        if not any(unused in json.dumps(op) for ops in spec.get("paths", {}).values() for op in ops.values()):
            schemas.pop(unused, None)
    return spec
