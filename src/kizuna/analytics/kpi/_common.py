"""Shared building blocks of the KPI library: input checks, point-in-time cut-offs and calendar spines.

Everything here is portable Ibis (the subset measured on DuckDB and Spark; see DEVELOPERS.md): no as-of joins, no
distinct counts over windows, windows always bounded. Calendar spines are built in Python and joined on date ranges.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kizuna.errors import InvalidInput

# Hub tables by name (Ibis tables); :func:`kizuna.analytics.kpi.intermediates.prepare` adds cached intermediates.
Tables = Mapping[str, Any]

# The subscription lines' columns the revenue KPIs read, the leads' the funnel reads, and the account attributes
# a breakdown may use ("plan" and "cohort_month" are derived per month).
SUBSCRIPTION_COLUMNS = (
    "account_id",
    "contract_id",
    "plan_id",
    "quantity",
    "mrr_minor",
    "currency",
    "status",
    "start_date",
    "end_date",
    "renewal_date",
    "cancelled_at",
    "cancellation_reason",
)
LEAD_COLUMNS = (
    "id",
    "source",
    "owner_id",
    "account_id",
    "industry",
    "employee_band",
    "created_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "first_touch_at",
    "disqualified_at",
)
ACCOUNT_ATTRIBUTES = ("industry", "region", "owner_id", "touch_tier", "employee_band", "lifecycle_stage")

# The hub tables and columns the KPI library reads (besides ``events``; None: every column). The refresh reads only
# these: free text (names, e-mails, ticket bodies, comments) is most of the bytes and no KPI uses it. A column left
# out here fails loudly in :func:`require`.
KPI_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "accounts": ("id", "created_at", *ACCOUNT_ATTRIBUTES),
    "plans": None,
    "subscriptions": SUBSCRIPTION_COLUMNS,
    "payments": ("account_id", "attempted_at", "status"),
    "tickets": ("account_id", "opened_at", "first_response_at", "closed_at", "escalated", "csat"),
    "survey_responses": ("account_id", "kind", "score", "responded_at"),
    "onboarding_milestones": ("account_id", "completed_at", "is_key"),
    "leads": LEAD_COLUMNS,
    "opportunities": ("lead_id", "kind", "stage", "closed_at", "created_at"),
    "marketing_spend": ("month", "channel", "amount_minor", "currency"),
    "fx_rates": ("date", "currency", "rate"),
}

# Far-future date standing in for an open end (``end_date IS NULL``) so interval tests stay plain comparisons.
OPEN_END = dt.date(9999, 12, 31)


def prepared_key(name: str, as_of: dt.date) -> str:
    """The key under which :func:`~kizuna.analytics.kpi.intermediates.prepare` (or a caller) leaves the intermediate
    ``name`` of ``as_of`` in the tables mapping, for the KPI functions to reuse."""
    return f"{name}@{as_of.isoformat()}"


def require(tables: Tables, name: str, columns: Sequence[str]) -> ir.Table:
    """Return ``tables[name]`` after checking it has ``columns``; the error names what is missing."""
    if name not in tables:
        raise InvalidInput(f"KPI input table {name!r} is missing", table=name)
    table = tables[name]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InvalidInput(
            f"KPI input table {name!r} lacks column(s) {', '.join(missing)}", table=name, columns=missing
        )
    return table


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """``numerator / denominator`` as a float, null where the denominator is 0 (or null)."""
    return ibis.ifelse(denominator != 0, numerator.cast("float64") / denominator.cast("float64"), ibis.null("float64"))


def instant(day: dt.date) -> ir.TimestampScalar:
    """The start of ``day`` in UTC, as a timestamp literal."""
    return ibis.timestamp(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))


def cutoff(as_of: dt.date) -> ir.TimestampScalar:
    """The instant "as of D" means: the start of day ``D`` in UTC (events strictly before it are known)."""
    return instant(as_of)


def days_before(as_of: dt.date, days: int) -> ir.TimestampScalar:
    return instant(as_of - dt.timedelta(days=days))


MICROS_PER_DAY = 86_400_000_000
EPOCH = dt.date(1970, 1, 1)


def _compiled_to_sql() -> NotImplementedError:
    """What the Python body of a built-in SQL function raises: Ibis compiles its calls to SQL, never runs them."""
    return NotImplementedError("a built-in SQL function: Ibis compiles it, Python never calls it")


def _bit_or(value: int) -> int:
    raise _compiled_to_sql()


def _bit_count(value: int) -> int:
    raise _compiled_to_sql()


#: Bitwise OR of a group's integers (DuckDB and Spark share the name).
bit_or: Callable[[ir.IntegerValue], ir.IntegerScalar] = ibis.udf.agg.builtin(_bit_or, name="bit_or")
#: Number of bits set in an integer (DuckDB and Spark share the name).
bit_count: Callable[[ir.IntegerValue], ir.IntegerValue] = ibis.udf.scalar.builtin(_bit_count, name="bit_count")


def bit(position: ir.IntegerValue) -> ir.IntegerValue:
    """``2 ** position`` as a 64-bit integer, for ``position`` in 0..62.

    (Not ``literal(1) << position``: Ibis writes the literal as a plain ``1``, a 32-bit int on Spark, whose shift
    wraps at 32 bits; the cast makes it 64-bit on both engines.)
    """
    return ibis.literal(1, "int32").cast("int64") << position


def epoch_micros(tables: Tables, timestamp: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds since 1970-01-01 UTC of an aware timestamp, as an integer (``// MICROS_PER_DAY`` = UTC day).

    Days and months are cut from this integer rather than by casting the timestamp to a date: DuckDB converts an
    aware timestamp through ICU's calendar, far slower than the scan itself. Each engine's own function.
    """
    name = "unix_micros" if backend(tables).name == "pyspark" else "epoch_us"
    micros: Callable[[ir.TimestampValue], ir.IntegerValue] = ibis.udf.scalar.builtin(_micros, name=name)
    return micros(timestamp)


def _micros(ts: dt.datetime) -> int:
    raise _compiled_to_sql()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_list(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of every calendar month from ``first``'s month to ``last``'s month, inclusive."""
    out, cur = [], month_start(first)
    while cur <= last:
        out.append(cur)
        cur = add_months(cur, 1)
    return out


def month_spine(tables: Tables, first: dt.date, as_of: dt.date) -> ir.Table:
    """A table of calendar months from ``first``'s month up to ``as_of``'s month, on the backend of ``tables``.

    Columns: ``month`` (first day), ``snapshot_day`` (the day whose state represents the month: its last day, or
    ``as_of`` for the current, unfinished month), ``next_month``. Built in Python and registered as a named table
    (not an Ibis memtable: Spark's cached tables cannot see memtables).
    """
    months = month_list(first, as_of)
    snapshot = [min(add_months(m, 1) - dt.timedelta(days=1), as_of) for m in months]
    data = pa.table(
        {
            "month": pa.array(months, pa.date32()),
            "snapshot_day": pa.array(snapshot, pa.date32()),
            "next_month": pa.array([add_months(m, 1) for m in months], pa.date32()),
        }
    )
    return register_small(tables, f"kizuna_months_{first:%Y%m}_{as_of:%Y%m%d}", data)


def backend(tables: Tables) -> Any:
    """The Ibis backend the hub tables live on."""
    for value in tables.values():
        if isinstance(value, ir.Table):
            return value._find_backend()
    raise InvalidInput("no Ibis table among the KPI inputs")


def register_small(tables: Tables, name: str, data: pa.Table) -> ir.Table:
    """Register a small Arrow table under ``name`` on the hub tables' backend (temporary; replaced if present)."""
    con = backend(tables)
    if con.name == "pyspark":
        con._session.createDataFrame(data).createOrReplaceTempView(name)
        return con.table(name)
    return con.create_table(name, data, temp=True, overwrite=True)
