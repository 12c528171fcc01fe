"""Cohort retention (logo and revenue) by first paying month, and churn by tenure bucket.

Cohorts follow the account from its first paying month (``cohort_month``, period 0) through every later month-end;
the matrices are long tables (one row per cohort and period) that pages pivot into heatmaps (:func:`cohort_matrix`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import Tables, ratio
from kizuna.analytics.kpi.breakdowns import with_breakdown
from kizuna.analytics.kpi.revenue import mrr_movements

# Tenure buckets in whole months since the cohort month: [lower, upper) and their labels
TENURE_BUCKETS: tuple[tuple[int, int, str], ...] = (
    (0, 3, "0-2m"),
    (3, 6, "3-5m"),
    (6, 12, "6-11m"),
    (12, 24, "12-23m"),
    (24, 10_000, "24m+"),
)


def _cohort_attributes(tables: Tables, mv: ir.Table, by: Sequence[str]) -> ir.Table:
    """One row per account and currency with its cohort month and breakdown attributes (plan: at period 0)."""
    extra = [b for b in by if b in mv.columns and b != "cohort_month"]
    first = mv.filter(mv.tenure_months == 0).select("account_id", "currency", "cohort_month", "plan_id", *extra)
    return with_breakdown(tables, first, by)


def cohort_retention(tables: Tables, as_of: dt.date, *, by: Sequence[str] = ()) -> ir.Table:
    """Logo and revenue retention per cohort month and period (months since the cohort month).

    Columns: ``currency, cohort_month, *by, period, cohort_customers, cohort_mrr_minor, customers, mrr_minor,
    logo_retention`` (= customers / cohort_customers) and ``revenue_retention`` (= mrr_minor / cohort_mrr_minor, may
    exceed 1: net of expansion). Reactivated accounts count again in the periods they pay.
    """
    mv = mrr_movements(tables, as_of)
    attrs = _cohort_attributes(tables, mv, by)
    paying = mv.filter(mv.mrr_minor > 0).select("account_id", "currency", "tenure_months", "mrr_minor")
    rows = paying.join(attrs, ["account_id", "currency"])
    keys = ["currency", "cohort_month", *by]
    cells = rows.group_by([*keys, "tenure_months"]).aggregate(customers=rows.count(), mrr_minor=rows.mrr_minor.sum())
    size = cells.filter(cells.tenure_months == 0).select(
        *keys, cohort_customers=cells.customers, cohort_mrr_minor=cells.mrr_minor
    )
    out = cells.join(size, keys)
    out = out.select(
        *keys,
        period=out.tenure_months,
        cohort_customers=out.cohort_customers.cast("int64"),
        cohort_mrr_minor=out.cohort_mrr_minor.cast("int64"),
        customers=out.customers.cast("int64"),
        mrr_minor=out.mrr_minor.cast("int64"),
        logo_retention=ratio(out.customers, out.cohort_customers),
        revenue_retention=ratio(out.mrr_minor, out.cohort_mrr_minor),
    )
    return out.order_by([*keys, "period"])


def tenure_bucket(months: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(*((months < upper, label) for _, upper, label in TENURE_BUCKETS), else_=TENURE_BUCKETS[-1][2])


def churn_by_tenure(tables: Tables, as_of: dt.date, *, by: Sequence[str] = ()) -> ir.Table:
    """Monthly logo and revenue churn by tenure bucket (tenure at the start of the month) and breakdown ``by``.

    Columns: ``currency, tenure_bucket, *by, customer_months`` (account-months paying at the start),
    ``churned_customers, mrr_start_minor, churn_minor, logo_churn_rate`` (churned / customer-months: the average
    monthly churn rate in the bucket) and ``revenue_churn_rate`` (-churn / MRR at the start). Breakdown attributes
    are the month's (plan: the plan held when churning).
    """
    mv = mrr_movements(tables, as_of)
    at_risk = mv.filter(mv.mrr_start_minor > 0)
    at_risk = at_risk.mutate(tenure_bucket=tenure_bucket(at_risk.tenure_months - 1))
    at_risk = with_breakdown(tables, at_risk, by)
    out = at_risk.group_by(["currency", "tenure_bucket", *by]).aggregate(
        customer_months=at_risk.count(),
        churned_customers=(at_risk.movement == "churn").cast("int64").sum(),
        mrr_start_minor=at_risk.mrr_start_minor.sum(),
        churn_minor=at_risk.churn_minor.sum(),
    )
    out = out.mutate(customer_months=out.customer_months.cast("int64"))
    return out.mutate(
        logo_churn_rate=ratio(out.churned_customers, out.customer_months),
        revenue_churn_rate=ratio(-out.churn_minor, out.mrr_start_minor),
    ).order_by(["currency", "tenure_bucket", *by])


def cohort_matrix(frame: Any, value: str = "logo_retention", *, index: Sequence[str] = ("cohort_month",)) -> Any:
    """Pivot a :func:`cohort_retention` result (pandas) into the heatmap matrix: cohorts × periods of ``value``."""
    return frame.pivot_table(index=list(index), columns="period", values=value, aggfunc="first").sort_index()
