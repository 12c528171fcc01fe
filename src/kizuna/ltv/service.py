"""Storing and reading LTV results. Services flush; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from kizuna.analytics.ltv import sbg_fit_problems
from kizuna.ltv.models import AccountLtv, LtvCohortFit, SurvivalFit

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


#: what each sBG fit problem (``kizuna.analytics.ltv.sbg_fit_problems``) means, for the CLI (the page: ltv.fit.*)
FIT_PROBLEMS = {
    "no_spread": "the fit degenerated to one churn rate for every customer (alpha + beta is huge): alpha and beta "
    "are not identified, only the average churn rate; read the LTV as a constant-churn LTV",
    "at_bound": "a parameter sits at the edge of what the optimiser can represent: the fit did not find a maximum",
    "loose": "a standard error exceeds its estimate: too few customers or renewals to pin the curve down",
}


#: why an account's Gamma-Gamma CLV is empty (``kizuna.analytics.ltv.portfolio.gamma_gamma_unfit``; page: ltv.clv.*)
CLV_NOTES = {
    "too_few_repeaters": "fewer than 20 accounts paid more than once: too few to fit the spend model",
    "constant_amounts": "accounts pay the same amount every time (a subscription invoice): Gamma-Gamma describes how "
    "payments vary around an account's mean and there is no variation; read the residual LTV instead",
    "dependent": "the number of payments and their amounts are correlated, against Gamma-Gamma's assumption",
    "infinite_mean": "the fitted spend distribution has no finite mean (q <= 1): no CLV can be stated",
    "no_repeat_payment": "one payment so far: a CLV would be the book's average, not this account's",
}


PROFILE_COLUMNS = ("alpha_lower", "alpha_upper", "beta_lower", "beta_upper", "churn_rate_lower", "churn_rate_upper")


def profile_intervals(fit: Any) -> dict[str, str] | None:
    """The stored profile intervals formatted for the page (``alpha``, ``beta``: ``14.7 – ∞``; ``churn``:
    ``4.33% – 5.20%``), or None when the fit has none."""
    if getattr(fit, "alpha_lower", None) is None:
        return None

    def number(x: float | None) -> str:
        return "∞" if x is None else (f"{x:,.0f}" if x >= 1000 else f"{x:.3g}")

    out = {
        "alpha": f"{number(fit.alpha_lower)} – {number(fit.alpha_upper)}",
        "beta": f"{number(fit.beta_lower)} – {number(fit.beta_upper)}",
        "churn": "—",
    }
    if fit.churn_rate_lower is not None and fit.churn_rate_upper is not None:
        out["churn"] = f"{fit.churn_rate_lower:.2%} – {fit.churn_rate_upper:.2%}"
    return out


def plan_fit_problems(cohorts: pd.DataFrame) -> dict[str, str]:
    """The plans of a :class:`~kizuna.analytics.ltv.portfolio.PortfolioLtv` ``cohorts`` frame whose sBG fit has a
    problem, with its codes (comma-separated, as ``fit_check`` shows them)."""
    out: dict[str, str] = {}
    for row in cohorts.itertuples(index=False):
        ses = [None if se is None or pd.isna(se) else float(se) for se in (row.alpha_se, row.beta_se)]
        codes = sbg_fit_problems(float(row.alpha), float(row.beta), alpha_se=ses[0], beta_se=ses[1])
        if codes:
            out[str(row.cohort)] = ",".join(codes)
    return out


def fit_problems(fit: LtvCohortFit) -> list[str]:
    """The problems of one stored sBG fit (empty when it is sound)."""
    return sbg_fit_problems(fit.alpha, fit.beta, alpha_se=fit.alpha_se, beta_se=fit.beta_se)


def cohort_fits(session: Session, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """The sBG fit per plan of ``as_of`` (default: the newest refresh), with ``fit_check``: the fit's problems
    (``no_spread``, ``at_bound``, ``loose``; comma-separated) or ``ok``."""
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
                    *PROFILE_COLUMNS,
                    "n_customers",
                    "expected_lifetime_months",
                    "arpa_minor",
                    "currency",
                    "ltv_minor",
                )
            }
            | {"fit_check": ",".join(fit_problems(r)) or "ok"}
            for r in rows
        ]
    )


def account_values(session: Session, *, as_of: dt.date | None = None, limit: int | None = None) -> pd.DataFrame:
    """Per-account CLV of ``as_of`` (default: the newest), highest first; ``clv_note`` says why a CLV is empty
    (:data:`CLV_NOTES`)."""
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
                    "clv_note",
                    "currency",
                )
            }
            for r in rows
        ]
    )


#: the segmentations the refresh draws Kaplan–Meier curves for (``all``: one curve of every account)
SURVIVAL_SEGMENTS = ("all", "plan", "touch_tier")


def _monthly(curve: pd.DataFrame, months: int) -> list[float | None]:
    """A Kaplan–Meier step function read at every month (30.44 days) up to ``months``; None past the last
    observed duration (the curve does not say)."""
    import numpy as np

    days = curve["days"].to_numpy(dtype=float)
    survival = curve["survival"].to_numpy(dtype=float)
    out: list[float | None] = []
    for m in range(months + 1):
        d = m * 30.44
        if len(days) == 0 or d > days.max():
            out.append(None)
            continue
        i = int(np.searchsorted(days, d, side="right")) - 1
        out.append(round(float(survival[i]), 4) if i >= 0 else 1.0)
    return out


def survival_results(lifetimes: pd.DataFrame) -> list[tuple[str, str, dict[str, Any]]]:
    """Kaplan–Meier by each of :data:`SURVIVAL_SEGMENTS` (curves read monthly) and the Cox model, as
    ``(kind, segment_by, result)`` ready to store."""
    from kizuna.analytics.survival import cox_model, kaplan_meier
    from kizuna.errors import InvalidInput

    out: list[tuple[str, str, dict[str, Any]]] = []
    if lifetimes.empty:
        return out
    months = int(lifetimes["duration_days"].max() // 30.44)
    for by in SURVIVAL_SEGMENTS:
        km = kaplan_meier(lifetimes, by=None if by == "all" else by)
        curves = [
            {"segment": str(segment), "survival": _monthly(grp, months)}
            for segment, grp in km.curves.groupby("segment", sort=True)
        ]
        summary = [_plain(r) for r in km.summary.to_dict("records")]
        p = None if pd.isna(km.logrank_p) else float(km.logrank_p)
        out.append(("kaplan_meier", by, {"months": months, "curves": curves, "summary": summary, "logrank_p": p}))
    try:
        cox = cox_model(lifetimes)
    except InvalidInput:
        return out
    rows = [_plain(r) for r in cox.summary.to_dict("records")]
    out.append(("cox", "all", {"summary": rows, "concordance": cox.concordance, "n": cox.n, "events": cox.events}))
    return out


def store_survival(session: Session, *, as_of: dt.date, results: list[tuple[str, str, dict[str, Any]]]) -> int:
    """Replace the survival fits of ``as_of`` with ``results`` (see :func:`survival_results`)."""
    session.execute(delete(SurvivalFit).where(SurvivalFit.as_of == as_of))
    for kind, by, result in results:
        session.add(SurvivalFit(as_of=as_of, kind=kind, segment_by=by, result=result))
    session.flush()
    return len(results)


def survival_fits(session: Session) -> dict[tuple[str, str], SurvivalFit]:
    """The newest stored survival fits by ``(kind, segment_by)``."""
    day = session.scalar(select(func.max(SurvivalFit.as_of)))
    rows = session.scalars(select(SurvivalFit).where(SurvivalFit.as_of == day))
    return {(r.kind, r.segment_by): r for r in rows}


def ltv_page(session: Session, *, limit: int = 20) -> dict[str, Any]:
    """What the LTV page shows, all stored by the refresh: the sBG fit per plan, the ``limit`` accounts of highest
    residual value (with name and plan), the book's total, and the survival fits."""
    from kizuna.accounts.models import Account

    day = latest_as_of(session)
    plans = session.scalars(
        select(LtvCohortFit).where(LtvCohortFit.as_of == day).order_by(LtvCohortFit.ltv_minor.desc())
    ).all()
    account_day = session.scalar(select(func.max(AccountLtv.as_of)))
    accounts = session.execute(
        select(AccountLtv, Account.name)
        .join(Account, Account.id == AccountLtv.account_id)
        .where(AccountLtv.as_of == account_day)
        .order_by(AccountLtv.residual_ltv_minor.desc().nulls_last(), AccountLtv.account_id)
        .limit(limit)
    ).all()
    totals = session.execute(
        select(func.sum(AccountLtv.residual_ltv_minor), func.count(AccountLtv.residual_ltv_minor)).where(
            AccountLtv.as_of == account_day
        )
    ).one()
    return {
        "as_of": day or account_day,
        "plans": list(plans),
        "fit_problems": {p.cohort: fit_problems(p) for p in plans},
        "profiles": {p.cohort: prof for p in plans if (prof := profile_intervals(p)) is not None},
        "accounts": [{"row": row, "name": name} for row, name in accounts],
        "total_residual_minor": totals[0],
        "valued_accounts": int(totals[1] or 0),
        "survival": survival_fits(session),
    }
