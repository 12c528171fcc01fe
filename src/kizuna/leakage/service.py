"""Compute (in the refresh) and read (for pages) the revenue leakage by churn reason.

The losses come from the KPI snapshot (``mrr_losses``, stored by the KPI step); their reasons from the VoC texts as
the VoC step classified them in the same refresh (a person's label wins over the classifier's), so this step runs
after both. Definitions: docs/metrics.md, "Revenue leakage".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.errors import NotFound
from kizuna.kpis import service as metrics
from kizuna.voc.models import VocEntry, VocLabel, VocTextAnalysis

LEAKAGE_TABLE = "revenue_leakage"
LOSSES_TABLE = "revenue_leakage_losses"
TOP_LOSSES = 100


def mentions(session: Session) -> pd.DataFrame:
    """``account_id, day, category`` of every VoC text tied to an account that has a class."""
    category = func.coalesce(VocLabel.category, VocTextAnalysis.category)
    rows = session.execute(
        select(VocEntry.account_id, VocEntry.recorded_at, category)
        .join(VocTextAnalysis, VocTextAnalysis.entry_id == VocEntry.id)
        .outerjoin(VocLabel, VocLabel.entry_id == VocEntry.id)
        .where(VocEntry.account_id.is_not(None))
    ).all()
    frame = pd.DataFrame(rows, columns=["account_id", "recorded_at", "category"])
    frame["day"] = pd.to_datetime(frame["recorded_at"], utc=True).dt.date
    return frame[["account_id", "day", "category"]].astype({"account_id": "int64", "category": "string"})


def refresh_leakage(session: Session, *, con: Any, as_of: dt.date, actor: str = "refresh") -> dict[str, Any]:
    """Give every stored loss of the snapshot of ``as_of`` its reason and store the leakage by reason (and the
    costliest losses) in that snapshot; ``con`` is the analytics engine's Ibis backend."""
    import ibis

    from kizuna.analytics.kpi import leakage

    try:
        losses = metrics.load_table(session, name="mrr_losses", as_of=as_of)
    except NotFound:
        return {"skipped": "no KPI snapshot of this date"}
    if losses.empty:
        losses = pd.DataFrame(
            {
                "account_id": pd.Series(dtype="int64"),
                "currency": pd.Series(dtype="string"),
                "month": pd.Series(dtype="object"),
                "movement": pd.Series(dtype="string"),
                "loss_minor": pd.Series(dtype="int64"),
                "involuntary": pd.Series(dtype="bool"),
            }
        )
    losses["month"] = pd.to_datetime(losses["month"]).dt.date
    said = mentions(session)
    with_reasons = leakage.loss_reasons(
        ibis.memtable(losses, schema={**dict(ibis.memtable(losses).schema()), "month": "date"}),
        ibis.memtable(said, schema={"account_id": "int64", "day": "date", "category": "string"}),
    )
    per_loss = con.to_pyarrow(with_reasons).to_pandas()
    summary = con.to_pyarrow(leakage.revenue_leakage(with_reasons)).to_pandas()
    top = per_loss.sort_values("loss_minor", ascending=False).head(TOP_LOSSES)
    metrics.store_table(session, actor=actor, as_of=as_of, name=LEAKAGE_TABLE, frame=summary)
    metrics.store_table(session, actor=actor, as_of=as_of, name=LOSSES_TABLE, frame=top)
    return {"losses": len(per_loss), "reasons": int(summary.reason.nunique()) if len(summary) else 0}


@dataclasses.dataclass
class Leakage:
    snapshot_as_of: dt.date | None = None
    currency: str = "JPY"
    reasons: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    losses: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # the costliest, with account names
    total_lost_minor: int = 0


@metrics.snapshot_cached
def leakage(session: Session, *, top: int = 20) -> Leakage:
    """The stored leakage by reason of the latest snapshot (main currency) and its ``top`` costliest losses (kept
    until the next refresh: callers must not change it)."""
    stamp = metrics.latest_snapshot(session)
    if stamp is None:
        return Leakage()
    out = Leakage(snapshot_as_of=stamp[0])
    try:
        summary = metrics.load_table(session, name=LEAKAGE_TABLE, as_of=stamp[0])
        losses = metrics.load_table(session, name=LOSSES_TABLE, as_of=stamp[0])
    except NotFound:
        return out
    if summary.empty:
        return out
    out.currency = str(summary.groupby("currency")["lost_minor"].sum().idxmax())
    summary = summary[summary.currency == out.currency].sort_values("lost_minor", ascending=False)
    out.reasons = summary.to_dict("records")
    out.total_lost_minor = int(summary.lost_minor.sum())
    if len(losses):
        losses = losses[losses.currency == out.currency].head(top)
        ids = [int(a) for a in losses.account_id]
        names = dict(session.execute(select(Account.id, Account.name).where(Account.id.in_(ids))).all())
        out.losses = [
            {**r, "month": dt.date.fromisoformat(str(r["month"])[:10]), "name": names.get(int(r["account_id"]), "")}
            for r in losses.to_dict("records")
        ]
    return out
