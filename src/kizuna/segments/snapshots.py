"""Read the per-account snapshots other domains store: KPIs (``account_metrics``), health scores and churn risk,
and the segment memberships, for playbook triggers, conditions and the renewal center.

Each reader knows its table from the domain's own model. A snapshot that holds no rows yet raises
:class:`MissingData` (or gives an empty result), so a playbook whose data is not there is skipped with a logged
reason instead of failing. The KPI table is wide (one column per metric).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from kizuna.health.models import HealthScore
from kizuna.kpis.models import AccountMetrics
from kizuna.risk.models import RiskScore
from kizuna.segments.models import Segment, SegmentMembership

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotSpec:
    """A domain's per-account snapshot table and the column that dates its rows."""

    kind: str
    table: Table
    time_column: str = "as_of"
    account_column: str = "account_id"


SNAPSHOTS: dict[str, SnapshotSpec] = {
    "metrics": SnapshotSpec("metrics", cast(Table, AccountMetrics.__table__)),
    "health": SnapshotSpec("health", cast(Table, HealthScore.__table__)),
    "risk": SnapshotSpec("risk", cast(Table, RiskScore.__table__)),
}

HEALTH_SCORE_COLUMNS = ("score",)
HEALTH_COLOR_COLUMNS = ("band",)
RISK_COLUMNS = ("probability",)
SCORECARD_COLUMNS = ("scorecard",)


class MissingData(Exception):
    """The snapshot a trigger needs holds nothing (yet); ``str(exc)`` says which."""


def _reflect(session: Session, spec: SnapshotSpec) -> tuple[Table, str]:
    """The snapshot's table and its time column."""
    return spec.table, spec.time_column


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


def _snapshot_times(
    session: Session, table: Table, time_column: str, where: list[Any], lookback_days: int | None
) -> list[Any]:
    """The snapshot times to read: the latest two, or the latest and the latest ``lookback_days`` before it.

    Snapshots are written for every account on the same refresh dates, so two dates give each account's latest
    value and the one to compare it with -- at most two rows per account however long the history is.
    """
    column = table.c[time_column]
    latest = session.scalar(select(func.max(column)).where(*where))
    if latest is None:
        return []
    if lookback_days is None:
        before = session.scalar(select(func.max(column)).where(*where, column < latest))
    else:
        cutoff = _as_datetime(latest) - dt.timedelta(days=lookback_days)
        bound: Any = cutoff.date() if _is_date(table, time_column) else cutoff
        before = session.scalar(select(func.max(column)).where(*where, column <= bound))
    return [t for t in (before, latest) if t is not None]


def series(
    session: Session,
    kind: str,
    *,
    value: str | tuple[str, ...],
    filters: dict[str, Any] | None = None,
    lookback_days: int | None = None,
    until: dt.datetime | None = None,
) -> dict[int, list[tuple[dt.datetime, Any]]]:
    """Per account, the (time, value) of ``value`` at the latest snapshot and the one to compare it with, oldest first.

    ``lookback_days=None``: the snapshot before the latest (for "turns red", "crosses a threshold");
    ``lookback_days=N``: the latest snapshot at least N days before the latest (for "drops by X over N days").
    ``value`` is a column name (or candidates); in a long table (``metric``/``value`` columns) it is the metric name.
    Rows of the newest model only, where the table holds several models (``model_id``).
    Raises :class:`MissingData` when the table or column is not there.
    """
    spec = SNAPSHOTS[kind]
    table, time_column = _reflect(session, spec)
    names = (value,) if isinstance(value, str) else value
    where: list[Any] = []
    if "metric" in table.c and "value" in table.c and not any(n in table.c for n in names):
        where.append(table.c["metric"] == names[0])
        column = "value"
    else:
        column = pick_column(table, names, what=f"{kind} value")
    for key, wanted in (filters or {}).items():
        if wanted is not None and key in table.c:
            where.append(table.c[key] == wanted)
    if "model_id" in table.c:
        newest = session.scalar(select(func.max(table.c.model_id)))
        where.append(table.c.model_id == newest)
    if until is not None:
        where.append(_not_after(table, time_column, until))
    times = _snapshot_times(session, table, time_column, where, lookback_days)
    if not times:
        raise MissingData(f"{table.name} has no {column} values yet")
    stmt = select(table.c[spec.account_column], table.c[time_column], table.c[column]).where(
        *where, table.c[time_column].in_(times)
    )
    out: dict[int, list[tuple[dt.datetime, Any]]] = defaultdict(list)
    moments: dict[Any, dt.datetime] = {}  # each of the (two) snapshot times made a datetime once, not once a row
    for account_id, at, v in session.execute(stmt.order_by(table.c[time_column])):
        if v is not None:
            moment = moments.get(at)
            if moment is None:
                moment = moments[at] = _as_datetime(at)
            out[int(account_id)].append((moment, v))
    return out


def measure_series(
    session: Session,
    measure: str,
    *,
    scorecard: str = "overall",
    lookback_days: int | None = None,
    until: dt.datetime | None = None,
) -> dict[int, list[tuple[dt.datetime, Any]]]:
    """A measure's input value per account, read from the health scores' per-measure contributions.

    The health domain stores each measure's value (seat utilisation, usage trend, ...) with every score; this is
    where per-account usage metrics come from until a metrics snapshot table exists.
    """
    table, time_column = _reflect(session, SNAPSHOTS["health"])
    if "contributions" not in table.c:
        raise MissingData(f"{table.name} has no contributions column to read {measure!r} from")
    where: list[Any] = [table.c.scorecard == scorecard] if "scorecard" in table.c else []
    if until is not None:
        where.append(_not_after(table, time_column, until))
    times = _snapshot_times(session, table, time_column, where, lookback_days)
    if not times:
        raise MissingData(f"no {scorecard} health scores yet to read {measure!r} from")
    stmt = select(table.c.account_id, table.c[time_column], table.c.contributions).where(
        *where, table.c[time_column].in_(times)
    )
    out: dict[int, list[tuple[dt.datetime, Any]]] = defaultdict(list)
    for account_id, at, contributions in session.execute(stmt.order_by(table.c[time_column])):
        items = json.loads(contributions) if isinstance(contributions, str) else contributions or []
        for item in items:
            if item.get("measure") == measure and item.get("value") is not None:
                out[int(account_id)].append((_as_datetime(at), item["value"]))
                break
    return out


def metric_series(
    session: Session,
    metric: str | tuple[str, ...],
    *,
    health_measure: str,
    lookback_days: int | None = None,
    until: dt.datetime | None = None,
) -> tuple[dict[int, list[tuple[dt.datetime, Any]]], str]:
    """A usage metric per account from the metrics snapshots (``account_metrics``), else the same measure from the
    health scores' contributions; returns the points and the name of the value actually read."""
    names = (metric,) if isinstance(metric, str) else metric
    try:
        table, _time = _reflect(session, SNAPSHOTS["metrics"])
        long_format = "metric" in table.c and "value" in table.c
        used = names[0] if long_format else pick_column(table, names, what="metrics value")
        return series(session, "metrics", value=metric, lookback_days=lookback_days, until=until), used
    except MissingData as missing_metrics:
        try:
            return measure_series(session, health_measure, until=until), health_measure
        except MissingData as missing_health:
            raise MissingData(f"{missing_metrics}; {missing_health}") from None


def _not_after(table: Table, time_column: str, until: dt.datetime) -> Any:
    return table.c[time_column] <= (until.date() if _is_date(table, time_column) else until)


def _is_date(table: Table, column: str) -> bool:
    try:
        return table.c[column].type.python_type is dt.date
    except NotImplementedError:  # pragma: no cover
        return False


SKIPPED_ATTRIBUTE_COLUMNS = {"id", "account_id", "contributions", "missing", "drivers", "computed_at"}


def latest_attributes(session: Session, kind: str, account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each account's values at the latest snapshot, as ``<kind>.<column>`` -- for playbook conditions.

    Tables with a ``scorecard`` column give ``health.<scorecard>.<column>`` (and ``health.<column>`` for the
    overall scorecard); long tables give ``metrics.<metric>``. Empty when the table is missing.
    """
    try:
        table, time_column = _reflect(session, SNAPSHOTS[kind])
    except MissingData:
        return {}
    latest = session.scalar(select(func.max(table.c[time_column])))
    if latest is None:
        return {}
    where: list[Any] = [table.c[time_column] == latest]
    if "model_id" in table.c:
        where.append(table.c.model_id == session.scalar(select(func.max(table.c.model_id))))
    columns = [c for c in table.c if c.name not in SKIPPED_ATTRIBUTE_COLUMNS or c.name == "account_id"]
    account_column = table.c[SNAPSHOTS[kind].account_column]
    names = [c.name for c in columns]
    account_at = names.index(account_column.name)
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    if "metric" in table.c and "value" in table.c:  # a long table
        metric_at, value_at = names.index("metric"), names.index("value")
        for start in range(0, len(account_ids), 900):
            chunk = account_ids[start : start + 900]
            for row in session.execute(select(*columns).where(*where, account_column.in_(chunk))):
                out[int(row[account_at])][f"{kind}.{row[metric_at]}"] = row[value_at]
        return dict(out)
    # plain rows, each value put under the names its scorecard gives, worked out once per scorecard (a mapping per
    # row, walked column by column, was most of the read at 50,000 accounts)
    scorecard_at = names.index("scorecard") if "scorecard" in names else None
    values = [
        (i, name) for i, name in enumerate(names) if name not in SKIPPED_ATTRIBUTE_COLUMNS and name != "scorecard"
    ]
    layouts: dict[Any, tuple[list[str], list[int]]] = {}
    for start in range(0, len(account_ids), 900):
        chunk = account_ids[start : start + 900]
        for row in session.execute(select(*columns).where(*where, account_column.in_(chunk))):
            scorecard = row[scorecard_at] if scorecard_at is not None else None
            layout = layouts.get(scorecard)
            if layout is None:
                layout = layouts[scorecard] = _attribute_layout(kind, scorecard, values)
            keys, positions = layout
            out[int(row[account_at])].update(zip(keys, [row[i] for i in positions], strict=True))
    return dict(out)


def _attribute_layout(kind: str, scorecard: Any, values: list[tuple[int, str]]) -> tuple[list[str], list[int]]:
    """The attribute names a row of ``scorecard`` gives its values (``<kind>.<scorecard>.<column>``, and
    ``<kind>.<column>`` for the overall scorecard or none), in column order, with each value's position in the row."""
    keys: list[str] = []
    positions: list[int] = []
    for i, name in values:
        if scorecard is not None:
            keys.append(f"{kind}.{scorecard}.{name}")
            positions.append(i)
        if scorecard in (None, "overall"):
            keys.append(f"{kind}.{name}")
            positions.append(i)
    return keys, positions


def segment_memberships(session: Session, account_ids: list[int]) -> dict[int, list[str]]:
    """The key and the name of each segment each account is in now (a condition matches a segment by either)."""
    out: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(account_ids), 900):
        stmt = (
            select(SegmentMembership.account_id, Segment.key, Segment.name)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .where(
                SegmentMembership.account_id.in_(account_ids[start : start + 900]), SegmentMembership.left_at.is_(None)
            )
        )
        for account_id, *labels in session.execute(stmt):
            out[int(account_id)].extend(str(label) for label in dict.fromkeys(labels) if label is not None)
    return dict(out)
