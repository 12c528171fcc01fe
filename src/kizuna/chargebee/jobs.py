"""``kizuna chargebee backfill``: today's coupons, item prices, customers, subscriptions and invoices read from
Chargebee's list API through its own Python library (``chargebee``).

Paged by ``next_offset`` (Chargebee's opaque page token), one page per transaction: its rows and the stream's cursor
(the offset of the next page) commit together, so a back-fill killed mid-way resumes at the first page it had not
committed and ends with exactly the rows a clean run gives.

Retries are ours, not the library's: its retry loop (``RetryConfig``) retries a 429 without limit and reads
``Retry-After`` from an attribute its errors do not have. A 429 waits Chargebee's ``Retry-After`` (seconds; at most
``MAX_WAIT_SECONDS``), a 5xx (Chargebee's JSON, or a proxy's page the library cannot read) a dropped connection
or a request unanswered after ``READ_TIMEOUT_SECONDS`` waits 1, 2, 4 ... s; ``TRIES`` tries in all, then the run fails
naming Chargebee's ``api_error_code``, keeping what was committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

import chargebee
from kizuna.chargebee import service
from kizuna.connectors import credentials
from kizuna.connectors import service as connectors
from kizuna.connectors.jobs import finish_run
from kizuna.connectors.models import ConnectorRun
from kizuna.connectors.service import RunLog
from kizuna.errors import ExternalServiceError
from kizuna.runtime import Runtime
from kizuna.settings import Settings

log = logging.getLogger(__name__)

#: objects per page (Chargebee's maximum)
PAGE_SIZE = 100
#: tries of one request (the first and the retries)
TRIES = 6
#: the longest wait, whatever Retry-After says
MAX_WAIT_SECONDS = 120.0
#: how long to wait for Chargebee to connect, and for an answer (a request unanswered then is tried again)
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 60.0
#: a stream's cursor once it was read to its end, until the whole back-fill ends
DONE = "done"


@dataclass
class Backoff:
    """How long to wait before a retry; ``sleep`` and ``base_seconds`` are the tests' to shorten."""

    base_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)

    def wait(self, seconds: float) -> None:
        seconds = min(seconds, MAX_WAIT_SECONDS)
        self.waits.append(seconds)
        self.sleep(seconds)


def client_of(settings: Settings, *, read_timeout_seconds: float = READ_TIMEOUT_SECONDS) -> chargebee.Chargebee:
    """A Chargebee client for the connected site (``api_base``: a proxy or a test peer instead of
    ``https://<site>.chargebee.com``; the library speaks HTTPS only)."""
    values = credentials.require(settings, service.VENDOR, "site", "api_key")
    client = chargebee.Chargebee(
        api_key=values["api_key"],
        site=values["site"],
        connection_time_out=CONNECT_TIMEOUT_SECONDS,
        read_time_out=read_timeout_seconds,
    )
    base = values.get("api_base")
    if base:
        parts = urlsplit(base)
        client.env.protocol = parts.scheme or "https"
        client.env.api_endpoint = f"{base.rstrip('/')}/api/{client.env.API_VERSION}"
    return client


def _streams(client: chargebee.Chargebee) -> list[tuple[str, str, Callable[..., Any]]]:
    """Each stream: its name, the object type in its list entries, its list call (in the order rows depend on
    each other)."""
    return [
        ("coupons", "coupon", client.Coupon.list),
        ("item_prices", "item_price", client.ItemPrice.list),
        ("customers", "customer", client.Customer.list),
        ("subscriptions", "subscription", client.Subscription.list),
        ("invoices", "invoice", client.Invoice.list),
    ]


#: how the library words an answer that was not JSON (a proxy's HTML 502, say): a bare Exception naming the status
_PLAIN_STATUS = re.compile(r"http_status_code:\s*(\d{3})")


class NotJSON(Exception):
    """An answer that was not Chargebee's JSON, with the status the library read from it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.http_code = status


def _status_of(exc: Exception) -> int | None:
    """The HTTP status of a failed call (None: no answer at all)."""
    if isinstance(exc, (chargebee.APIError, NotJSON)):
        return int(exc.http_code)
    return None


def _once(list_call: Callable[..., Any], params: dict[str, Any]) -> Any:
    try:
        return list_call(params)
    except (chargebee.APIError, httpx.TransportError):
        raise
    except Exception as exc:  # the library's error for a body that is not JSON
        found = _PLAIN_STATUS.search(str(exc))
        if found is None:
            raise
        raise NotJSON(str(exc).split("\n")[0], int(found.group(1))) from exc


def _retry_after(exc: Exception) -> float | None:
    headers = getattr(exc, "http_headers", None) or {}
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


def call(list_call: Callable[..., Any], params: dict[str, Any], *, backoff: Backoff, run_log: RunLog) -> Any:
    """``list_call(params)``, tried again after a 429 (its Retry-After), a 5xx or a dropped connection."""
    for attempt in range(1, TRIES + 1):
        try:
            return _once(list_call, params)
        except (chargebee.APIError, NotJSON, httpx.TransportError) as exc:
            status = _status_of(exc)
            retryable = status is None or status == 429 or status >= 500
            if not retryable or attempt == TRIES:
                raise
            run_log.count("retries")
            after = _retry_after(exc) if status == 429 else None
            backoff.wait(after if after is not None else backoff.base_seconds * 2 ** (attempt - 1))
            log.info("chargebee: %s, try %s of %s", status or type(exc).__name__, attempt + 1, TRIES)
    raise AssertionError("unreachable")  # pragma: no cover


def backfill(
    runtime: Runtime,
    *,
    client: chargebee.Chargebee,
    actor: str,
    page_size: int = PAGE_SIZE,
    backoff: Backoff | None = None,
) -> ConnectorRun:
    """Read every stream from where it stopped to its end; the run (counts, rejects) is in the connectors' run log."""
    backoff = backoff or Backoff()
    with runtime.transaction(write=True) as session:
        run = connectors.start_run(session, vendor=service.VENDOR, kind="backfill")
        run_id = run.id
    run_log = RunLog()
    try:
        for stream, kind, list_call in _streams(client):
            _backfill_stream(runtime, stream, kind, list_call, page_size=page_size, backoff=backoff, run_log=run_log)
        with runtime.transaction(write=True) as session:
            for stream, _, _ in _streams(client):  # the next back-fill reads everything again
                connectors.save_cursor(session, vendor=service.VENDOR, stream=f"backfill:{stream}", position=None)
    except chargebee.APIError as exc:
        message = f"Chargebee refused the back-fill: {exc} ({exc.api_error_code}, HTTP {exc.http_code})"
        finish_run(runtime, run_id, run_log, actor=actor, error=message)
        raise ExternalServiceError(message, vendor=service.VENDOR, code=exc.api_error_code) from exc
    except NotJSON as exc:
        message = f"Chargebee's address answered HTTP {exc.http_code} without Chargebee's JSON: {exc}"
        finish_run(runtime, run_id, run_log, actor=actor, error=message)
        raise ExternalServiceError(message, vendor=service.VENDOR) from exc
    except httpx.TransportError as exc:
        message = f"Chargebee did not answer: {type(exc).__name__}: {exc}"
        finish_run(runtime, run_id, run_log, actor=actor, error=message)
        raise ExternalServiceError(message, vendor=service.VENDOR) from exc
    except BaseException as exc:
        finish_run(runtime, run_id, run_log, actor=actor, error=f"{type(exc).__name__}: {exc}")
        raise
    return finish_run(runtime, run_id, run_log, actor=actor, error=None)


def _apply_page(session: Session, kind: str, objects: list[dict[str, Any]], *, on: dt.date, run_log: RunLog) -> None:
    for obj in objects:
        service.apply_object(session, kind, obj, on=on, log=run_log)


def _backfill_stream(
    runtime: Runtime,
    stream: str,
    kind: str,
    list_call: Callable[..., Any],
    *,
    page_size: int,
    backoff: Backoff,
    run_log: RunLog,
) -> None:
    cursor_name = f"backfill:{stream}"
    with runtime.transaction() as session:
        offset = connectors.cursor(session, vendor=service.VENDOR, stream=cursor_name)
    if offset == DONE:
        return
    while True:
        params: dict[str, Any] = {"limit": page_size, **({"offset": offset} if offset else {})}
        read_on = dt.datetime.now(dt.UTC).date()
        page = call(list_call, params, backoff=backoff, run_log=run_log)
        objects = [dict(getattr(entry, kind).raw_data) for entry in page.list]
        offset = page.next_offset or DONE
        with runtime.transaction(write=True) as session:
            _apply_page(session, kind, objects, on=read_on, run_log=run_log)
            connectors.save_cursor(session, vendor=service.VENDOR, stream=cursor_name, position=offset)
        log.info("chargebee back-fill: %s page of %s read", stream, len(objects))
        if offset == DONE:
            return
