"""Storing and reading LTV results. Services flush; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from kizuna.ltv.models import AccountLtv, LtvCohortFit

if TYPE_CHECKING:
    from kizuna.analytics.ltv.portfolio import PortfolioLtv


def store_portfolio_ltv(session: Session, *, as_of: dt.date, result: PortfolioLtv) -> dict[str, int]:
    """Replace the results of ``as_of`` with ``result`` (a refresh run twice on one day changes nothing more)."""
    session.execute(delete(LtvCohortFit).where(LtvCohortFit.as_of == as_of))
    session.execute(delete(AccountLtv).where(AccountLtv.as_of == as_of))
    cohort_rows = [{**_plain(row), "as_of": as_of} for row in result.cohorts.to_dict("records")]
    account_rows = [{**_plain(row), "as_of": as_of} for row in result.accounts.to_dict("records")]
    if cohort_rows:
        session.execute(cast(Table, LtvCohortFit.__table__).insert(), cohort_rows)
    if account_rows:
        session.execute(cast(Table, AccountLtv.__table__).insert(), account_rows)
    session.flush()
    return {"cohorts": len(cohort_rows), "accounts": len(account_rows)}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars and NaN to plain Python values for the database driver."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (isinstance(value, float) and pd.isna(value)):
            out[key] = None
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def latest_as_of(session: Session) -> dt.date | None:
    return session.scalar(select(func.max(LtvCohortFit.as_of)))


def cohort_fits(session: Session, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """The sBG fit per plan of ``as_of`` (default: the newest refresh)."""
    day = as_of or latest_as_of(session)
    rows = session.scalars(select(LtvCohortFit).where(LtvCohortFit.as_of == day).order_by(LtvCohortFit.cohort))
    return pd.DataFrame(
        [
            {
                c: getattr(r, c)
                for c in (
                    "cohort_kind",
                    "cohort",
                    "alpha",
                    "beta",
                    "alpha_se",
                    "beta_se",
                    "n_customers",
                    "expected_lifetime_months",
                    "arpa_minor",
                    "currency",
                    "ltv_minor",
                )
            }
            for r in rows
        ]
    )


def account_values(session: Session, *, as_of: dt.date | None = None, limit: int | None = None) -> pd.DataFrame:
    """Per-account CLV of ``as_of`` (default: the newest), highest first."""
    day = as_of or session.scalar(select(func.max(AccountLtv.as_of)))
    query = (
        select(AccountLtv)
        .where(AccountLtv.as_of == day)
        .order_by(AccountLtv.clv_12m_minor.desc().nulls_last(), AccountLtv.account_id)
    )
    if limit:
        query = query.limit(limit)
    rows = session.scalars(query)
    return pd.DataFrame(
        [
            {
                c: getattr(r, c)
                for c in (
                    "account_id",
                    "probability_alive",
                    "expected_payments_12m",
                    "expected_payment_minor",
                    "clv_12m_minor",
                    "currency",
                )
            }
            for r in rows
        ]
    )
