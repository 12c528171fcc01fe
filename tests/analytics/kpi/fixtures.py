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
