"""The Model funnel: lead → MQL → SQL → opportunity → won → onboarded → retained 12 months → expanded.

Every stage is judged as of the cut-off (timestamps before it). A lead reaches:

* ``mql`` / ``sql`` / ``opportunity`` when ``mql_at`` / ``sql_at`` / ``opportunity_at`` is set (or a later stage is);
* ``won`` when an opportunity of kind ``new`` linked to the lead (``lead_id``) closed won before the cut-off;
* ``onboarded`` when its account completed every onboarding milestone (an account without milestones that paid counts);
* ``retained_12m`` when its account still paid at the month-end 12 months after its first paying month;
* ``expanded`` when its account ever had an expansion movement.

Conversion of a stage = leads reaching it / leads reaching the stage before. Velocity medians are exact medians
computed in pandas over the per-lead durations (:func:`stage_velocity`): engines' approximate medians differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import LEAD_COLUMNS, Tables, cutoff, prepared_key, ratio, require
from kizuna.analytics.kpi.revenue import mrr_movements
from kizuna.analytics.kpi.voice import account_onboarding

STAGES = ("lead", "mql", "sql", "opportunity", "won", "onboarded", "retained_12m", "expanded")
FUNNEL_BREAKDOWNS = ("source", "owner_id", "industry", "employee_band", "lead_month")


def prepare(tables: Tables, as_of: dt.date) -> dict[str, Any]:
    """Return ``tables`` plus :func:`lead_stages` of ``as_of`` materialised once on the backend (``.cache()``): every
    funnel table reads them. The outcomes per account come from the MRR movements, or from ``tables`` when it holds
    :func:`account_outcomes` already (the KPI worker of ``kizuna refresh`` gets them from the revenue part)."""
    out = dict(tables)
    if prepared_key("lead_stages", as_of) not in out:
        out[prepared_key("lead_stages", as_of)] = lead_stages(out, as_of).cache()
    return out


def account_outcomes(tables: Tables, as_of: dt.date) -> ir.Table:
    """What became of each account that ever paid, from its MRR movements up to ``as_of``: ``account_id,
    ever_paid`` (true), ``retained_12m`` (paying at the month-end 12 months after its first paying month) and
    ``expanded`` (an expansion movement in some month)."""
    prepared = tables.get(prepared_key("account_outcomes", as_of))
    if prepared is not None:
        return prepared
    mv = mrr_movements(tables, as_of)
    paid = mv.filter(mv.mrr_minor > 0)
    paid = paid.mutate(retained=paid.tenure_months == 12, expanded=paid.movement == "expansion")
    return paid.group_by("account_id").aggregate(
        ever_paid=ibis.literal(True), retained_12m=paid.retained.max(), expanded=paid.expanded.max()
    )


def lead_stages(tables: Tables, as_of: dt.date) -> ir.Table:
    """One row per lead created before the cut-off with a boolean per stage and the stage timestamps.

    Columns: ``lead_id, account_id, source, owner_id, industry, employee_band, lead_month, created_at, mql_at,
    sql_at, opportunity_at, won_at`` and ``reached_<stage>`` for every stage in ``STAGES``.
    """
    prepared = tables.get(prepared_key("lead_stages", as_of))
    if prepared is not None:
        return prepared
    leads = require(tables, "leads", LEAD_COLUMNS)
    opps = require(tables, "opportunities", ("lead_id", "kind", "stage", "closed_at", "created_at"))
    end = cutoff(as_of)
    leads = leads.filter(leads.created_at < end)

    def known(col: ir.TimestampValue) -> ir.TimestampValue:
        return ibis.ifelse(col < end, col, ibis.null("timestamp('UTC')"))

    leads = leads.mutate(
        mql_at=known(leads.mql_at), sql_at=known(leads.sql_at), opportunity_at=known(leads.opportunity_at)
    )
    won = opps.filter(opps.kind == "new", opps.stage == "won", opps.closed_at < end, opps.lead_id.notnull())
    won = won.group_by("lead_id").aggregate(won_at=won.closed_at.min())
    opp_any = opps.filter(opps.lead_id.notnull(), opps.created_at < end)
    opp_any = opp_any.group_by("lead_id").aggregate(opp_created_at=opp_any.created_at.min())
    out = leads.rename(lead_id="id")
    out = out.left_join(won, "lead_id").drop("lead_id_right").left_join(opp_any, "lead_id").drop("lead_id_right")

    acct = account_outcomes(tables, as_of)
    onb = account_onboarding(tables, as_of).select(
        onb_account_id="account_id", onboarding_complete="onboarding_complete"
    )
    acct = acct.left_join(onb, acct.account_id == onb.onb_account_id).drop("onb_account_id")
    out = out.left_join(acct, "account_id").drop("account_id_right")

    reached_won = out.won_at.notnull()
    reached_opp = out.opportunity_at.notnull() | out.opp_created_at.notnull() | reached_won
    reached_sql = out.sql_at.notnull() | reached_opp
    reached_mql = out.mql_at.notnull() | reached_sql
    onboarded = reached_won & out.ever_paid.fill_null(False) & out.onboarding_complete.fill_null(True)
    retained = onboarded & out.retained_12m.fill_null(False)
    expanded = retained & out.expanded.fill_null(False)
    out = out.mutate(
        lead_month=out.created_at.date().truncate("M"),
        reached_lead=ibis.literal(True),
        reached_mql=reached_mql,
        reached_sql=reached_sql,
        reached_opportunity=reached_opp,
        reached_won=reached_won,
        reached_onboarded=onboarded,
        reached_retained_12m=retained,
        reached_expanded=expanded,
    )
    return out.select(
        "lead_id",
        "account_id",
        "source",
        "owner_id",
        "industry",
        "employee_band",
        "lead_month",
        "created_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "won_at",
        "first_touch_at",
        "disqualified_at",
        *(f"reached_{s}" for s in STAGES),
    )


def funnel_conversion(tables: Tables, as_of: dt.date, *, by: Sequence[str] = ()) -> ir.Table:
    """Leads reaching each stage and the conversion from the previous stage, per breakdown ``by``.

    Long format: ``*by, stage, stage_order, leads, previous, conversion`` (leads / previous; null when 0) and
    ``from_lead`` (leads / all leads).
    """
    rows = lead_stages(tables, as_of)
    g = rows.group_by(list(by)) if by else rows
    counts = g.aggregate(**{s: rows[f"reached_{s}"].cast("int64").sum() for s in STAGES})
    parts = []
    for i, stage in enumerate(STAGES):
        prev = STAGES[i - 1] if i else stage
        parts.append(
            counts.select(
                *by,
                stage=ibis.literal(stage),
                stage_order=ibis.literal(i, "int64"),
                leads=counts[stage].cast("int64"),
                previous=counts[prev].cast("int64"),
                all_leads=counts["lead"].cast("int64"),
            )
        )
    out = ibis.union(*parts)
    return (
        out.mutate(conversion=ratio(out.leads, out.previous), from_lead=ratio(out.leads, out.all_leads))
        .drop("all_leads")
        .order_by([*by, "stage_order"])
    )


def stage_durations(tables: Tables, as_of: dt.date) -> ir.Table:
    """Days between consecutive stage timestamps per lead (long): ``lead_id, source, owner_id, transition, days``."""
    rows = lead_stages(tables, as_of)
    pairs = (
        ("lead_to_mql", "created_at", "mql_at"),
        ("mql_to_sql", "mql_at", "sql_at"),
        ("sql_to_opportunity", "sql_at", "opportunity_at"),
        ("opportunity_to_won", "opportunity_at", "won_at"),
    )
    parts = []
    for name, a, b in pairs:
        seconds = rows[b].epoch_seconds() - rows[a].epoch_seconds()
        part = rows.filter(rows[a].notnull(), rows[b].notnull()).select(
            "lead_id",
            "source",
            "owner_id",
            transition=ibis.literal(name),
            days=(seconds.cast("float64") / 86400.0),
        )
        parts.append(part)
    return ibis.union(*parts)


def stage_velocity(tables: Tables, as_of: dt.date, *, by: Sequence[str] = (), durations: Any = None) -> Any:
    """Exact median (and count) of days per stage transition, per ``by`` (``source`` / ``owner_id``); pandas.

    The durations come from the engine (or ``durations``, an executed :func:`stage_durations` frame, to reuse one
    query for several breakdowns); the median is taken in pandas so DuckDB and Spark agree exactly.
    """
    frame = durations if durations is not None else stage_durations(tables, as_of).to_pyarrow().to_pandas()
    keys = [*by, "transition"]
    if frame.empty:
        import pandas as pd

        return pd.DataFrame(columns=[*keys, "leads", "median_days"])
    out = frame.groupby(keys, dropna=False)["days"].agg(leads="count", median_days="median").reset_index()
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def untouched_leads(tables: Tables, as_of: dt.date, *, days: int = 3) -> ir.Table:
    """Leads handed off (MQL) to inside sales more than ``days`` days before the cut-off with no first touch within
    ``days`` days of the hand-off, not disqualified: ``lead_id, source, owner_id, mql_at, first_touch_at,
    waited_days`` (until the touch or the cut-off)."""
    rows = lead_stages(tables, as_of)
    end = cutoff(as_of)
    touched = rows.first_touch_at.notnull() & (rows.first_touch_at < end)
    waited_until = ibis.ifelse(touched, rows.first_touch_at, end)
    waited = (waited_until.epoch_seconds() - rows.mql_at.epoch_seconds()).cast("float64") / 86400.0
    out = rows.filter(
        rows.mql_at.notnull(),
        rows.disqualified_at.isnull() | (rows.disqualified_at >= end),
        ~rows.reached_opportunity,
    ).mutate(waited_days=waited)
    return out.filter(out.waited_days > days).select(
        "lead_id", "source", "owner_id", "mql_at", "first_touch_at", "waited_days"
    )


def source_quality(tables: Tables, as_of: dt.date, *, by: Sequence[str] = ("source",)) -> ir.Table:
    """Which sources and segments become customers who stay and grow: per ``by`` the leads, wins, 12-month
    retained and expanded customers and their rates (``win_rate``, ``retained_rate`` = retained / won,
    ``expanded_rate`` = expanded / won)."""
    rows = lead_stages(tables, as_of)
    out = rows.group_by(list(by)).aggregate(
        leads=rows.count(),
        won=rows.reached_won.cast("int64").sum(),
        retained_12m=rows.reached_retained_12m.cast("int64").sum(),
        expanded=rows.reached_expanded.cast("int64").sum(),
    )
    out = out.mutate(leads=out.leads.cast("int64"))
    return out.mutate(
        win_rate=ratio(out.won, out.leads),
        retained_rate=ratio(out.retained_12m, out.won),
        expanded_rate=ratio(out.expanded, out.won),
    ).order_by(list(by))
