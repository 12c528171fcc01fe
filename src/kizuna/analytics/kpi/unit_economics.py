"""Unit economics: LTV, CAC per month and channel, LTV/CAC and CAC payback.

* ``ltv = ARPA × gross margin / monthly logo churn``, with churn averaged over the trailing 12 months (customers
  churned / customer-months at risk) so one quiet month does not make LTV infinite;
* ``cac = marketing spend / new customers`` per month and channel (channel = ``leads.source`` of the account's first
  lead; accounts without a lead are ``unattributed``; spend channels are matched to lead sources by name);
* ``cac_payback_months = CAC / (new-customer ARPA × gross margin)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import Tables, month_spine, ratio, require
from kizuna.analytics.kpi.revenue import first_month, mrr_movements, mrr_summary

UNATTRIBUTED = "unattributed"
LTV_CHURN_WINDOW_MONTHS = 12


def account_channel(tables: Tables) -> ir.Table:
    """The acquisition channel of each account: the source of its earliest lead (ties: lowest lead id)."""
    leads = require(tables, "leads", ("id", "account_id", "source", "created_at"))
    linked = leads.filter(leads.account_id.notnull())
    first = linked.group_by("account_id").aggregate(first_at=linked.created_at.min())
    j = linked.join(first, "account_id").filter(lambda t: t.created_at == t.first_at)
    pick = j.group_by("account_id").aggregate(lead_id=j.id.min())
    out = pick.join(leads.select(lead_id=leads.id, channel=leads.source), "lead_id")
    return out.select("account_id", "channel")


def cac(tables: Tables, as_of: dt.date) -> ir.Table:
    """CAC per currency, month and channel (plus ``channel = 'all'``).

    Columns: ``currency, month, channel, spend_minor, new_customers, new_mrr_minor, cac_minor`` (null without new
    customers). Spend rows count from their month; new customers are accounts whose ``new`` movement is in the month.
    """
    spend = require(tables, "marketing_spend", ("month", "channel", "amount_minor", "currency"))
    mv = mrr_movements(tables, as_of)
    new = mv.filter(mv.movement == "new")
    ch = account_channel(tables)
    new = new.left_join(ch, "account_id").drop("account_id_right")
    new = new.mutate(channel=new.channel.fill_null(UNATTRIBUTED))
    wins = new.group_by(["currency", "month", "channel"]).aggregate(
        new_customers=new.count(), new_mrr_minor=new.new_minor.sum()
    )
    spine = month_spine(tables, first_month(tables, as_of), as_of).select("month")
    sp = spend.filter(spend.month <= ibis.date(as_of))
    sp = sp.mutate(month=sp.month.truncate("M")).join(spine, "month")
    sp = sp.group_by(["currency", "month", "channel"]).aggregate(spend_minor=sp.amount_minor.sum())
    keys = ["currency", "month", "channel"]
    both = sp.outer_join(wins, keys)
    both = both.select(
        currency=both.currency.fill_null(both.currency_right),
        month=both.month.fill_null(both.month_right),
        channel=both.channel.fill_null(both.channel_right),
        spend_minor=both.spend_minor.fill_null(0).cast("int64"),
        new_customers=both.new_customers.fill_null(0).cast("int64"),
        new_mrr_minor=both.new_mrr_minor.fill_null(0).cast("int64"),
    )
    total = both.group_by(["currency", "month"]).aggregate(
        channel=ibis.literal("all"),
        spend_minor=both.spend_minor.sum(),
        new_customers=both.new_customers.sum(),
        new_mrr_minor=both.new_mrr_minor.sum(),
    )
    out = both.union(total.select(*both.columns))
    return out.mutate(cac_minor=ratio(out.spend_minor, out.new_customers)).order_by(keys)


def unit_economics(tables: Tables, as_of: dt.date, *, gross_margin: float) -> ir.Table:
    """LTV, CAC, LTV/CAC and CAC payback per currency and month (all channels).

    Columns: ``currency, month, arpa_minor, churn_rate_12m`` (trailing 12-month average monthly logo churn),
    ``gross_margin`` (the one given), ``ltv_minor, spend_minor, new_customers, cac_minor, ltv_to_cac,
    new_arpa_minor, cac_payback_months``.
    """
    summary = mrr_summary(tables, as_of).select(
        "currency", "month", "arpa_minor", "churned_customers", "customers_start"
    )
    window = summary.select(
        "currency", w_month=summary.month, w_churned=summary.churned_customers, w_start=summary.customers_start
    )
    j = summary.join(
        window,
        [
            summary.currency == window.currency,
            window.w_month <= summary.month,
            window.w_month > summary.month - ibis.interval(months=LTV_CHURN_WINDOW_MONTHS),
        ],
    )
    churn = j.group_by(["currency", "month"]).aggregate(churned=j.w_churned.sum(), at_risk=j.w_start.sum())
    out = summary.join(churn, ["currency", "month"])
    out = out.mutate(churn_rate_12m=ratio(out.churned, out.at_risk))
    margin = ibis.literal(float(gross_margin), "float64")
    out = out.mutate(
        ltv_minor=ibis.ifelse(
            out.churn_rate_12m > 0, out.arpa_minor * margin / out.churn_rate_12m, ibis.null("float64")
        )
    )
    acq = cac(tables, as_of)
    acq = acq.filter(acq.channel == "all").drop("channel")
    out = out.left_join(acq, ["currency", "month"]).drop("currency_right", "month_right")
    out = out.mutate(
        spend_minor=out.spend_minor.fill_null(0),
        new_customers=out.new_customers.fill_null(0),
        new_arpa_minor=ratio(out.new_mrr_minor, out.new_customers),
    )
    out = out.mutate(
        ltv_to_cac=ratio(out.ltv_minor, out.cac_minor),
        cac_payback_months=ratio(out.cac_minor, out.new_arpa_minor * margin),
        gross_margin=margin,  # stored with the figures it made, so a page shows the inputs it used
    )
    return out.select(
        "currency",
        "month",
        "arpa_minor",
        "churn_rate_12m",
        "gross_margin",
        "ltv_minor",
        "spend_minor",
        "new_customers",
        "cac_minor",
        "ltv_to_cac",
        "new_arpa_minor",
        "cac_payback_months",
    ).order_by(["currency", "month"])


#: what a manager can hold the figures against: outside these, the figure is more likely an artefact of its inputs
#: (a churn rate near zero, a month with almost no spend or new customers) than a fact about the business
PLAUSIBLE_LTV_TO_CAC = (1.0, 10.0)
PLAUSIBLE_PAYBACK_MONTHS = (3.0, 36.0)
#: 1 / monthly churn: an average customer lifetime above ten years makes ARPA x margin / churn unreliable
PLAUSIBLE_LIFETIME_MONTHS = 120.0
#: fewer new customers in a month than this: its CAC rests on a handful of deals
PLAUSIBLE_NEW_CUSTOMERS = 10


def implausible(month: Mapping[str, Any]) -> list[str]:
    """The checks one month of :func:`unit_economics` fails, as codes (empty when all figures are plausible).

    ``ltv_to_cac_high`` / ``ltv_to_cac_low``: LTV/CAC outside :data:`PLAUSIBLE_LTV_TO_CAC`; ``payback_short`` /
    ``payback_long``: payback outside :data:`PLAUSIBLE_PAYBACK_MONTHS`; ``lifetime_long``: the churn rate used
    implies an average lifetime beyond :data:`PLAUSIBLE_LIFETIME_MONTHS` (or is zero, and LTV is undefined);
    ``few_new_customers``: CAC divides by fewer than :data:`PLAUSIBLE_NEW_CUSTOMERS` new customers; ``no_spend``:
    customers were won with no recorded spend (CAC 0: marketing spend is missing, not free).
    """

    def number(key: str) -> float | None:
        value = month.get(key)
        return None if value is None or value != value else float(value)

    flags: list[str] = []
    ratio_, payback, churn = number("ltv_to_cac"), number("cac_payback_months"), number("churn_rate_12m")
    new, spend = number("new_customers"), number("spend_minor")
    if ratio_ is not None and ratio_ > PLAUSIBLE_LTV_TO_CAC[1]:
        flags.append("ltv_to_cac_high")
    elif ratio_ is not None and ratio_ < PLAUSIBLE_LTV_TO_CAC[0]:
        flags.append("ltv_to_cac_low")
    if payback is not None and payback < PLAUSIBLE_PAYBACK_MONTHS[0]:
        flags.append("payback_short")
    elif payback is not None and payback > PLAUSIBLE_PAYBACK_MONTHS[1]:
        flags.append("payback_long")
    if churn is not None and (churn <= 0 or 1.0 / churn > PLAUSIBLE_LIFETIME_MONTHS):
        flags.append("lifetime_long")
    if new is not None and 0 < new < PLAUSIBLE_NEW_CUSTOMERS:
        flags.append("few_new_customers")
    if new and not spend:
        flags.append("no_spend")
    return flags
