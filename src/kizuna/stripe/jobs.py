"""``kizuna stripe backfill``: today's customers, prices, subscriptions and invoices read from Stripe's list API.

Paged by ``starting_after`` (what the library's auto-paging does), one page per transaction: its rows and the
stream's cursor (the page's last id) commit together, so a back-fill killed mid-way resumes after the last page it
committed and ends with exactly the rows a clean run gives. 429 and 5xx are retried by the library itself
(``max_network_retries``, honouring ``Stripe-Should-Retry``); an error left after the retries fails the run, keeping
what was committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

import stripe
from kizuna.connectors import credentials
from kizuna.connectors import service as connectors
from kizuna.connectors.jobs import finish_run
from kizuna.connectors.models import ConnectorRun
from kizuna.connectors.service import RunLog
from kizuna.errors import ExternalServiceError
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.stripe import service

log = logging.getLogger(__name__)

#: objects per page (Stripe's maximum)
PAGE_SIZE = 100
#: the library's own retries of 429, 409 and 5xx (with its back-off)
NETWORK_RETRIES = 4
#: a stream's cursor once it was read to its end, until the whole back-fill ends
DONE = "done"


def client_of(settings: Settings, *, max_network_retries: int = NETWORK_RETRIES) -> stripe.StripeClient:
    """A StripeClient with the connected account's key (``api_base``: a proxy or a test peer instead of Stripe's)."""
    values = credentials.require(settings, service.VENDOR, "api_key")
    base = values.get("api_base")
    return stripe.StripeClient(
        values["api_key"],
        base_addresses={"api": base} if base else None,
        max_network_retries=max_network_retries,
    )


def _streams(client: stripe.StripeClient) -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    """Each stream: its name, its list call and the call's parameters (in the order rows depend on each other)."""
    return [
        ("coupons", client.v1.coupons.list, {}),
        ("customers", client.v1.customers.list, {}),
        ("prices", client.v1.prices.list, {"expand": ["data.product"], "type": "recurring"}),
        (
            "subscriptions",
            client.v1.subscriptions.list,
            {"status": "all", "expand": ["data.discounts", "data.items.data.discounts"]},
        ),
        ("invoices", client.v1.invoices.list, {}),
    ]


def _apply(session: Session, stream: str, obj: Mapping[str, Any], *, at: int, run_log: RunLog) -> None:
    if not service.is_newer(session, str(obj["id"]), at):
        run_log.count("ignored")  # a webhook newer than this read has already been applied
        return
    if stream == "coupons":
        service.apply_coupon(session, obj, log=run_log)
    elif stream == "customers":
        service.apply_customer(session, obj, log=run_log)
    elif stream == "prices":
        service.apply_price(session, obj, log=run_log)
    elif stream == "subscriptions":
        service.apply_subscription(session, obj, on=service.day_of(at) or dt.date.today(), log=run_log)
    else:
        service.apply_invoice(session, obj, log=run_log)


def backfill(
    runtime: Runtime,
    *,
    client: stripe.StripeClient,
    actor: str,
    page_size: int = PAGE_SIZE,
) -> ConnectorRun:
    """Read every stream from where it stopped to its end; the run (counts, rejects) is in the connectors' run log."""
    with runtime.transaction(write=True) as session:
        run = connectors.start_run(session, vendor=service.VENDOR, kind="backfill")
        run_id = run.id
    run_log = RunLog()
    try:
        for stream, list_call, params in _streams(client):
            _backfill_stream(runtime, stream, list_call, params, page_size=page_size, run_log=run_log)
        with runtime.transaction(write=True) as session:
            for stream, _, _ in _streams(client):  # the next back-fill reads everything again
                connectors.save_cursor(session, vendor=service.VENDOR, stream=f"backfill:{stream}", position=None)
    except stripe.StripeError as exc:
        message = f"Stripe refused the back-fill: {exc.user_message or exc} (request {exc.request_id})"
        finish_run(runtime, run_id, run_log, actor=actor, error=message)
        raise ExternalServiceError(message, vendor=service.VENDOR, request_id=exc.request_id) from exc
    except BaseException as exc:
        finish_run(runtime, run_id, run_log, actor=actor, error=f"{type(exc).__name__}: {exc}")
        raise
    return finish_run(runtime, run_id, run_log, actor=actor, error=None)


def _backfill_stream(
    runtime: Runtime,
    stream: str,
    list_call: Callable[..., Any],
    params: dict[str, Any],
    *,
    page_size: int,
    run_log: RunLog,
) -> None:
    cursor_name = f"backfill:{stream}"
    with runtime.transaction() as session:
        after = connectors.cursor(session, vendor=service.VENDOR, stream=cursor_name)
    if after == DONE:
        return
    while True:
        query = {**params, "limit": page_size, **({"starting_after": after} if after else {})}
        read_at = int(time.time())
        page = list_call(query)
        objects = [obj.to_dict() for obj in page.data]
        with runtime.transaction(write=True) as session:
            for obj in objects:
                _apply(session, stream, obj, at=read_at, run_log=run_log)

            after = str(objects[-1]["id"]) if objects and page.has_more else DONE
            connectors.save_cursor(session, vendor=service.VENDOR, stream=cursor_name, position=after)
        log.info("stripe back-fill: %s page of %s read", stream, len(objects))
        if after == DONE:
            return
