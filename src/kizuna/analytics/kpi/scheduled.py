"""MRR that is still there but known to change: lines on pause and lines under a cancellation notice.

* **Pause**: a subscription version with status ``paused`` holds its line for ``[start_date, end_date)``: no MRR, no
  churn (its MRR leaves as a ``pause`` movement and comes back as ``resume``, :mod:`~kizuna.analytics.kpi.revenue`).
  At each month-end: ``customers_on_pause`` (accounts with a paused line) and ``mrr_on_pause_minor`` (the MRR
  those lines carry while on hold).
* **Cancellation notice**: ``cancelled_at`` is the day the customer gave notice, ``end_date`` the end of the
  service they keep paying for. A paid line valid at a month-end whose notice was given by then is **churn
  scheduled**: ``churn_scheduled_customers`` and ``churn_scheduled_mrr_minor`` (still in MRR until the service ends).
  ``notices_given`` counts the contracts whose notice fell in the month, ``avg_notice_days`` the mean days from
  notice to service end of the contracts whose service ended in the month.

Per currency and month, from the first month with a revenue line to ``as_of``'s. Definitions: ``docs/metrics.md``.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import SUBSCRIPTION_COLUMNS, Tables, month_spine, ratio, require
from kizuna.analytics.kpi.revenue import KEYS, first_month, paused_mrr, revenue_lines

_COUNTS = ("customers_on_pause", "churn_scheduled_customers", "notices_given")
_MONEY = ("mrr_on_pause_minor", "churn_scheduled_mrr_minor")


def scheduled_changes(tables: Tables, as_of: dt.date) -> ir.Table:
    """Per ``currency, month``: ``customers_on_pause, mrr_on_pause_minor, churn_scheduled_customers,
    churn_scheduled_mrr_minor, notices_given, avg_notice_days`` (months with none of them have no row)."""
    spine = month_spine(tables, first_month(tables, as_of), as_of)
    zero = ibis.literal(0, "int64")

    paused = paused_mrr(tables, as_of)
    on_hold = paused.group_by(["currency", "month"]).aggregate(
        customers_on_pause=paused.count(), mrr_on_pause_minor=paused.paused_mrr_minor.sum()
    )

    lines = revenue_lines(tables, as_of)
    noticed = lines.filter(lines.cancelled_at.notnull(), lines.cancelled_at <= ibis.date(as_of))
    j = noticed.join(
        spine,
        [
            noticed.start_date <= spine.snapshot_day,
            noticed.end_open > spine.snapshot_day,
            noticed.cancelled_at <= spine.snapshot_day,
        ],
    )
    per_account = j.group_by(KEYS).aggregate(mrr=j.mrr_minor.sum())
    scheduled = per_account.group_by(["currency", "month"]).aggregate(
        churn_scheduled_customers=per_account.count(), churn_scheduled_mrr_minor=per_account.mrr.sum()
    )

    # a notice is given on a paid or a paused line (a customer may cancel while on pause): the contract's notice
    # and service end count whichever carries it
    subs = require(tables, "subscriptions", SUBSCRIPTION_COLUMNS)
    held = subs.filter(
        subs.status.notin(("trial",)),
        subs.start_date <= ibis.date(as_of),
        subs.cancelled_at.notnull(),
        subs.cancelled_at <= ibis.date(as_of),
    )
    contracts = held.group_by(["account_id", "contract_id", "currency"]).aggregate(
        notice=held.cancelled_at.min(), service_end=held.end_date.max()
    )
    given = contracts.group_by(["currency", contracts.notice.truncate("M").name("month")]).aggregate(
        notices_given=contracts.count()
    )
    ended = contracts.filter(contracts.service_end.notnull(), contracts.service_end <= ibis.date(as_of))
    ended = ended.mutate(days=ended.service_end.delta(ended.notice, unit="day").cast("int64"))
    lead = ended.group_by(["currency", ended.service_end.truncate("M").name("month")]).aggregate(
        ended_with_notice=ended.count(), notice_days=ended.days.sum()
    )

    keys = (
        on_hold.select("currency", "month")
        .union(scheduled.select("currency", "month"))
        .union(given.select("currency", "month"))
        .union(lead.select("currency", "month"))
        .distinct()
    )
    out = keys
    for part in (on_hold, scheduled, given, lead):
        out = out.left_join(part, ["currency", "month"]).drop("currency_right", "month_right")
    out = out.join(spine.select("month"), "month")  # months up to as_of's (a notice may end later)
    return out.select(
        "currency",
        "month",
        **{c: out[c].fill_null(zero).cast("int64") for c in (*_COUNTS, *_MONEY)},
        avg_notice_days=ratio(out.notice_days, out.ended_with_notice),
    ).order_by(["currency", "month"])
