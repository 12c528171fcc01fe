"""The hand-computed revenue fixture: every MRR movement type and edge case, expected numbers next to the data.

As of 2026-05-31 (months January-May 2026, month-end snapshots). Plans: 1 = Pro (base), 2 = Team (base),
3 = Analytics add-on. Amounts are JPY unless said otherwise.

=======  ==================================================================================  ===================
account  lines                                                                               movements
=======  ==================================================================================  ===================
A1       1000 from 01-01; version change 02-10 -> 1500; 03-05 -> 2000; 03-20 -> 1200;         Jan new 1000, Feb
         add-on 300 from 04-01                                                               expansion +500, Mar
                                                                                             contraction -300
                                                                                             (up and down net
                                                                                             out), Apr expansion
                                                                                             +300 (cross-sell)
A2       800 from 02-15 (annual, normalised), ends 03-31 reason payment_failed;             Feb new 800, Mar
         re-subscribes 600 from 05-03                                                        churn -800
                                                                                             (involuntary), May
                                                                                             reactivation +600
A3       trial 01-01..02-01 (excluded); 2000 from 02-01; second base line 500 from 03-01;    Feb new 2000, Mar
         both end 05-01; failed payment 04-01 then paid 04-03                                expansion +500
                                                                                             (upsell), May churn
                                                                                             -2500 (voluntary)
A4       400 from 01-10 to 01-20 (never at a month-end)                                      none
A5       USD 5000 (cents) from 01-01                                                         USD: Jan new 5000
A6       3000 from 01-01, renewal 04-01; renewed at 2000 from 04-01                          Jan new 3000, Apr
                                                                                             contraction -1000
A7       1000 from 01-01 to 04-01 (renewal 04-01, not renewed), reason too_expensive;        Jan new 1000, Apr
         failed payment 03-20 with no success after                                          churn -1000
                                                                                             (involuntary)
=======  ==================================================================================  ===================
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from tests.analytics.kpi.hub import d, hub, ts

AS_OF = dt.date(2026, 5, 31)


def _line(account: int, contract: str, mrr: int, start: str, end: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "account_id": account,
        "contract_id": contract,
        "mrr_minor": mrr,
        "start_date": d(start),
        "end_date": d(end) if end else None,
        **kw,
    }


def revenue_hub() -> dict[str, pa.Table]:
    return hub(
        accounts=[
            {"industry": "製造", "region": "関東", "touch_tier": "high", "owner_id": 1},  # A1
            {"industry": "小売", "region": "関西", "touch_tier": "low", "owner_id": 1},  # A2
            {"industry": "製造", "region": "関西", "touch_tier": "high", "owner_id": 2},  # A3
            {"industry": "小売", "region": "関東", "touch_tier": "tech", "owner_id": 2},  # A4
            {"industry": "IT", "region": "海外", "touch_tier": "tech", "owner_id": 2},  # A5
            {"industry": "IT", "region": "関東", "touch_tier": "low", "owner_id": 1},  # A6
            {"industry": "製造", "region": "関東", "touch_tier": "low", "owner_id": 2},  # A7
        ],
        team_members=[{"name": "佐藤"}, {"name": "鈴木"}],
        products=[{"name": "kizuna Cloud"}, {"name": "Analytics", "is_addon": True}],
        plans=[
            {"name": "Pro", "product_id": 1},
            {"name": "Team", "product_id": 1},
            {"name": "Analytics", "product_id": 2, "is_addon": True},
        ],
        subscriptions=[
            _line(1, "c1", 1000, "2026-01-01", "2026-02-10"),
            _line(1, "c1", 1500, "2026-02-10", "2026-03-05"),
            _line(1, "c1", 2000, "2026-03-05", "2026-03-20", plan_id=2),
            _line(1, "c1", 1200, "2026-03-20"),
            _line(1, "c1a", 300, "2026-04-01", plan_id=3),
            _line(
                2,
                "c2",
                800,
                "2026-02-15",
                "2026-03-31",
                billing_period_months=12,
                term_months=12,
                status="churned",
                cancellation_reason="payment_failed",
            ),
            _line(2, "c2b", 600, "2026-05-03"),
            _line(3, "c3t", 0, "2026-01-01", "2026-02-01", status="trial"),
            _line(3, "c3", 2000, "2026-02-01", "2026-05-01", status="churned"),
            _line(3, "c3b", 500, "2026-03-01", "2026-05-01", plan_id=2, status="churned"),
            _line(4, "c4", 400, "2026-01-10", "2026-01-20", status="churned"),
            _line(5, "c5", 5000, "2026-01-01", currency="USD"),
            _line(6, "c6", 3000, "2026-01-01", "2026-04-01", renewal_date=d("2026-04-01")),
            _line(6, "c6", 2000, "2026-04-01", renewal_date=d("2027-04-01")),
            _line(
                7,
                "c7",
                1000,
                "2026-01-01",
                "2026-04-01",
                renewal_date=d("2026-04-01"),
                status="churned",
                cancellation_reason="too_expensive",
            ),
        ],
        invoices=[
            {"account_id": 3, "issued_on": d("2026-04-01"), "amount_minor": 2500},
            {"account_id": 7, "issued_on": d("2026-03-20"), "amount_minor": 1000, "status": "failed"},
        ],
        payments=[
            {
                "invoice_id": 1,
                "account_id": 3,
                "attempted_at": ts("2026-04-01 09:00"),
                "amount_minor": 2500,
                "status": "failed",
            },
            {
                "invoice_id": 1,
                "account_id": 3,
                "attempted_at": ts("2026-04-03 09:00"),
                "amount_minor": 2500,
                "status": "succeeded",
                "attempt": 2,
            },
            {
                "invoice_id": 2,
                "account_id": 7,
                "attempted_at": ts("2026-03-20 09:00"),
                "amount_minor": 1000,
                "status": "failed",
            },
        ],
    )


# (account, month) -> (movement, amount) for every JPY account-month with MRR at its start or end
EXPECTED_MOVEMENTS = {
    (1, "2026-01"): ("new", 1000),
    (1, "2026-02"): ("expansion", 500),
    (1, "2026-03"): ("contraction", -300),
    (1, "2026-04"): ("expansion", 300),
    (1, "2026-05"): ("flat", 0),
    (2, "2026-02"): ("new", 800),
    (2, "2026-03"): ("churn", -800),
    (2, "2026-05"): ("reactivation", 600),
    (3, "2026-02"): ("new", 2000),
    (3, "2026-03"): ("expansion", 500),
    (3, "2026-04"): ("flat", 0),
    (3, "2026-05"): ("churn", -2500),
    (6, "2026-01"): ("new", 3000),
    (6, "2026-02"): ("flat", 0),
    (6, "2026-03"): ("flat", 0),
    (6, "2026-04"): ("contraction", -1000),
    (6, "2026-05"): ("flat", 0),
    (7, "2026-01"): ("new", 1000),
    (7, "2026-02"): ("flat", 0),
    (7, "2026-03"): ("flat", 0),
    (7, "2026-04"): ("churn", -1000),
}

# JPY month totals: start, end, new, expansion, contraction, churn, reactivation, customers start/end
EXPECTED_JPY_MONTHS = {
    "2026-01": dict(
        mrr_start_minor=0,
        mrr_minor=5000,
        new_minor=5000,
        expansion_minor=0,
        contraction_minor=0,
        churn_minor=0,
        reactivation_minor=0,
        customers_start=0,
        customers=3,
    ),
    "2026-02": dict(
        mrr_start_minor=5000,
        mrr_minor=8300,
        new_minor=2800,
        expansion_minor=500,
        contraction_minor=0,
        churn_minor=0,
        reactivation_minor=0,
        customers_start=3,
        customers=5,
    ),
    "2026-03": dict(
        mrr_start_minor=8300,
        mrr_minor=7700,
        new_minor=0,
        expansion_minor=500,
        contraction_minor=-300,
        churn_minor=-800,
        reactivation_minor=0,
        customers_start=5,
        customers=4,
        churn_involuntary_minor=-800,
        churned_involuntary_customers=1,
        upsell_customers=1,
    ),
    "2026-04": dict(
        mrr_start_minor=7700,
        mrr_minor=6000,
        new_minor=0,
        expansion_minor=300,
        contraction_minor=-1000,
        churn_minor=-1000,
        reactivation_minor=0,
        customers_start=4,
        customers=3,
        churn_involuntary_minor=-1000,
        cross_sell_customers=1,
        upsell_customers=0,
    ),
    "2026-05": dict(
        mrr_start_minor=6000,
        mrr_minor=4100,
        new_minor=0,
        expansion_minor=0,
        contraction_minor=0,
        churn_minor=-2500,
        reactivation_minor=600,
        customers_start=3,
        customers=3,
        churn_involuntary_minor=0,
        churn_voluntary_minor=-2500,
        reactivated_customers=1,
    ),
}

# Rates, hand-computed from the totals above
EXPECTED_RATES = {
    "2026-03": dict(
        logo_churn_rate=1 / 5,
        gross_revenue_churn_rate=1100 / 8300,
        net_revenue_churn_rate=600 / 8300,
        grr=7200 / 8300,
        nrr=7700 / 8300,
        quick_ratio=500 / 1100,
        upsell_rate=1 / 5,
        arpa_minor=7700 / 4,
    ),
    "2026-04": dict(logo_churn_rate=1 / 4, quick_ratio=300 / 2000, cross_sell_rate=1 / 4, nrr=(7700 - 1700) / 7700),
    # net revenue churn counts the reactivation (ChartMogul); NRR does not (A2 was not a customer at the start)
    "2026-05": dict(net_revenue_churn_rate=1900 / 6000, nrr=3500 / 6000, grr=3500 / 6000, logo_churn_rate=1 / 3),
}

# April renewals: c6 renewed (3000 -> 2000), c7 not (1000)
EXPECTED_RENEWALS_APRIL = dict(
    contracts_up=2,
    contracts_renewed=1,
    mrr_up_minor=4000,
    mrr_renewed_minor=3000,
    renewal_rate=0.5,
    renewal_mrr_rate=0.75,
)


def voice_funnel_hub() -> dict[str, pa.Table]:
    """The revenue fixture plus milestones, surveys, tickets, leads, opportunities and spend (as of 2026-05-31).

    * onboarding: A1 3 milestones all done, key one 01-11 (TTV 10 days from 01-01); A2 2 milestones, 1 done, key
      one not done; A3 key milestone done 02-21 (TTV 51 days from the 01-01 trial start) and complete.
      -> 3 accounts, 2 complete (rate 2/3), mean TTV 30.5 days, median 30.5.
    * NPS in May: scores 10, 9, 8, 6, 0 -> 2 promoters, 1 passive, 2 detractors, NPS 0; one more 7 on 06-01 (after
      the cut-off, ignored). CSAT May: 5, 4, 2 -> 2/3 satisfied, mean 11/3. CES May: 6, 3 -> mean 4.5.
    * tickets: A1 opened 05-20 (open), 04-10 (closed 04-11, escalated, first response after 2 hours), 01-05.
      -> A1 tickets_30d 1, tickets_90d 2, open 1, escalated_90d 1, first response 2.0 hours.
    * leads (source, stages): L1 web: MQL, SQL, opportunity, won -> A1; L2 web: MQL only, never touched (untouched);
      L3 seminar: MQL, SQL, opportunity, won -> A3; L4 seminar: lead only; L5 ads, created 06-02 (after cut-off).
      Funnel (all): lead 4, mql 3, sql 2, opportunity 2, won 2, onboarded 2 (A1 and A3 complete), retained 0.
      Velocity lead->mql: L1 1 day, L2 2 days, L3 4 days -> median 2 days.
    * spend: 2026-01 web 30000, seminar 10000 (A1 and A6, A7 new in Jan; A1 from web) ->
      CAC Jan: web 30000/1, seminar 10000/0 (null), unattributed 0/2, all 40000/3.
    """
    tables = revenue_hub()
    extra = hub(
        onboarding_milestones=[
            {"account_id": 1, "kind": "kickoff", "due_on": d("2026-01-05"), "completed_at": ts("2026-01-05 10:00")},
            {
                "account_id": 1,
                "kind": "initial_setup",
                "due_on": d("2026-01-10"),
                "is_key": True,
                "completed_at": ts("2026-01-11 10:00"),
            },
            {"account_id": 1, "kind": "training", "due_on": d("2026-01-20"), "completed_at": ts("2026-01-21 10:00")},
            {"account_id": 2, "kind": "kickoff", "due_on": d("2026-02-20"), "completed_at": ts("2026-02-20 10:00")},
            {"account_id": 2, "kind": "initial_setup", "due_on": d("2026-03-01"), "is_key": True},
            {
                "account_id": 3,
                "kind": "initial_setup",
                "due_on": d("2026-02-20"),
                "is_key": True,
                "completed_at": ts("2026-02-21 10:00"),
            },
        ],
        survey_responses=[
            {"account_id": 1, "kind": "nps", "score": 10, "responded_at": ts("2026-05-02 10:00")},
            {"account_id": 2, "kind": "nps", "score": 9, "responded_at": ts("2026-05-03 10:00")},
            {"account_id": 3, "kind": "nps", "score": 8, "responded_at": ts("2026-05-04 10:00")},
            {"account_id": 6, "kind": "nps", "score": 6, "responded_at": ts("2026-05-05 10:00")},
            {"account_id": 7, "kind": "nps", "score": 0, "responded_at": ts("2026-05-06 10:00")},
            {"account_id": 1, "kind": "nps", "score": 7, "responded_at": ts("2026-06-01 10:00")},
            {"account_id": 1, "kind": "csat", "score": 5, "responded_at": ts("2026-05-02 10:00")},
            {"account_id": 2, "kind": "csat", "score": 4, "responded_at": ts("2026-05-02 10:00")},
            {"account_id": 3, "kind": "csat", "score": 2, "responded_at": ts("2026-05-02 10:00")},
            {"account_id": 1, "kind": "ces", "score": 6, "responded_at": ts("2026-05-02 10:00")},
            {"account_id": 3, "kind": "ces", "score": 3, "responded_at": ts("2026-05-02 10:00")},
        ],
        tickets=[
            {"account_id": 1, "opened_at": ts("2026-05-20 10:00"), "status": "open"},
            {
                "account_id": 1,
                "opened_at": ts("2026-04-10 10:00"),
                "first_response_at": ts("2026-04-10 12:00"),
                "closed_at": ts("2026-04-11 10:00"),
                "escalated": True,
            },
            {"account_id": 1, "opened_at": ts("2026-01-05 10:00"), "closed_at": ts("2026-01-06 10:00")},
        ],
        leads=[
            {
                "source": "web",
                "owner_id": 1,
                "account_id": 1,
                "status": "opportunity",
                "created_at": ts("2025-12-01 00:00"),
                "mql_at": ts("2025-12-02 00:00"),
                "sql_at": ts("2025-12-05 00:00"),
                "opportunity_at": ts("2025-12-10 00:00"),
                "first_touch_at": ts("2025-12-02 12:00"),
            },
            {
                "source": "web",
                "owner_id": 1,
                "status": "mql",
                "created_at": ts("2026-05-01 00:00"),
                "mql_at": ts("2026-05-03 00:00"),
            },
            {
                "source": "seminar",
                "owner_id": 2,
                "account_id": 3,
                "status": "opportunity",
                "created_at": ts("2025-12-01 00:00"),
                "mql_at": ts("2025-12-05 00:00"),
                "sql_at": ts("2025-12-06 00:00"),
                "opportunity_at": ts("2025-12-20 00:00"),
                "first_touch_at": ts("2025-12-05 01:00"),
            },
            {"source": "seminar", "owner_id": 2, "created_at": ts("2026-03-01 00:00")},
            {"source": "ads", "created_at": ts("2026-06-02 00:00")},
        ],
        opportunities=[
            {
                "account_id": 1,
                "lead_id": 1,
                "kind": "new",
                "stage": "won",
                "created_at": ts("2025-12-10 00:00"),
                "closed_at": ts("2025-12-25 00:00"),
                "amount_minor": 1000,
            },
            {
                "account_id": 3,
                "lead_id": 3,
                "kind": "new",
                "stage": "won",
                "created_at": ts("2025-12-20 00:00"),
                "closed_at": ts("2026-01-25 00:00"),
                "amount_minor": 2000,
            },
        ],
        marketing_spend=[
            {"month": d("2026-01-01"), "channel": "web", "amount_minor": 30000},
            {"month": d("2026-01-01"), "channel": "seminar", "amount_minor": 10000},
        ],
    )
    for name in ("onboarding_milestones", "survey_responses", "tickets", "leads", "opportunities", "marketing_spend"):
        tables[name] = extra[name]
    return tables
