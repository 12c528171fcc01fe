"""Write and read the KPI snapshots (``kpi_values``, ``kpi_tables``, ``account_metrics``).

Writes replace the snapshot of one as-of date in the caller's transaction (flush, never commit) and write one audit
row. Reads return pandas frames for pages, the CLI, health scores, playbooks and analysts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import NotFound
from kizuna.metrics.models import AccountMetrics, KpiTable, KpiValue

SERIES_COLUMNS = ("metric", "month", "currency", "dimension", "dimension_value", "value")
_INSERT_BATCH = 5_000


def _clean(value: Any) -> Any:
    """Plain Python values for the database and JSON (NaN/NaT -> None, numpy scalars -> Python, dates kept)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def _json_value(value: Any) -> Any:
    value = _clean(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of plain Python values (see :func:`_clean`), converted column by column."""
    columns = [_plain_column(frame[c]) for c in frame.columns]
    names = list(frame.columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _plain_column(column: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(column):
        return [None if v is pd.NaT else v.to_pydatetime() for v in column]
    if column.dtype == object:
        return [_clean(v) for v in column]
    # numbers and booleans: tolist() gives Python scalars; NaN / NA become None
    return column.astype(object).where(column.notna(), None).tolist()


def replace_snapshot(
    session: Session,
    *,
    actor: str,
    as_of: dt.date,
    series: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    accounts: pd.DataFrame,
) -> dict[str, int]:
    """Replace the KPI snapshot of ``as_of``: series rows, tabular results and the latest per-account metrics.

    ``series`` has ``SERIES_COLUMNS``; ``accounts`` has ``account_id`` and columns of ``account_metrics``.
    Returns the number of rows written per table.
    """
    now = utcnow()
    session.execute(delete(KpiValue).where(KpiValue.as_of == as_of))
    session.execute(delete(KpiTable).where(KpiTable.as_of == as_of))
    rows = _records(series.loc[:, list(SERIES_COLUMNS)])
    for row in rows:
        row.update(as_of=as_of, computed_at=now)
        row["currency"] = row["currency"] or ""
        row["dimension"] = row["dimension"] or ""
        row["dimension_value"] = "" if row["dimension_value"] is None else str(row["dimension_value"])
        if isinstance(row["month"], dt.datetime):
            row["month"] = row["month"].date()
    _bulk_insert(session, KpiValue, rows)
    _bulk_insert(
        session,
        KpiTable,
        [
            {"as_of": as_of, "name": name, "computed_at": now, "rows": _json_records(frame)}
            for name, frame in tables.items()
        ],
    )
    latest = session.scalar(select(func.max(AccountMetrics.as_of)))
    account_rows = 0
    if latest is None or as_of >= latest:  # an older as-of never overwrites newer per-account metrics
        session.execute(delete(AccountMetrics))
        known = {c.name for c in AccountMetrics.__table__.columns} - {"id"}
        frame = accounts.loc[:, [c for c in accounts.columns if c in known]]
        records = _records(frame)
        for row in records:
            row.update(as_of=as_of, computed_at=now)
            for key in ("cohort_month",):
                if isinstance(row.get(key), dt.datetime):
                    row[key] = row[key].date()
        _bulk_insert(session, AccountMetrics, records)
        account_rows = len(records)
    counts = {"kpi_values": len(rows), "kpi_tables": len(tables), "account_metrics": account_rows}
    record_audit(
        session,
        actor=actor,
        action="replace_snapshot",
        entity="kpi_snapshot",
        entity_id=as_of.isoformat(),
        after=counts,
    )
    session.flush()
    return counts


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, (_json_value(v) for v in row), strict=True)) for row in frame.itertuples(index=False)]


def _bulk_insert(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that share their keys as one Core executemany per batch (the ORM's bulk insert split the
    snapshot into ~30,000 statements: 13 s of the 50,000-account refresh)."""
    table = model.__table__
    for start in range(0, len(rows), _INSERT_BATCH):
        session.execute(table.insert(), list(rows[start : start + _INSERT_BATCH]))


def snapshot_dates(session: Session) -> list[dt.date]:
    """As-of dates with a stored KPI snapshot, newest first."""
    return list(session.scalars(select(KpiValue.as_of).distinct().order_by(KpiValue.as_of.desc())))


def latest_snapshot(session: Session) -> tuple[dt.date, dt.datetime | None] | None:
    """The newest snapshot's as-of date and when it was computed; None before the first ``kizuna refresh``.

    Cheap enough to call per request: pages key their caches on it so a refresh is seen at once.
    """
    day = session.scalar(select(func.max(KpiValue.as_of)))
    if day is None:
        return None
    computed = session.scalar(select(func.max(KpiTable.computed_at)).where(KpiTable.as_of == day))
    return day, computed


def _resolve_as_of(session: Session, as_of: dt.date | None) -> dt.date:
    query = select(func.max(KpiValue.as_of))
    if as_of is not None:
        query = query.where(KpiValue.as_of <= as_of)
    found = session.scalar(query)
    if found is None:
        when = f" on or before {as_of}" if as_of else ""
        raise NotFound(f"no KPI snapshot{when}: run `kizuna refresh` first")
    return found


def metric_names(session: Session, *, as_of: dt.date | None = None) -> list[str]:
    """Names of the stored series metrics and tables of the snapshot (latest on or before ``as_of``)."""
    day = _resolve_as_of(session, as_of)
    series = session.scalars(select(KpiValue.metric).where(KpiValue.as_of == day).distinct())
    tables = session.scalars(select(KpiTable.name).where(KpiTable.as_of == day))
    return sorted({*series, *tables})


def load_kpi(
    session: Session,
    *,
    names: Iterable[str] | None = None,
    as_of: dt.date | None = None,
    by: str | None = None,
    currency: str | None = None,
) -> pd.DataFrame:
    """Monthly KPI series from the snapshot taken on (or last before) ``as_of``, in long format.

    Columns: ``as_of, metric, month, currency, dimension, dimension_value, value``. ``by`` picks a breakdown
    (``plan``, ``industry``, ...; default the totals).
    """
    day = _resolve_as_of(session, as_of)
    query = select(KpiValue).where(KpiValue.as_of == day, KpiValue.dimension == (by or ""))
    if names is not None:
        query = query.where(KpiValue.metric.in_(list(names)))
    if currency is not None:
        query = query.where(KpiValue.currency.in_([currency, ""]))
    query = query.order_by(KpiValue.metric, KpiValue.currency, KpiValue.dimension_value, KpiValue.month)
    rows = [
        (r.as_of, r.metric, r.month, r.currency, r.dimension, r.dimension_value, r.value)
        for r in session.scalars(query)
    ]
    return pd.DataFrame(rows, columns=["as_of", "metric", "month", "currency", "dimension", "dimension_value", "value"])


def load_table(session: Session, *, name: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """A stored tabular KPI result (e.g. ``cohort_retention``, ``funnel_by_source``) as a pandas frame."""
    day = _resolve_as_of(session, as_of)
    row = session.scalar(select(KpiTable).where(KpiTable.as_of == day, KpiTable.name == name))
    if row is None:
        raise NotFound(f"no KPI table {name!r} in the snapshot of {day}", name=name)
    return pd.DataFrame(row.rows)


def account_metrics_of(session: Session, account_id: int) -> dict[str, Any] | None:
    """One account's latest metrics as a dict (None when the snapshot has no row for it)."""
    table = AccountMetrics.__table__
    row = session.execute(select(table).where(table.c.account_id == account_id)).mappings().first()
    return None if row is None else {k: _clean(v) for k, v in row.items()}


def load_account_metrics(session: Session, *, account_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """The latest per-account metrics (one row per account)."""
    table = AccountMetrics.__table__
    query = select(table)
    if account_ids is not None:
        query = query.where(table.c.account_id.in_(list(account_ids)))
    result = session.execute(query.order_by(table.c.account_id))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
