"""Run every KPI on one backend and return comparable pandas frames (used by the DuckDB/Spark parity suite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from kizuna.analytics.engine import register_tables
from kizuna.analytics.kpi import cohorts, funnel, intermediates, revenue, unit_economics, usage, voice
from tests.analytics.kpi.fixtures import AS_OF

KPIS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "mrr_movements": lambda t: revenue.mrr_movements(t, AS_OF),
    "mrr_summary": lambda t: revenue.mrr_summary(t, AS_OF),
    "mrr_summary_by_plan_industry": lambda t: revenue.mrr_summary(t, AS_OF, by=["plan", "industry"]),
    "mrr_summary_by_each": lambda t: revenue.mrr_summary(t, AS_OF, by_each=["plan", "owner_id", "cohort_month"]),
    "mrr_by_owner": lambda t: revenue.mrr(t, AS_OF, by=["owner_id"]),
    "renewals": lambda t: revenue.renewals(t, AS_OF),
    "cohort_retention": lambda t: cohorts.cohort_retention(t, AS_OF, by=["touch_tier"]),
    "churn_by_tenure": lambda t: cohorts.churn_by_tenure(t, AS_OF, by=["plan"]),
    "cac": lambda t: unit_economics.cac(t, AS_OF),
    "unit_economics": lambda t: unit_economics.unit_economics(t, AS_OF, gross_margin=0.8),
    "account_usage": lambda t: usage.account_usage(t, AS_OF),
    "monthly_usage": lambda t: usage.monthly_usage(t, AS_OF),
    "account_onboarding": lambda t: voice.account_onboarding(t, AS_OF),
    "survey_scores": lambda t: voice.survey_scores(t, AS_OF, by=["region"]),
    "survey_scores_by_each": lambda t: voice.survey_scores(t, AS_OF, by_each=["owner_id", "touch_tier"]),
    "account_voice": lambda t: voice.account_voice(t, AS_OF),
    "support_load": lambda t: voice.support_load(t, AS_OF),
    "funnel_conversion": lambda t: funnel.funnel_conversion(t, AS_OF, by=["source"]),
    "stage_velocity": lambda t: funnel.stage_velocity(t, AS_OF, by=["source"]),
    "untouched_leads": lambda t: funnel.untouched_leads(t, AS_OF),
    "source_quality": lambda t: funnel.source_quality(t, AS_OF, by=["source", "industry"]),
}


def normalise(result: Any) -> pd.DataFrame:
    """Execute (if needed) and put a result in a canonical form: UTC timestamps, dates as dates, rows sorted."""
    frame = result if isinstance(result, pd.DataFrame) else result.to_pyarrow().to_pandas()
    frame = frame.copy()
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            frame[col] = series.dt.tz_localize("UTC") if series.dt.tz is None else series.dt.tz_convert("UTC")
            frame[col] = frame[col].astype("datetime64[us, UTC]")
        elif series.dtype == object and series.map(lambda v: hasattr(v, "isoformat")).any():
            frame[col] = pd.to_datetime(series).astype("datetime64[us]")
    frame = frame.sort_values(list(frame.columns), kind="stable", na_position="first").reset_index(drop=True)
    return frame


def run_all(con: Any, hub: dict[str, pa.Table]) -> dict[str, pd.DataFrame]:
    tables = intermediates.prepare(register_tables(con, hub), AS_OF)
    return {name: normalise(fn(tables)) for name, fn in KPIS.items()}
