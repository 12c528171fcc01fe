"""The shared intermediates of one date, materialised once for every KPI module: revenue, onboarding, funnel and
usage (each module's own ``prepare`` in turn)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kizuna.analytics.kpi import funnel, usage, voice
from kizuna.analytics.kpi._common import Tables
from kizuna.analytics.kpi.revenue import prepare_revenue


def prepare(tables: Tables, as_of: dt.date) -> dict[str, Any]:
    """Return ``tables`` plus the shared intermediates of ``as_of`` materialised once on the backend (``.cache()``):
    account MRR, MRR movements, trailing-12-month retention pairs and the MRR summary
    (:func:`kizuna.analytics.kpi.revenue.prepare_revenue`), onboarding per account
    (:func:`kizuna.analytics.kpi.voice.prepare`), the lead stages (:func:`kizuna.analytics.kpi.funnel.prepare`), and
    the users active in the last 60 days and usage per account-month (:func:`kizuna.analytics.kpi.usage.prepare`).

    Every KPI function given the result reuses them instead of deriving them again, which keeps many KPIs of one
    date fast on DuckDB and on Spark. The input mapping is not changed.
    """
    out = voice.prepare(prepare_revenue(tables, as_of), as_of)
    return usage.prepare(funnel.prepare(out, as_of), as_of)
