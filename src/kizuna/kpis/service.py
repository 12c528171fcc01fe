"""Write and read the KPI snapshots (``kpi_series``, ``kpi_tables``, ``account_metrics``).

Writes replace the snapshot of one as-of date in the caller's transaction (flush, never commit) and write one audit
row. Reads return pandas frames for pages, the CLI, health scores, playbooks and analysts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import numbers
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Column, ColumnDefault, Date, Float, Integer, Numeric, Table, delete, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.db import Base, utcnow
from kizuna.errors import NotFound
from kizuna.kpis.models import AccountMetrics, KpiSeries, KpiTable

SERIES_COLUMNS = ("metric", "month", "currency", "dimension", "dimension_value", "value")
SERIES_KEY = ("metric", "currency", "dimension", "dimension_value")  # one stored series (kpi_series row) per key
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


def replace_snapshot(
    session: Session,
    *,
    actor: str,
    as_of: dt.date,
    series: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame] | Iterable[tuple[str, pd.DataFrame]],
    accounts: pd.DataFrame,
) -> dict[str, int]:
    """Replace the KPI snapshot of ``as_of``: series rows, tabular results and the latest per-account metrics.

    ``series`` has ``SERIES_COLUMNS``; ``accounts`` has ``account_id`` and columns of ``account_metrics``;
    ``tables`` maps names to frames, or gives ``(name, frame)`` pairs, which are taken last (the refresh passes
    pairs its worker is still computing while the rest is written). Returns the number of rows written per table.
    """
    now = utcnow()
    _delete_snapshots(session, [as_of])
    stored = {name: pd.Series(values, dtype=object) for name, values in _series_rows(series).items()}
    stored_series = len(stored["points"])
    if stored_series:
        stored["as_of"] = pd.Series(as_of, index=stored["points"].index, dtype=object)
        stored["computed_at"] = pd.Series(now, index=stored["points"].index, dtype=object)
        _bulk_insert(session, KpiSeries, stored)
    latest = session.scalar(select(func.max(AccountMetrics.as_of)))
    account_rows = 0
    if latest is None or as_of >= latest:  # an older as-of never overwrites newer per-account metrics
        session.execute(delete(AccountMetrics))
        known = {c.name for c in AccountMetrics.__table__.columns} - {"id", "as_of", "computed_at"}
        columns: dict[str, pd.Series] = {c: accounts[c] for c in accounts.columns if c in known}
        columns["as_of"] = pd.Series(as_of, index=accounts.index, dtype=object)
        columns["computed_at"] = pd.Series(now, index=accounts.index, dtype=object)
        _bulk_insert(session, AccountMetrics, columns)
        account_rows = len(accounts)
    # JSON: few rows, bound by SQLAlchemy (the drivers' own JSON binding differs per database)
    rows = [
        {"as_of": as_of, "name": name, "computed_at": now, "rows": _json_records(frame)}
        for name, frame in (tables.items() if isinstance(tables, Mapping) else tables)
    ]
    if rows:
        session.execute(_table(KpiTable).insert(), rows)
    counts = {"kpi_series": stored_series, "kpi_tables": len(rows), "account_metrics": account_rows}
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


def _series_rows(series: pd.DataFrame) -> dict[str, list[Any]]:
    """Long series rows (``SERIES_COLUMNS``) as ``kpi_series`` columns, one row per key: ``points`` maps each month's
    ISO date to its value (None where undefined: NaN, or infinite, which JSON cannot hold)."""
    if series.empty:
        return {name: [] for name in (*SERIES_KEY, "points")}
    keys = [
        _plain_values(series["metric"], str),
        _plain_values(series["currency"], lambda v: v or ""),
        _plain_values(series["dimension"], lambda v: v or ""),
        _plain_values(series["dimension_value"], lambda v: "" if v is None else str(v)),
    ]
    months = np.array(_plain_values(series["month"], lambda v: v and _day(v).isoformat()), dtype=object)
    values = series["value"].astype("float64")
    points = np.array(values.astype(object).where(np.isfinite(values), None).tolist(), dtype=object)
    # one integer per key (the key columns' codes), then rows in (key, month) order, cut where the key changes
    code = np.zeros(len(series), dtype=np.int64)
    for column in keys:
        codes, distinct = pd.factorize(np.array(column, dtype=object))
        code = code * (len(distinct) + 1) + codes
    order = np.lexsort((pd.factorize(months, sort=True)[0], code))
    starts = np.flatnonzero(np.r_[True, code[order][1:] != code[order][:-1]])
    ends = [*starts[1:].tolist(), len(order)]
    ordered_months, ordered_points = months[order].tolist(), points[order].tolist()  # (lists: slices are cheap)
    firsts = order[starts].tolist()
    out = {name: [column[i] for i in firsts] for name, column in zip(SERIES_KEY, keys, strict=True)}
    out["points"] = [
        dict(zip(ordered_months[a:b], ordered_points[a:b], strict=True))
        for a, b in zip(starts.tolist(), ends, strict=True)
    ]
    return out


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of plain values (see :func:`_plain_values`), converted column by column; the
    engine's JSON serializer (:func:`kizuna.db.json_text`) writes dates and times as ISO 8601."""
    names = [str(c) for c in frame.columns]
    columns = [_plain_values(frame[c]) for c in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _bulk_insert(session: Session, model: type[Base], columns: Mapping[str, pd.Series]) -> None:
    """Insert rows given column by column (equal-length series named after the table's columns) in the session's
    transaction.

    SQLite gets the driver's ``executemany`` and PostgreSQL (psycopg) a binary ``COPY ... FROM STDIN``, both on the
    session's own connection and with the values SQLAlchemy would bind (see :func:`_bound_values`); any other
    database a Core executemany per batch: a Core executemany of dicts spends most of a large snapshot's time in
    Python, the drivers' bulk paths leave it to the databases' own index upkeep (``bench/kpi_snapshot.py``).
    """
    table = _table(model)
    columns = _with_defaults(table, columns)
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    if (dialect.name, dialect.driver) not in {("sqlite", "pysqlite"), ("postgresql", "psycopg")}:
        plain = [_plain_values(columns[n], _day if isinstance(table.c[n].type, Date) else None) for n in names]
        records = [dict(zip(names, row, strict=True)) for row in zip(*plain, strict=True)]
        for start in range(0, len(records), _INSERT_BATCH):
            session.execute(table.insert(), records[start : start + _INSERT_BATCH])
        return
    values = [_bound_values(table.c[n], columns[n], dialect) for n in names]
    table_name = dialect.identifier_preparer.format_table(table)
    column_names = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    driver: Any = connection.connection.driver_connection  # sqlite3's or psycopg's, in the session's transaction
    if dialect.name == "sqlite":
        _sqlite_insert(driver, f"{table_name} ({column_names})", values)
    else:
        with driver.cursor() as cursor:
            cursor.execute(f"SELECT {column_names} FROM {table_name} LIMIT 0")
            types = [c.type_code for c in cursor.description]  # the columns' type oids, for the binary format
            with cursor.copy(f"COPY {table_name} ({column_names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in zip(*values, strict=True):
                    copy.write_row(row)


def _sqlite_insert(driver: sqlite3.Connection, target: str, values: list[list[Any]]) -> None:
    """INSERTs of as many rows as SQLite binds parameters, in one ``executemany`` (fewer statements to prepare)."""
    width = len(values)
    grid = np.empty((len(values[0]), width), dtype=object)  # the rows
    for j, column in enumerate(values):
        grid[:, j] = column
    per_insert = max(1, driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    whole = len(grid) - len(grid) % per_insert
    row = f"({', '.join('?' * width)})"
    with closing(driver.cursor()) as cursor:
        cursor.executemany(
            f"INSERT INTO {target} VALUES {', '.join([row] * per_insert)}",
            grid[:whole].reshape(-1, per_insert * width),
        )
        cursor.executemany(f"INSERT INTO {target} VALUES {row}", grid[whole:])


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _with_defaults(table: Table, columns: Mapping[str, pd.Series]) -> dict[str, pd.Series]:
    """``columns`` and, for the table's columns they leave out, their Python-side defaults (as a Core insert does)."""
    index = next(iter(columns.values())).index
    out = dict(columns)
    for column in table.columns:
        default = column.default
        if column.name in out or default is None:
            continue
        if not isinstance(default, ColumnDefault) or not (default.is_scalar or default.is_callable):
            raise ValueError(f"{table.name}.{column.name}: only a scalar or a function is a bulk insert's default")
        values = [default.arg] * len(index) if default.is_scalar else [default.arg(None) for _ in index]
        out[column.name] = pd.Series(values, index=index, dtype=object)
    return out


def _bound_values(column: Column[Any], values: pd.Series, dialect: Dialect) -> list[Any]:
    """One column's values as SQLAlchemy binds them: plain Python values (NaN, NaT -> None; a date for a ``Date``
    column) through the column type's bind processor (dates and times as text on SQLite, UTC everywhere).

    Numeric types' processors (SQLite's ``float()``) are left out: the column's affinity stores the same value.
    PostgreSQL's binary COPY takes only whole numbers for an integer column, where an INSERT cast a float (rounding
    half to even, as ``round`` does).
    """
    kind = column.type
    processor = None if isinstance(kind, (Float, Numeric)) else kind.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(kind, JSON):  # (documents: each is its own value, none is looked up twice)
        return [None if v is None else processor(v) if processor else v for v in values]
    if isinstance(kind, Date):
        return _plain_values(values, _day if processor is None else lambda v: processor(_day(v)))
    whole = dialect.name == "postgresql" and isinstance(kind, Integer) and not pd.api.types.is_integer_dtype(values)
    if whole:
        return _plain_values(values, lambda v: round(v) if isinstance(v, float) else v)
    return _plain_values(values, processor)


def _day(value: Any) -> Any:
    return value.date() if isinstance(value, dt.datetime) else value


def _plain_values(column: pd.Series, convert: Callable[[Any], Any] | None = None) -> list[Any]:
    """``column``'s values as plain Python values (NaN, NaT, None -> None; see :func:`_clean`), through ``convert``.

    Column-wise: numbers, booleans and strings convert as a whole; dates, times, other objects and ``convert`` are
    worked out once per distinct value.
    """
    if convert is None and column.dtype != object:
        if pd.api.types.is_datetime64_any_dtype(column):
            column = pd.Series(column.dt.to_pydatetime(), index=column.index, dtype=object)  # datetime.datetime
        return column.astype(object).where(column.notna(), None).tolist()  # type: ignore[no-any-return]
    apply = convert or (lambda v: v)
    codes, distinct = pd.factorize(column)  # missing values get code -1
    if column.dtype == object and any(isinstance(v, (numbers.Number, np.bool_)) for v in distinct):
        return [apply(_clean(v)) for v in column]  # factorize takes 1, 1.0 and True for one value
    mapped = np.fromiter((apply(_clean(v)) for v in (*distinct, None)), dtype=object, count=len(distinct) + 1)
    return mapped[codes].tolist()  # type: ignore[no-any-return]


def prune_snapshots(session: Session, *, actor: str, as_of: dt.date, keep_days: int) -> list[dt.date]:
    """Delete the KPI snapshots older than ``keep_days`` before ``as_of``, except each month's last one (the month-end
    history stays); returns the dates deleted. A daily refresh keeps ~13 MB a day at 50,000 accounts otherwise."""
    dates = set(session.scalars(select(KpiSeries.as_of).distinct()))
    dates |= set(session.scalars(select(KpiTable.as_of).distinct()))
    month_end: dict[tuple[int, int], dt.date] = {}
    for day in dates:
        month_end[(day.year, day.month)] = max(day, month_end.get((day.year, day.month), day))
    oldest = as_of - dt.timedelta(days=keep_days)
    doomed = sorted(d for d in dates if d < oldest and d != month_end[(d.year, d.month)])
    if doomed:
        _delete_snapshots(session, doomed)
        record_audit(
            session,
            actor=actor,
            action="prune_snapshots",
            entity="kpi_snapshot",
            entity_id=as_of.isoformat(),
            after={"deleted": [d.isoformat() for d in doomed], "keep_days": keep_days},
        )
        session.flush()
    return doomed


def _delete_snapshots(session: Session, days: list[dt.date]) -> None:
    """Delete the series and tables of the snapshots of ``days`` (per-account metrics are the latest only)."""
    session.execute(delete(KpiSeries).where(KpiSeries.as_of.in_(days)))
    session.execute(delete(KpiTable).where(KpiTable.as_of.in_(days)))


def snapshot_dates(session: Session) -> list[dt.date]:
    """As-of dates with a stored KPI snapshot, newest first."""
    return list(session.scalars(select(KpiSeries.as_of).distinct().order_by(KpiSeries.as_of.desc())))


def latest_snapshot(session: Session) -> tuple[dt.date, dt.datetime | None] | None:
    """The newest snapshot's as-of date and when it was computed; None before the first ``kizuna refresh``.

    Cheap enough to call per request: pages key their caches on it so a refresh is seen at once.
    """
    day = session.scalar(select(func.max(KpiSeries.as_of)))
    if day is None:
        return None
    computed = session.scalar(select(func.max(KpiTable.computed_at)).where(KpiTable.as_of == day))
    return day, computed


READ_CACHE_TTL_S = 600.0
_read_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
_read_lock = threading.Lock()
_P = ParamSpec("_P")
_T = TypeVar("_T")


def snapshot_cached(read: Callable[Concatenate[Session, _P], _T]) -> Callable[Concatenate[Session, _P], _T]:
    """Keep what ``read`` made of the stored snapshot per database, snapshot and arguments (ten minutes at most): a
    page's read model is the same until the next refresh, and decoding the stored tables is most of its time. The
    value is shared between requests: callers must not change it."""

    @functools.wraps(read)
    def cached(session: Session, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        key = (
            read.__qualname__,
            str(session.get_bind().engine.url),
            latest_snapshot(session),
            args,
            tuple(sorted(kwargs.items())),
        )
        now = time.monotonic()
        with _read_lock:
            hit = _read_cache.get(key)
        if hit is not None and now - hit[0] < READ_CACHE_TTL_S:
            return cast(_T, hit[1])
        value = read(session, *args, **kwargs)
        with _read_lock:
            for old in [k for k, (at, _) in _read_cache.items() if now - at >= READ_CACHE_TTL_S]:
                del _read_cache[old]
            _read_cache[key] = (now, value)
        return value

    return cached


def clear_read_cache() -> None:
    with _read_lock:
        _read_cache.clear()


def resolve_as_of(session: Session, as_of: dt.date | None) -> dt.date:
    """The as-of date of the snapshot taken on (or last before) ``as_of`` (default: the newest); NotFound if none."""
    query = select(func.max(KpiSeries.as_of))
    if as_of is not None:
        query = query.where(KpiSeries.as_of <= as_of)
    found = session.scalar(query)
    if found is None:
        when = f" on or before {as_of}" if as_of else ""
        raise NotFound(f"no KPI snapshot{when}: run `kizuna refresh` first")
    return found


def metric_names(session: Session, *, as_of: dt.date | None = None) -> list[str]:
    """Names of the stored series metrics and tables of the snapshot (latest on or before ``as_of``)."""
    day = resolve_as_of(session, as_of)
    series = session.scalars(select(KpiSeries.metric).where(KpiSeries.as_of == day).distinct())
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
    day = resolve_as_of(session, as_of)
    query = select(KpiSeries).where(KpiSeries.as_of == day, KpiSeries.dimension == (by or ""))
    if names is not None:
        query = query.where(KpiSeries.metric.in_(list(names)))
    if currency is not None:
        query = query.where(KpiSeries.currency.in_([currency, ""]))
    query = query.order_by(KpiSeries.metric, KpiSeries.currency, KpiSeries.dimension_value)
    rows = [
        (r.as_of, r.metric, dt.date.fromisoformat(month), r.currency, r.dimension, r.dimension_value, value)
        for r in session.scalars(query)
        for month, value in sorted(r.points.items())
    ]
    columns = ["as_of", "metric", "month", "currency", "dimension", "dimension_value", "value"]
    return pd.DataFrame(rows, columns=columns).astype({"value": "float64"})


def load_table(session: Session, *, name: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """A stored tabular KPI result (e.g. ``cohort_retention``, ``funnel_by_source``) as a pandas frame."""
    day = resolve_as_of(session, as_of)
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


#: the MRR movements stored per month (series ``<movement>_minor``)
MRR_MOVEMENTS = ("new", "reactivation", "resume", "expansion", "contraction", "pause", "churn")
#: the revenue series the dashboard and the expansion page read
REVENUE_SERIES = (
    "mrr_minor",
    "arr_minor",
    "mrr_start_minor",
    "customers",
    "nrr_12m",
    "grr_12m",
    "logo_churn_rate",
    *(f"{m}_minor" for m in MRR_MOVEMENTS),
)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@dataclasses.dataclass
class RevenueByMonth:
    """Stored revenue series of one currency, a row per month (columns: the series' metrics), and the MRR
    movements of its last months."""

    as_of: dt.date
    currency: str
    months: pd.DataFrame
    movements: list[dict[str, Any]]


def revenue_by_month(series: pd.DataFrame, *, as_of: dt.date, months: int = 12) -> RevenueByMonth | None:
    """``series`` (as :func:`load_kpi` gives them) in the currency with the most MRR in ``as_of``'s month, and the
    movements of the last ``months`` months: ``month``, one key per :data:`MRR_MOVEMENTS` (minor units),
    ``mrr_start`` and ``mrr_end``; None when no money series is stored."""
    money = series[series.currency != ""]
    if money.empty:
        return None
    month = as_of.replace(day=1)
    latest_mrr = money[(money.metric == "mrr_minor") & (money.month == month)]
    currency = str(latest_mrr.sort_values("value", ascending=False).currency.iloc[0]) if len(latest_mrr) else None
    currency = currency or str(money.currency.mode().iloc[0])
    wide = (
        money[money.currency == currency]
        .pivot_table(index="month", columns="metric", values="value", aggfunc="first", dropna=False)
        .sort_index()
    )
    first = month
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    movements = [
        {
            "month": m,
            **{k: int(_number(row.get(f"{k}_minor")) or 0) for k in MRR_MOVEMENTS},
            "mrr_start": int(_number(row.get("mrr_start_minor")) or 0),
            "mrr_end": int(_number(row.get("mrr_minor")) or 0),
        }
        for m, row in wide.loc[wide.index >= first].iterrows()
    ]
    return RevenueByMonth(as_of=as_of, currency=currency, months=wide, movements=movements)


def mrr_movements(session: Session, *, months: int = 12) -> list[dict[str, Any]]:
    """The MRR movements of the last ``months`` months of the latest snapshot (see :func:`revenue_by_month`); empty
    before the first ``kizuna refresh`` or with no revenue stored."""
    stamp = latest_snapshot(session)
    if stamp is None:
        return []
    series = load_kpi(session, names=REVENUE_SERIES)
    as_of = series.as_of.iloc[0] if len(series) else stamp[0]
    found = revenue_by_month(series, as_of=as_of, months=months)
    return [] if found is None else found.movements


@dataclasses.dataclass
class Cohorts:
    months: list[dt.date]  # cohort start months (rows); group names from grouped_cohorts
    offsets: list[int]  # months since start (columns)
    logo: list[list[float | None]]  # logo_retention of the stored snapshot
    revenue: list[list[float | None]]  # revenue_retention of the stored snapshot
    sizes: list[int]
    snapshot_as_of: dt.date | None = None
    currency: str | None = None


@snapshot_cached
def cohorts(session: Session, *, months: int = 12) -> Cohorts:
    """The last ``months`` signup cohorts' logo and revenue retention, from the stored ``cohort_retention`` table
    (``kizuna refresh``; definitions in docs/metrics.md); empty with no ``snapshot_as_of`` before the first refresh."""
    stamp = latest_snapshot(session)
    if stamp is None:
        return Cohorts(months=[], offsets=[], logo=[], revenue=[], sizes=[])
    table = load_table(session, name="cohort_retention", as_of=stamp[0])
    out = Cohorts(months=[], offsets=list(range(months)), logo=[], revenue=[], sizes=[], snapshot_as_of=stamp[0])
    if table.empty:
        return out
    sizes = table.groupby("currency")["cohort_customers"].sum()
    out.currency = str(sizes.idxmax())
    table = table[table.currency == out.currency].copy()
    table["cohort_month"] = pd.to_datetime(table["cohort_month"]).dt.date
    out.months = sorted(table.cohort_month.unique())[-months:]
    for cohort in out.months:
        rows = table[table.cohort_month == cohort].set_index("period")
        out.sizes.append(int(rows.cohort_customers.iloc[0]))
        out.logo.append([_ratio(rows, "logo_retention", o) for o in out.offsets])
        out.revenue.append([_ratio(rows, "revenue_retention", o) for o in out.offsets])
    return out


def _ratio(rows: pd.DataFrame, column: str, period: int) -> float | None:
    if period not in rows.index:
        return None
    value = rows.at[period, column]
    return None if value is None or pd.isna(value) else float(value)


def store_table(session: Session, *, actor: str, as_of: dt.date, name: str, frame: pd.DataFrame) -> int:
    """Store (replace) one tabular result in the snapshot of ``as_of``, for a refresh step that runs after the KPI
    step (the leakage step needs the VoC classification of the same refresh); returns the rows written."""
    session.execute(delete(KpiTable).where(KpiTable.as_of == as_of, KpiTable.name == name))
    session.execute(
        _table(KpiTable).insert(),
        [{"as_of": as_of, "name": name, "computed_at": utcnow(), "rows": _json_records(frame)}],
    )
    record_audit(
        session,
        actor=actor,
        action="store_table",
        entity="kpi_snapshot",
        entity_id=as_of.isoformat(),
        after={"name": name, "rows": len(frame)},
    )
    session.flush()
    return len(frame)
