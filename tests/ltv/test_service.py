"""Reading stored LTV results on SQLite and PostgreSQL: every plan fit carries its check, every empty CLV its
reason."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.orm import Session

from kizuna.analytics.ltv.portfolio import PortfolioLtv
from kizuna.ltv import service
from tests import factories

DAY = dt.date(2026, 11, 22)


def test_fit_checks_and_clv_reasons_round_trip(session: Session) -> None:
    paying, once = factories.account(session), factories.account(session)
    fit = {"cohort_kind": "plan", "n_periods": 24, "arpa_minor": 50_000, "currency": "JPY", "ltv_minor": 1_000_000}
    cohorts = pd.DataFrame(
        [
            {
                **fit,
                "cohort": "Flat",
                "alpha": 226_879.0,
                "beta": 14.6e6,
                "alpha_se": None,
                "beta_se": None,
                "n_customers": 80,
                "expected_lifetime_months": 60.0,
            },
            {
                **fit,
                "cohort": "Sound",
                "alpha": 0.7,
                "beta": 3.8,
                "alpha_se": 0.1,
                "beta_se": 0.5,
                "n_customers": 900,
                "expected_lifetime_months": 40.0,
            },
        ]
    )
    accounts = pd.DataFrame(
        [
            {
                "account_id": paying.id,
                "probability_alive": 0.9,
                "expected_payments_12m": 11.5,
                "expected_payment_minor": None,
                "clv_12m_minor": None,
                "clv_note": "constant_amounts",
                "currency": "JPY",
                "plan": "Flat",
                "residual_ltv_minor": 900_000,
            },
            {
                "account_id": once.id,
                "probability_alive": 1.0,
                "expected_payments_12m": 2.0,
                "expected_payment_minor": 40_000,
                "clv_12m_minor": None,
                "clv_note": "no_repeat_payment",
                "currency": "JPY",
                "plan": "Sound",
                "residual_ltv_minor": 600_000,
            },
        ]
    )
    service.store_portfolio_ltv(session, as_of=DAY, result=PortfolioLtv(cohorts=cohorts, accounts=accounts))
    fits = service.cohort_fits(session).set_index("cohort")
    assert fits.at["Flat", "fit_check"] == "no_spread"
    assert fits.at["Sound", "fit_check"] == "ok"
    notes = service.account_values(session).set_index("account_id")["clv_note"]
    assert notes[paying.id] == "constant_amounts" and notes[once.id] == "no_repeat_payment"
    assert set(notes) <= set(service.CLV_NOTES)
