"""Everything ``kizuna refresh`` stores, computed in one pass: monthly series (long), tables and per-account metrics.

Pure: takes the hub tables on any backend, returns pandas frames. The metrics domain writes them to the app database.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kizuna.analytics.kpi import cohorts, funnel, fx, leakage, revenue, scheduled, trials, unit_economics, usage, voice
from kizuna.analytics.kpi._common import Tables

log = logging.getLogger(__name__)

# breakdowns stored for the monthly series ("cohort_month" is covered by the cohort tables)
SERIES_BREAKDOWNS = ("plan", "industry", "region", "owner_id", "touch_tier", "employee_band", "lifecycle_stage")
# the breakdown of the series kept in each currency of its own (the totals and other breakdowns are in the base one)
PER_CURRENCY = "currency"
_KEYS = ("currency", "month")


def frame(expr: Any) -> pd.DataFrame:
    """Execute an Ibis expression to pandas through Arrow (same path on DuckDB and Spark)."""
    if isinstance(expr, pd.DataFrame):
        return expr
    return expr.to_pyarrow().to_pandas()


def _long(wide: pd.DataFrame, *, keys: tuple[str, ...] = _KEYS) -> pd.DataFrame:
    """Melt a monthly wide frame into ``metric, month, currency, dimension, dimension_value, value`` rows: a frame
    computed ``by_each`` breakdown has ``dimension, dimension_value`` already, any other is the total ('', '')."""
    stacked = ["dimension", "dimension_value"] if "dimension_value" in wide.columns else []
    ids = [k for k in keys if k in wide.columns] + stacked
    values = [c for c in wide.columns if c not in ids and pd.api.types.is_numeric_dtype(wide[c])]
    values = [c for c in values if not pd.api.types.is_bool_dtype(wide[c])]
    out = wide.melt(id_vars=ids, value_vars=values, var_name="metric", value_name="value")
    if "currency" not in out.columns:
        out["currency"] = ""
    if not stacked:
        out["dimension"] = out["dimension_value"] = ""
    out["month"] = pd.to_datetime(out["month"]).dt.date
    out["value"] = out["value"].astype("float64")
    return out.loc[:, ["metric", "month", "currency", "dimension", "dimension_value", "value"]]


def _empty_series() -> pd.DataFrame:
    """The long series frame with no row (the columns and types :func:`_long` gives)."""
    return pd.DataFrame(
        {
            "metric": pd.Series(dtype="object"),
            "month": pd.Series(dtype="object"),
            "currency": pd.Series(dtype="object"),
            "dimension": pd.Series(dtype="object"),
            "dimension_value": pd.Series(dtype="object"),
            "value": pd.Series(dtype="float64"),
        }
    )


@dataclass
class Part:
    """What one part of the snapshot computed: long series frames, named tables and per-account columns (by
    ``account_id``; none from the funnel)."""

    series: list[pd.DataFrame]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    accounts: pd.DataFrame | None = None


def compute_snapshot(
    tables: Tables, as_of: dt.date, *, gross_margin: float, base_currency: str = "JPY"
) -> dict[str, Any]:
    """All KPIs as of ``as_of``: ``{"series": long frame, "tables": {name: frame}, "accounts": frame}``, money in
    ``base_currency`` (:func:`~kizuna.analytics.kpi.fx.in_base_currency`) and, as the breakdown ``currency``, in
    each currency of its own.

    The snapshot has four parts. :func:`voice_part` and :func:`usage_part` share nothing with the others, and
    :func:`funnel_part` needs of :func:`revenue_part` only the outcome of each account
    (:func:`~kizuna.analytics.kpi.funnel.account_outcomes`, a small table), so a caller may compute them apart
    (``kizuna refresh`` computes the usage and funnel parts, which read the events and the leads, in a second
    process beside the other two) and :func:`combine` them.
    """
    conversion = fx.in_base_currency(tables, as_of, base=base_currency)
    prepared = revenue.prepare_revenue(conversion.tables, as_of)
    return combine(
        revenue_part(
            prepared,
            as_of,
            gross_margin=gross_margin,
            native=tables if conversion.converted else None,
            base_currency=conversion.currency,
        ),
        voice_part(tables, as_of),
        usage_part(tables, as_of),
        funnel_part(prepared, as_of),
    )


def revenue_part(
    tables: Tables, as_of: dt.date, *, gross_margin: float, native: Tables | None = None, base_currency: str = "JPY"
) -> Part:
    """MRR movements and what is derived from them: revenue, retention, renewals, unit economics, cohorts, pauses,
    notices and trials (reads no event and no lead). ``tables`` is the hub in the reporting currency
    (:attr:`~kizuna.analytics.kpi.fx.Conversion.tables`) and may hold
    :func:`~kizuna.analytics.kpi.revenue.prepare_revenue`'s intermediates already; ``native`` the hub's own tables
    when these were converted (several currencies): the series' ``currency`` breakdown and each account's money
    come from them, in each currency of its own; ``base_currency`` the reporting currency ``tables`` are in."""
    t = revenue.prepare_revenue(tables, as_of)
    summary = frame(revenue.mrr_summary(t, as_of))
    changes = frame(scheduled.scheduled_changes(t, as_of))
    series = [
        _long(summary),
        _long(frame(revenue.mrr_summary(t, as_of, by_each=SERIES_BREAKDOWNS))),
        _long(changes),
    ]
    if native is None:  # one currency: each currency's own figures are the totals
        series += [_long(_per_currency(summary)), _long(_per_currency(changes))]
    else:
        # the movements once for the summary and the accounts, reusing the converted pass's where nothing was converted
        native = fx.own_currency_movements(native, t, as_of, base=base_currency)
        series += [
            _long(_per_currency(frame(revenue.mrr_summary(native, as_of)))),
            _long(_per_currency(frame(scheduled.scheduled_changes(native, as_of)))),
        ]
    own = t if native is None else native
    outcomes = trials.trial_outcomes(own, as_of).cache()
    series.append(_long(frame(trials.trial_summary(own, as_of, outcomes=outcomes))))
    series.append(_long(frame(trials.trial_summary(own, as_of, by_each=("plan",), outcomes=outcomes))))
    series.append(_long(frame(unit_economics.unit_economics(t, as_of, gross_margin=gross_margin))))
    series.append(_long(frame(revenue.renewals(t, as_of))))

    by_tenure_and_plan = frame(cohorts.churn_by_tenure(t, as_of, by=["plan"]))
    results: dict[str, pd.DataFrame] = {
        "cohort_retention": frame(cohorts.cohort_retention(t, as_of)),
        "cohort_retention_by_plan": frame(cohorts.cohort_retention(t, as_of, by=["plan"])),
        "cohort_retention_by_touch_tier": frame(cohorts.cohort_retention(t, as_of, by=["touch_tier"])),
        "churn_by_tenure": frame(cohorts.churn_by_tenure(t, as_of)),
        "churn_by_tenure_and_plan": by_tenure_and_plan,
        "churn_by_plan": by_tenure_and_plan.groupby(["currency", "plan"], dropna=False)[
            ["customer_months", "churned_customers"]
        ]
        .sum()
        .reset_index()
        .assign(logo_churn_rate=lambda f: f.churned_customers / f.customer_months.where(f.customer_months > 0)),
        "cac_by_channel": frame(unit_economics.cac(t, as_of)),
        # the losses the leakage step gives a churn reason once the VoC texts are classified (kizuna.leakage)
        "mrr_losses": frame(leakage.mrr_losses(t, as_of)),
    }

    mv = revenue.mrr_movements(own, as_of)
    month = mv.filter(mv.month == as_of.replace(day=1))
    money = frame(
        month.select(
            "account_id",
            "currency",
            "mrr_minor",
            "plan_id",
            "cohort_month",
            "tenure_months",
            mrr_movement=month.movement,
            mrr_change_minor=month.mrr_minor - month.mrr_start_minor,
        )
    )
    # an account billed in several currencies keeps its largest line of business here (the series keep them all)
    money = money.sort_values(["account_id", "mrr_minor", "currency"], ascending=[True, False, True])
    money = money.drop_duplicates("account_id").assign(arr_minor=lambda f: f.mrr_minor * 12)
    return Part(series=series, tables=results, accounts=money)


def _per_currency(wide: pd.DataFrame) -> pd.DataFrame:
    """A per-currency frame as the ``currency`` breakdown (``dimension_value``: the currency's code)."""
    return wide.assign(dimension=PER_CURRENCY, dimension_value=wide["currency"])


def usage_part(tables: Tables, as_of: dt.date) -> Part:
    """Product usage, from the events: monthly series and per-account columns for every account known at
    ``as_of``. Reads no MRR movement."""
    t = usage.prepare(tables, as_of)
    series = [_long(frame(usage.monthly_usage(t, as_of))).assign(metric=lambda f: "usage_" + f.metric)]
    accounts = frame(usage.account_usage(t, as_of)).drop(columns=["last_login_at"])
    return Part(series=series, tables={"feature_adoption": frame(usage.feature_adoption(t, as_of))}, accounts=accounts)


def voice_part(tables: Tables, as_of: dt.date) -> Part:
    """Onboarding, surveys and support: monthly series, the onboarding tables and per-account columns. Reads no MRR
    movement and no event."""
    t = voice.prepare(tables, as_of)
    results = {
        "onboarding": frame(voice.onboarding_summary(t, as_of)).assign(
            median_time_to_value_days=voice.median_time_to_value(t, as_of)
        ),
        "onboarding_by_touch_tier": frame(voice.onboarding_summary(t, as_of, by=["touch_tier"])),
    }
    series = [
        _long(frame(voice.survey_scores(t, as_of))),
        _long(frame(voice.survey_scores(t, as_of, by_each=("industry", "region", "owner_id", "touch_tier")))),
    ]
    series.append(_long(frame(voice.support_load(t, as_of))).assign(metric=lambda f: "support_" + f.metric))
    onb = frame(voice.account_onboarding(t, as_of)).rename(columns={"completion_rate": "onboarding_completion_rate"})[
        ["account_id", "onboarding_completion_rate", "onboarding_complete", "time_to_value_days"]
    ]
    accounts = frame(voice.account_voice(t, as_of)).merge(onb, on="account_id", how="left")
    return Part(series=series, tables=results, accounts=accounts)


def funnel_part(tables: Tables, as_of: dt.date) -> Part:
    """The Model funnel: conversion, stage velocity, untouched leads and the sources and segments that stay and grow
    (tables only). ``tables`` holds the MRR movements or the outcome of each account
    (:func:`~kizuna.analytics.kpi.funnel.prepare`)."""
    t = funnel.prepare(tables, as_of)
    durations = frame(funnel.stage_durations(t, as_of))
    results = {
        "funnel": frame(funnel.funnel_conversion(t, as_of)),
        "funnel_by_source": frame(funnel.funnel_conversion(t, as_of, by=["source"])),
        "funnel_by_owner": frame(funnel.funnel_conversion(t, as_of, by=["owner_id"])),
        "funnel_by_lead_month": frame(funnel.funnel_conversion(t, as_of, by=["lead_month"])),
        "stage_velocity": funnel.stage_velocity(t, as_of, durations=durations),
        "stage_velocity_by_source": funnel.stage_velocity(t, as_of, by=["source"], durations=durations),
        "stage_velocity_by_owner": funnel.stage_velocity(t, as_of, by=["owner_id"], durations=durations),
        "untouched_leads": frame(funnel.untouched_leads(t, as_of)),
        "source_quality": frame(funnel.source_quality(t, as_of)),
        "segment_quality": frame(funnel.source_quality(t, as_of, by=["industry", "employee_band"])),
    }
    return Part(series=[], tables=results)


def combine(
    revenue_result: Part, voice_result: Part, usage_result: Part, funnel_result: Part | None = None
) -> dict[str, Any]:
    """The snapshot of the parts: ``{"series", "tables", "accounts"}`` (one row per account known then, from the
    usage part, with the other parts' columns). The funnel part holds tables only: a caller may store it later."""
    assert revenue_result.accounts is not None and voice_result.accounts is not None
    assert usage_result.accounts is not None
    results = (revenue_result, voice_result, usage_result, *([funnel_result] if funnel_result else []))
    parts = [p for result in results for p in result.series if not p.empty]
    # a hub with no paying line yet (empty, accounts only, trials only) has no series at all: store none, not fail
    series = pd.concat(parts, ignore_index=True) if parts else _empty_series()
    # a metric present in two results (arpa_minor in the summary and in unit economics) is stored once
    series = series.drop_duplicates(["metric", "month", "currency", "dimension", "dimension_value"], keep="first")
    out = usage_result.accounts.merge(voice_result.accounts, on="account_id", how="left")
    out = out.merge(revenue_result.accounts, on="account_id", how="left")
    for col in ("mrr_minor", "arr_minor", "mrr_change_minor"):
        out[col] = out[col].fillna(0).astype("int64")
    out["cohort_month"] = pd.to_datetime(out["cohort_month"]).dt.date
    tables = {name: table for result in results for name, table in result.tables.items()}
    return {"series": series, "tables": tables, "accounts": out}
