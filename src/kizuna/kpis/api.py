"""REST API of the KPI snapshots (``/api/v1/kpis``): what ``kizuna kpi`` shows, for BI tools and other systems.

Reads the snapshot stored by ``kizuna refresh`` (never recomputes): monthly series in long format, tabular results
(cohort matrices, funnel, ...) as records, and one account's latest metrics. Undefined values are ``null``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from kizuna.errors import NotFound
from kizuna.kpis import service
from kizuna.platform.web.deps import DbSession, Id

router = APIRouter(prefix="/api/v1", tags=["kpis"])


@router.get("/kpis", summary="The stored snapshots and the KPI names of one (latest on or before as_of)")
def kpis(as_of: dt.date | None = None, session: Session = DbSession) -> dict[str, Any]:
    day = service.resolve_as_of(session, as_of)
    return {
        "as_of": day,
        "names": service.metric_names(session, as_of=day),
        "snapshots": service.snapshot_dates(session),
    }


@router.get("/kpis/{name}", summary="One KPI: a monthly series (per currency, optionally by a breakdown) or a table")
def kpi(
    name: str = Path(max_length=100),
    as_of: dt.date | None = None,
    by: str | None = Query(
        None, max_length=64, description="plan, industry, region, owner_id, touch_tier, employee_band, ..."
    ),
    currency: str | None = Query(None, max_length=3),
    session: Session = DbSession,
) -> dict[str, Any]:
    day = service.resolve_as_of(session, as_of)
    series = service.load_kpi(session, names=[name], as_of=day, by=by, currency=currency)
    if not series.empty:
        rows = [
            {
                "month": r.month,
                "currency": r.currency,
                "dimension_value": r.dimension_value,
                "value": None if math.isnan(r.value) else r.value,
            }
            for r in series.itertuples()
        ]
        return {"name": name, "kind": "series", "as_of": day, "by": by or "", "rows": rows}
    if (by or currency) and not service.load_kpi(session, names=[name], as_of=day).empty:
        raise NotFound(f"KPI {name!r} has no rows for by={by!r} currency={currency!r}", name=name, by=by)
    table = service.load_table(session, name=name, as_of=day)  # NotFound names the unknown KPI
    return {"name": name, "kind": "table", "as_of": day, "rows": table.to_dict("records")}


@router.get("/accounts/{account_id}/metrics", summary="An account's latest metrics (MRR, usage, onboarding, voice)")
def account_metrics(account_id: Id, session: Session = DbSession) -> dict[str, Any]:
    row = service.account_metrics_of(session, account_id)
    if row is None:
        raise NotFound(f"no metrics for account {account_id}: run `kizuna refresh`", account_id=account_id)
    return row
