"""Reads of The Model funnel (lead -> ... -> expanded) from the stored KPI snapshot (``kizuna refresh``): stage
conversion, velocity between stages, leads left untouched after the hand-off, and hand-off quality per source and
per segment."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import TeamMember
from kizuna.errors import NotFound
from kizuna.kpis import service as metrics

#: the transitions of ``stage_velocity`` in funnel order
TRANSITIONS = ("lead_to_mql", "mql_to_sql", "sql_to_opportunity", "opportunity_to_won")
UNTOUCHED_SHOWN = 20


def _count(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _ratio(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _table(session: Session, name: str, as_of: dt.date) -> pd.DataFrame:
    try:
        return metrics.load_table(session, name=name, as_of=as_of)
    except NotFound:  # a snapshot from before this table was stored
        return pd.DataFrame()


@metrics.snapshot_cached
def funnel(session: Session) -> dict[str, Any]:
    """The Model funnel from the stored ``funnel``, ``funnel_by_source``, ``stage_velocity``, ``untouched_leads``,
    ``source_quality`` and ``segment_quality`` tables; ``snapshot_as_of`` is None before the first refresh. Kept
    until the next refresh: callers must not change it."""
    stamp = metrics.latest_snapshot(session)
    empty: dict[str, Any] = {
        "stages": [],
        "by_source": [],
        "velocity": [],
        "untouched": {"count": 0, "never": 0, "rows": []},
        "sources": [],
        "segments": [],
        "snapshot_as_of": None,
    }
    if stamp is None:
        return empty
    day = stamp[0]
    stages = _table(session, "funnel", day)
    by_source = _table(session, "funnel_by_source", day)
    out = {**empty, "snapshot_as_of": day}
    if not stages.empty:
        out["stages"] = [
            {
                "stage": str(r.stage),
                "count": _count(r.leads),
                "conversion": _ratio(r.conversion),
                "from_lead": _ratio(r.from_lead),
            }
            for r in stages.sort_values("stage_order").itertuples()
        ]
    if not by_source.empty:
        wide = by_source.pivot_table(index="source", columns="stage", values="leads", aggfunc="sum", dropna=False)
        for source, row in wide.sort_values("lead", ascending=False).iterrows():
            out["by_source"].append(
                {"source": str(source), "leads": _count(row.get("lead")), "sql": _count(row.get("sql"))}
            )
    velocity = _table(session, "stage_velocity", day)
    if not velocity.empty:
        found = velocity.set_index("transition")
        out["velocity"] = [
            {
                "transition": t,
                "leads": _count(found.at[t, "leads"]),
                "median_days": _ratio(found.at[t, "median_days"]),
            }
            for t in TRANSITIONS
            if t in found.index
        ]
    untouched = _table(session, "untouched_leads", day)
    if not untouched.empty:
        never = untouched[untouched.first_touch_at.isna()]
        shown = untouched.sort_values("waited_days", ascending=False).head(UNTOUCHED_SHOWN)
        owners = dict(session.execute(select(TeamMember.id, TeamMember.name)).all())
        out["untouched"] = {
            "count": len(untouched),
            "never": len(never),
            "rows": [
                {
                    "lead_id": int(r.lead_id),
                    "source": str(r.source),
                    "owner": owners.get(int(r.owner_id), "") if not pd.isna(r.owner_id) else "",
                    "mql_at": pd.Timestamp(r.mql_at).to_pydatetime(),
                    "first_touch_at": None
                    if pd.isna(r.first_touch_at)
                    else pd.Timestamp(r.first_touch_at).to_pydatetime(),
                    "waited_days": _ratio(r.waited_days),
                }
                for r in shown.itertuples()
            ],
        }
    for name, key in (("source_quality", "sources"), ("segment_quality", "segments")):
        table = _table(session, name, day)
        if table.empty:
            continue
        table = table.sort_values("won", ascending=False)
        out[key] = [
            {
                **{c: str(r[c]) for c in ("source", "industry", "employee_band") if c in table.columns},
                "leads": _count(r["leads"]),
                "won": _count(r["won"]),
                "win_rate": _ratio(r["win_rate"]),
                "retained_rate": _ratio(r["retained_rate"]),
                "expanded_rate": _ratio(r["expanded_rate"]),
            }
            for r in table.to_dict("records")
        ]
    return out
