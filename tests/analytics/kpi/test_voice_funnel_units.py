"""Cohorts, unit economics, onboarding, surveys, support and The Model funnel against hand-computed values.

The data and the expected numbers are in ``tests/analytics/kpi/fixtures.py`` (``revenue_hub``, ``voice_funnel_hub``).
"""

from __future__ import annotations

from typing import Any

import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.kpi import cohorts, funnel, unit_economics, voice
from kizuna.analytics.kpi.intermediates import prepare
from kizuna.errors import InvalidInput
from tests.analytics.kpi.fixtures import AS_OF, voice_funnel_hub


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    return prepare(register_tables(connect(), voice_funnel_hub()), AS_OF)


def test_cohort_retention_and_tenure(tables: dict[str, Any]) -> None:
    c = cohorts.cohort_retention(tables, AS_OF).to_pandas()
    jan = c[(c.currency == "JPY") & (c.cohort_month.dt.month == 1)].set_index("period")
    # January cohort: A1, A6, A7 (5000); April: A7 churned; MRR A1 1500 + A6 2000
    assert list(jan.customers) == [3, 3, 3, 2, 2]
    assert list(jan.mrr_minor) == [5000, 5500, 5200, 3500, 3500]
    assert jan.loc[3, "logo_retention"] == pytest.approx(2 / 3)
    assert jan.loc[1, "revenue_retention"] == pytest.approx(1.1)  # expansion: above 100 %
    feb = c[(c.currency == "JPY") & (c.cohort_month.dt.month == 2)].set_index("period")
    # February cohort A2 + A3 (2800): A2 churned in March and came back in May (600), A3 churned in May
    assert list(feb.customers) == [2, 1, 1, 1] and list(feb.mrr_minor) == [2800, 2500, 2500, 600]
    matrix = cohorts.cohort_matrix(c[c.currency == "JPY"])
    assert matrix.shape == (2, 5)
    t = cohorts.churn_by_tenure(tables, AS_OF).to_pandas()
    jpy = t[t.currency == "JPY"].set_index("tenure_bucket")
    # customer-months at risk with tenure 0-2 at the month start: 13; churned in them: A2, A7, A3
    assert jpy.loc["0-2m", "customer_months"] == 13 and jpy.loc["0-2m", "churned_customers"] == 3
    assert jpy.loc["3-5m", "customer_months"] == 2 and jpy.loc["3-5m", "churned_customers"] == 0


def test_unit_economics(tables: dict[str, Any]) -> None:
    cac = unit_economics.cac(tables, AS_OF).to_pandas()
    jan = cac[(cac.currency == "JPY") & (cac.month.dt.month == 1)].set_index("channel")
    assert jan.loc["web", "cac_minor"] == 30000 and jan.loc["web", "new_customers"] == 1
    assert jan.loc["all", "cac_minor"] == pytest.approx(40000 / 3)
    assert (
        jan.loc["seminar", "new_customers"] == 0 and jan.loc["seminar", "cac_minor"] != jan.loc["seminar", "cac_minor"]
    )
    ue = unit_economics.unit_economics(tables, AS_OF, gross_margin=0.8).to_pandas()
    jpy = ue[ue.currency == "JPY"].set_index(ue[ue.currency == "JPY"].month.dt.month)
    # March: churned 0+0+1 over customers at risk 0+3+5 -> 1/8; ARPA 7700/4 -> LTV 1925 * 0.8 * 8
    assert jpy.loc[3, "churn_rate_12m"] == pytest.approx(1 / 8)
    assert jpy.loc[3, "ltv_minor"] == pytest.approx(1925 * 0.8 * 8)
    # January: CAC 40000/3, new ARPA 5000/3 -> payback 40000 / (5000 * 0.8) = 10 months; no churn yet: no LTV
    assert jpy.loc[1, "cac_payback_months"] == pytest.approx(10.0)
    assert jpy.loc[1, "ltv_minor"] != jpy.loc[1, "ltv_minor"]


def test_onboarding_and_voice(tables: dict[str, Any]) -> None:
    onb = voice.account_onboarding(tables, AS_OF).to_pandas().set_index("account_id")
    assert list(onb.time_to_value_days.loc[[1, 3]]) == [10, 51]
    s = voice.onboarding_summary(tables, AS_OF).to_pandas().iloc[0]
    assert (s.accounts, s.completed_accounts) == (3, 2) and s.completion_rate == pytest.approx(2 / 3)
    assert voice.median_time_to_value(tables, AS_OF) == 30.5
    sv = voice.survey_scores(tables, AS_OF).to_pandas()
    assert len(sv) == 1  # the 06-01 answer is after the cut-off
    may = sv.iloc[0]
    assert (may.promoters, may.passives, may.detractors, may.nps) == (2, 1, 2, 0.0)
    assert may.csat == pytest.approx(2 / 3) and may.csat_mean == pytest.approx(11 / 3) and may.ces_mean == 4.5
    by_tier = voice.survey_scores(tables, AS_OF, by_each=["touch_tier"]).to_pandas()
    assert by_tier.nps_responses.sum() == may.nps_responses and set(by_tier.dimension) == {"touch_tier"}
    with pytest.raises(InvalidInput, match="no plan breakdown"):
        voice.survey_scores(tables, AS_OF, by=["plan"])
    av = voice.account_voice(tables, AS_OF).to_pandas().set_index("account_id")
    assert av.loc[1, "nps_score"] == 10 and av.loc[3, "nps_category"] == "passive"
    assert av.loc[6, "nps_category"] == "detractor"
    a1 = av.loc[1]
    assert (a1.tickets_30d, a1.tickets_90d, a1.open_tickets, a1.escalated_90d) == (1, 2, 1, 1)
    assert a1.mean_first_response_hours_90d == 2.0


def test_funnel(tables: dict[str, Any]) -> None:
    conv = funnel.funnel_conversion(tables, AS_OF).to_pandas().set_index("stage")
    assert list(conv.leads) == [4, 3, 2, 2, 2, 2, 0, 0]
    assert conv.loc["mql", "conversion"] == 0.75 and conv.loc["sql", "conversion"] == pytest.approx(2 / 3)
    by_source = funnel.funnel_conversion(tables, AS_OF, by=["source"]).to_pandas()
    web = by_source[by_source.source == "web"].set_index("stage")
    assert web.loc["sql", "conversion"] == 0.5
    vel = funnel.stage_velocity(tables, AS_OF).set_index("transition")
    assert vel.loc["lead_to_mql", "median_days"] == 2.0 and vel.loc["lead_to_mql", "leads"] == 3
    untouched = funnel.untouched_leads(tables, AS_OF, days=3).to_pandas()
    assert list(untouched.lead_id) == [2] and untouched.waited_days.iloc[0] == 28.0
    q = funnel.source_quality(tables, AS_OF).to_pandas().set_index("source")
    assert q.loc["web", "win_rate"] == 0.5 and q.loc["seminar", "won"] == 1


def test_unit_economics_outside_plausible_bounds_are_flagged_from_their_inputs() -> None:
    from kizuna.analytics.kpi.unit_economics import implausible

    # the demo's month: LTV/CAC 59x, payback 1.7 months, on a 0.4 % monthly churn rate and 30 new customers
    demo = {
        "ltv_to_cac": 59.0,
        "cac_payback_months": 1.7,
        "churn_rate_12m": 0.004,
        "new_customers": 30,
        "spend_minor": 900_000,
    }
    assert implausible(demo) == ["ltv_to_cac_high", "payback_short", "lifetime_long"]
    sound = {
        "ltv_to_cac": 4.2,
        "cac_payback_months": 11.0,
        "churn_rate_12m": 0.02,
        "new_customers": 40,
        "spend_minor": 5_000_000,
    }
    assert implausible(sound) == []
    assert implausible({**sound, "new_customers": 3, "spend_minor": 0, "churn_rate_12m": 0.0}) == [
        "lifetime_long",
        "few_new_customers",
        "no_spend",
    ]
    assert implausible({"ltv_to_cac": None, "cac_payback_months": float("nan")}) == []
