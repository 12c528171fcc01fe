"""Reads of The Model funnel (lead -> ... -> expanded) from the stored KPI snapshot (``kizuna refresh``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from kizuna.kpis import service as metrics


def _count(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def funnel(session: Session) -> dict[str, Any]:
    """The Model funnel (lead -> ... -> expanded) and leads per source, from the stored ``funnel`` and
    ``funnel_by_source`` tables (``kizuna refresh``); ``snapshot_as_of`` is None before the first refresh."""
    stamp = metrics.latest_snapshot(session)
    if stamp is None:
        return {"stages": [], "by_source": [], "snapshot_as_of": None}
    stages = metrics.load_table(session, name="funnel", as_of=stamp[0])
    by_source = metrics.load_table(session, name="funnel_by_source", as_of=stamp[0])
    out = (
        [
            {
                "stage": str(r.stage),
                "count": _count(r.leads),
                "conversion": None if pd.isna(r.conversion) else r.conversion,
            }
            for r in stages.sort_values("stage_order").itertuples()
        ]
        if not stages.empty
        else []
    )
    sources = []
    if not by_source.empty:
        wide = by_source.pivot_table(index="source", columns="stage", values="leads", aggfunc="sum", dropna=False)
        for source, row in wide.sort_values("lead", ascending=False).iterrows():
            sources.append({"source": source, "leads": _count(row.get("lead")), "sql": _count(row.get("sql"))})
    return {"stages": out, "by_source": sources, "snapshot_as_of": stamp[0]}
