"""Read snapshot tables that other domains build (metrics, health, risk, segments) -- if they exist yet.

Each adapter looks the table up at run time, by a list of candidate names and columns, and returns an empty result
with a reason when it is missing, so a playbook whose data is not there is skipped with a logged reason instead of
failing. Wide tables (one column per metric) and long tables (``metric``/``value`` columns) are both understood.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotSpec:
    kind: str
    tables: tuple[str, ...]
    time_columns: tuple[str, ...] = ("as_of", "snapshot_date", "scored_at", "computed_at", "day", "date", "created_at")
    account_column: str = "account_id"


SNAPSHOTS: dict[str, SnapshotSpec] = {
    "metrics": SnapshotSpec(
        "metrics", ("account_metrics", "account_metric_snapshots", "metric_snapshots", "account_metrics_daily")
    ),
    "health": SnapshotSpec("health", ("health_scores", "health_score_snapshots", "account_health", "health_snapshots")),
    "risk": SnapshotSpec("risk", ("risk_scores", "churn_risk_scores", "account_risk", "risk_snapshots")),
}

HEALTH_SCORE_COLUMNS = ("score", "overall_score", "value", "total")
HEALTH_COLOR_COLUMNS = ("color", "colour", "band", "status", "rating", "grade")
RISK_COLUMNS = ("probability", "churn_probability", "risk", "risk_score", "score")
SCORECARD_COLUMNS = ("scorecard", "scorecard_key", "scorecard_name")


class MissingData(Exception):
    """The snapshot a trigger needs does not exist (yet); ``str(exc)`` says which."""


def _reflect(session: Session, spec: SnapshotSpec) -> tuple[Table, str]:
    bind = session.get_bind()
    names = set(inspect(bind).get_table_names())
    for name in spec.tables:
        if name in names:
            table = Table(name, MetaData(), autoload_with=session.connection())
            for time_column in spec.time_columns:
                if time_column in table.c:
                    return table, time_column
            raise MissingData(f"{spec.kind} table {name} has no time column ({', '.join(spec.time_columns)})")
    raise MissingData(f"no {spec.kind} snapshot table yet (looked for {', '.join(spec.tables)})")


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def pick_column(table: Table, candidates: tuple[str, ...], *, what: str) -> str:
    for name in candidates:
        if name in table.c:
            return name
    raise MissingData(f"{table.name} has no {what} column ({', '.join(candidates)})")


def series(
    session: Session,
    kind: str,
    *,
    value: str | tuple[str, ...],
    since: dt.datetime,
    filters: dict[str, Any] | None = None,
) -> dict[int, list[tuple[dt.datetime, Any]]]:
    """Per account, the (time, value) points of ``value`` since ``since``, oldest first.

    ``value`` is a column name (or candidates); for a long table (``metric``/``value`` columns) it is the metric name.
    Raises :class:`MissingData` when the table or column is not there.
    """
    spec = SNAPSHOTS[kind]
    table, time_column = _reflect(session, spec)
    names = (value,) if isinstance(value, str) else value
    where = [table.c[time_column] >= (since.date() if _is_date(table, time_column) else since)]
    if "metric" in table.c and "value" in table.c and not any(n in table.c for n in names):
        where.append(table.c["metric"] == names[0])
        column = "value"
    else:
        column = pick_column(table, names, what=f"{kind} value")
    for key, wanted in (filters or {}).items():
        if wanted is not None and key in table.c:
            where.append(table.c[key] == wanted)
    stmt = select(table.c[spec.account_column], table.c[time_column], table.c[column]).where(*where)
    out: dict[int, list[tuple[dt.datetime, Any]]] = defaultdict(list)
    for account_id, at, v in session.execute(stmt.order_by(table.c[time_column])):
        if v is not None:
            out[int(account_id)].append((_as_datetime(at), v))
    return out


def _is_date(table: Table, column: str) -> bool:
    try:
        return table.c[column].type.python_type is dt.date
    except NotImplementedError:  # pragma: no cover
        return False


def latest_attributes(session: Session, kind: str, account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest snapshot row per account, every column, prefixed ``<kind>.`` -- for playbook conditions.

    Empty when the table is missing. Long tables give one attribute per metric.
    """
    try:
        table, time_column = _reflect(session, SNAPSHOTS[kind])
    except MissingData:
        return {}
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    seen: dict[tuple[int, str], Any] = {}
    account_column = table.c[SNAPSHOTS[kind].account_column]
    long_format = "metric" in table.c and "value" in table.c
    for chunk_start in range(0, len(account_ids), 900):
        chunk = account_ids[chunk_start : chunk_start + 900]
        rows = session.execute(select(table).where(account_column.in_(chunk)).order_by(table.c[time_column]))
        for row in rows.mappings():
            account_id = int(row[SNAPSHOTS[kind].account_column])
            if long_format:
                out[account_id][f"{kind}.{row['metric']}"] = row["value"]
            else:
                for name, v in row.items():
                    if name not in ("id", SNAPSHOTS[kind].account_column):
                        out[account_id][f"{kind}.{name}"] = v
            seen[(account_id, kind)] = True
    return dict(out)


def segment_memberships(session: Session, account_ids: list[int]) -> dict[int, list[str]]:
    """Names of the segments each account is in, when the segments tables exist (``segments`` +
    ``segment_memberships``, current rows only when there is a ``left_at``/``valid_to``/``is_current`` column)."""
    names = set(inspect(session.get_bind()).get_table_names())
    membership_table = next((t for t in ("segment_memberships", "segment_members") if t in names), None)
    if "segments" not in names or membership_table is None:
        return {}
    meta = MetaData()
    segments = Table("segments", meta, autoload_with=session.connection())
    members = Table(membership_table, meta, autoload_with=session.connection())
    name_column = segments.c.get("name") or segments.c.get("key")
    if name_column is None or "segment_id" not in members.c or "account_id" not in members.c:
        return {}
    where = [members.c.account_id.in_(account_ids)]
    for current in ("left_at", "valid_to", "ended_at"):
        if current in members.c:
            where.append(members.c[current].is_(None))
    if "is_current" in members.c:
        where.append(members.c.is_current.is_(True))
    out: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(account_ids), 900):
        where[0] = members.c.account_id.in_(account_ids[start : start + 900])
        stmt = select(members.c.account_id, name_column).join(segments, segments.c.id == members.c.segment_id)
        for account_id, name in session.execute(stmt.where(*where)):
            out[int(account_id)].append(str(name))
    return dict(out)
