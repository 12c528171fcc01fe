"""Revenue leakage: the MRR lost to churn and contraction, by churn reason.

* ``mrr_losses``: every churn and contraction movement of the last twelve complete months and the month to date
  (``loss_minor`` > 0, the MRR lost);
* a loss's **reason** is ``payment_failed`` for an involuntary churn (failed payments or a cancellation for
  non-payment), else the churn-reason class (VoC classification) the account's texts name most often in the
  ``window_days`` before the loss month ends (ties: the order of :data:`CHURN_REASONS`), else ``unknown``;
* ``revenue_leakage``: per currency and reason, churned and contracted MRR, the accounts, and the ARR lost (12 × the
  MRR lost).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import Tables, add_months
from kizuna.analytics.kpi.revenue import mrr_movements

#: the churn-reason classes of the VoC classification (``kizuna.analytics.text.classify.CATEGORIES``), in the order
#: that breaks a tie
CHURN_REASONS = (
    "results_not_achieved",
    "hard_to_use",
    "insufficient_support",
    "price_not_worth_it",
    "missing_features",
)
PAYMENT_FAILED = "payment_failed"
UNKNOWN = "unknown"
WINDOW_DAYS = 180
LEAKAGE_MONTHS = 12


def mrr_losses(tables: Tables, as_of: dt.date, *, months: int = LEAKAGE_MONTHS) -> ir.Table:
    """Churn and contraction movements from ``months`` months before ``as_of``'s month on.

    Columns: ``account_id, currency, month, movement`` (churn / contraction), ``loss_minor`` (MRR lost, > 0),
    ``involuntary``.
    """
    mv = mrr_movements(tables, as_of)
    first = add_months(as_of.replace(day=1), -months)
    lost = mv.filter(mv.movement.isin(["churn", "contraction"]), mv.month >= ibis.date(first))
    return lost.select(
        "account_id",
        "currency",
        "month",
        "movement",
        loss_minor=(-(lost.churn_minor + lost.contraction_minor)).cast("int64"),
        involuntary=lost.involuntary.fill_null(False),
    ).order_by(["month", "account_id", "currency"])


def loss_reasons(losses: ir.Table, mentions: ir.Table, *, window_days: int = WINDOW_DAYS) -> ir.Table:
    """Each loss of :func:`mrr_losses` with its ``reason``.

    ``mentions``: ``account_id, day`` (date the text was recorded), ``category`` (its VoC class).
    """
    m = mentions.filter(mentions.category.isin(list(CHURN_REASONS)))
    keys = ["account_id", "currency", "month"]
    j = losses.select(*keys).join(
        m,
        [
            losses.account_id == m.account_id,
            m.day < losses.month + ibis.interval(months=1),
            m.day >= losses.month + ibis.interval(months=1) - ibis.interval(days=window_days),
        ],
    )
    counts = j.group_by([*keys, "category"]).aggregate(n=j.count())
    priority = ibis.cases(*((counts.category == c, i) for i, c in enumerate(CHURN_REASONS)), else_=len(CHURN_REASONS))
    counts = counts.mutate(priority=priority)
    top = counts.group_by(keys).aggregate(top_n=counts.n.max())
    best = counts.join(top, keys).filter(lambda t: t.n == t.top_n)
    first = best.group_by(keys).aggregate(priority=best.priority.min())
    chosen = best.join(first, [*keys, "priority"]).select(*keys, voc_reason=best.category)
    out = losses.left_join(chosen, keys).drop(*(f"{k}_right" for k in keys))
    reason = ibis.ifelse(
        out.involuntary & (out.movement == "churn"),
        ibis.literal(PAYMENT_FAILED),
        out.voc_reason.fill_null(ibis.literal(UNKNOWN)),
    )
    return out.mutate(reason=reason).drop("voc_reason")


def revenue_leakage(reasons: ir.Table) -> ir.Table:
    """Per currency and reason: ``churned_minor, contracted_minor, lost_minor, lost_arr_minor`` (12 × lost MRR),
    ``accounts`` (distinct), ``losses``; the costliest first."""
    churn = reasons.movement == "churn"
    out = reasons.group_by(["currency", "reason"]).aggregate(
        churned_minor=reasons.loss_minor.sum(where=churn).fill_null(0).cast("int64"),
        contracted_minor=reasons.loss_minor.sum(where=~churn).fill_null(0).cast("int64"),
        accounts=reasons.account_id.nunique().cast("int64"),
        losses=reasons.count().cast("int64"),
    )
    out = out.mutate(lost_minor=(out.churned_minor + out.contracted_minor).cast("int64"))
    return out.mutate(lost_arr_minor=(out.lost_minor * 12).cast("int64")).order_by(
        [out.currency, ibis.desc("lost_minor"), out.reason]
    )
