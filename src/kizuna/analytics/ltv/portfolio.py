"""The LTV of a subscription business's customer base, from its hub tables (pure pandas in, frames out).

Contracts: one :class:`ShiftedBetaGeometric` per plan (Fader & Hardie 2007) on the fully observed monthly survival
of accounts that started at least ``horizon_months`` ago; LTV = ARPA x gross margin x DEL (Fader & Hardie 2010).
Payments: :class:`BetaGeoNBD` and :class:`GammaGamma` (Fader, Hardie & Lee 2005) on successful payments, weekly
units, giving each account's probability of being alive, expected payments and discounted 12-month CLV.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kizuna.analytics.ltv._validation import ConvergenceWarning
from kizuna.analytics.ltv.beta_geo import BetaGeoNBD
from kizuna.analytics.ltv.gamma_gamma import GammaGamma
from kizuna.analytics.ltv.prepare import account_tenures, contract_survival_table, payment_transactions
from kizuna.analytics.ltv.rfm import rfm_summary
from kizuna.analytics.ltv.shifted_beta_geometric import ShiftedBetaGeometric, fit_sbg_by_cohort

LIFETIME_HORIZON_MONTHS = 120  # expected lifetime is reported truncated at 10 years (alpha <= 1 has no finite mean)


@dataclass(frozen=True)
class PortfolioLtv:
    """Result of :func:`portfolio_ltv`: ``cohorts`` (one sBG fit per plan) and ``accounts`` (per-account CLV)."""

    cohorts: pd.DataFrame
    accounts: pd.DataFrame


def monthly_rate(annual_rate: float) -> float:
    """The monthly discount rate equivalent to an annual one: (1 + r) ** (1/12) - 1."""
    return float((1.0 + annual_rate) ** (1.0 / 12.0) - 1.0)


def account_mrr(subscriptions: pd.DataFrame, *, as_of: dt.date) -> pd.DataFrame:
    """MRR per account and currency from the paid lines covering ``as_of`` (``[start, end)``, trials excluded)."""
    day = pd.Timestamp(as_of)
    start = pd.to_datetime(subscriptions["start_date"])
    end = pd.to_datetime(subscriptions["end_date"])
    live = subscriptions.loc[(subscriptions["status"] != "trial") & (start <= day) & (end.isna() | (end > day))]
    return live.groupby(["account_id", "currency"], as_index=False)["mrr_minor"].sum()


def portfolio_ltv(
    subscriptions: pd.DataFrame,
    plans: pd.DataFrame,
    payments: pd.DataFrame,
    *,
    as_of: dt.date,
    gross_margin: float = 0.8,
    annual_discount_rate: float = 0.10,
    horizon_months: int = 12,
    min_cohort_size: int = 20,
) -> PortfolioLtv:
    """Fit the contract and payment models as of ``as_of`` and value every cohort and account.

    Parameters
    ----------
    subscriptions, plans, payments : pandas.DataFrame
        The hub tables (see ``kizuna.billing.models``). Only rows known at ``as_of`` are used.
    gross_margin : float
        Share of revenue kept (LTV is a margin figure).
    annual_discount_rate : float
        Cost of capital per year; converted to the models' period.
    horizon_months : int
        Months of fully observed survival each plan's sBG is fitted on.
    min_cohort_size : int
        Plans with fewer eligible accounts are not fitted (their estimates would be noise).
    """
    tenures = account_tenures(subscriptions, plans, as_of=as_of)
    mrr = account_mrr(subscriptions, as_of=as_of)
    cohorts = _plan_cohorts(
        tenures, mrr, as_of, gross_margin, monthly_rate(annual_discount_rate), horizon_months, min_cohort_size
    )
    accounts = _account_clv(payments, mrr, as_of, gross_margin, monthly_rate(annual_discount_rate))
    residual = residual_values(
        tenures, mrr, cohorts, gross_margin=gross_margin, monthly_discount=monthly_rate(annual_discount_rate)
    )
    accounts = accounts.merge(residual, on="account_id", how="left")
    accounts["residual_ltv_minor"] = accounts["residual_ltv_minor"].astype("Int64")
    return PortfolioLtv(cohorts=cohorts, accounts=accounts)


def residual_values(
    tenures: pd.DataFrame,
    mrr: pd.DataFrame,
    cohorts: pd.DataFrame,
    *,
    gross_margin: float,
    monthly_discount: float,
) -> pd.DataFrame:
    """Each active account's residual lifetime value under its plan's sBG: MRR x gross margin x DERL given the
    months it has stayed (Fader & Hardie 2010, eq. 6); ``account_id``, ``plan``, ``residual_ltv_minor`` (None for
    an account whose plan has no fit)."""
    columns = ["account_id", "plan", "residual_ltv_minor"]
    active = tenures.loc[tenures["churn_date"].isna(), ["account_id", "plan", "tenure_months"]].merge(
        mrr.drop_duplicates("account_id")[["account_id", "mrr_minor"]], on="account_id", how="left"
    )
    if active.empty:
        return pd.DataFrame(columns=columns)
    fits = {str(r.cohort): (float(r.alpha), float(r.beta)) for r in cohorts.itertuples(index=False)}
    values: list[float | None] = []
    # DERL depends on the plan's fit and the months stayed only: computed once per (plan, months), not per account
    derls: dict[tuple[str, int], float] = {}
    for plan, months, mrr_minor in zip(active["plan"], active["tenure_months"], active["mrr_minor"], strict=True):
        fit = fits.get(str(plan))
        if fit is None or pd.isna(mrr_minor):
            values.append(None)
            continue
        key = (str(plan), int(months))
        derl = derls.get(key)
        if derl is None:
            model = ShiftedBetaGeometric()
            model.params_ = pd.Series({"alpha": fit[0], "beta": fit[1]})
            derl = derls[key] = float(model.discounted_expected_residual_lifetime(monthly_discount, int(months)))
        values.append(round(float(mrr_minor) * gross_margin * derl))
    active["residual_ltv_minor"] = values
    return active[columns]


#: the 95 % profile-likelihood bounds stored with each sBG fit (an empty upper bound: not bounded by the data)
PROFILE_COLUMNS = tuple(f"{n}_{s}" for n in ("alpha", "beta", "churn_rate") for s in ("lower", "upper"))


def _plan_cohorts(
    tenures: pd.DataFrame,
    mrr: pd.DataFrame,
    as_of: dt.date,
    margin: float,
    monthly_discount: float,
    horizon: int,
    min_size: int,
) -> pd.DataFrame:
    columns = [
        "cohort_kind",
        "cohort",
        "alpha",
        "beta",
        "alpha_se",
        "beta_se",
        *PROFILE_COLUMNS,
        "n_customers",
        "n_periods",
        "expected_lifetime_months",
        "arpa_minor",
        "currency",
        "ltv_minor",
    ]
    table = contract_survival_table(tenures, as_of=as_of, cohort_col="plan", horizon_months=horizon)
    sizes = table.loc[table["period"] == 0].set_index("cohort")["alive"]
    table = table.loc[table["cohort"].isin(sizes[sizes >= min_size].index)]
    # a cohort nobody left cannot be fitted (the MLE runs off to beta = infinity)
    lost = table.groupby("cohort")["alive"].agg(lambda s: s.iloc[0] - s.iloc[-1])
    table = table.loc[table["cohort"].isin(lost[lost > 0].index)]
    if table.empty:
        return pd.DataFrame(columns=columns)
    with warnings.catch_warnings():
        # an unidentified Hessian leaves the standard errors NaN, which the stored fit shows; not an error here
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = fit_sbg_by_cohort(table).reset_index()
    active = tenures.loc[tenures["churn_date"].isna(), ["account_id", "plan"]].merge(mrr, on="account_id")
    arpa = active.groupby("plan").agg(arpa_minor=("mrr_minor", "mean"), currency=("currency", "first"))
    rows = []
    for fit in fits.itertuples(index=False):
        model = ShiftedBetaGeometric()
        model.params_ = pd.Series({"alpha": fit.alpha, "beta": fit.beta})
        arpa_minor = float(arpa["arpa_minor"].get(fit.cohort, np.nan))
        currency = arpa["currency"].get(fit.cohort, "JPY")
        value = 0.0 if np.isnan(arpa_minor) else arpa_minor * margin
        rows.append(
            {
                "cohort_kind": "plan",
                "cohort": str(fit.cohort),
                "alpha": float(fit.alpha),
                "beta": float(fit.beta),
                "alpha_se": None if np.isnan(fit.alpha_se) else float(fit.alpha_se),
                "beta_se": None if np.isnan(fit.beta_se) else float(fit.beta_se),
                # an upper bound the data do not set (inf) is stored empty beside a known lower bound
                **{
                    f"{name}_{side}": _bound(getattr(fit, f"{name}_{side}"))
                    for name in ("alpha", "beta", "churn_rate")
                    for side in ("lower", "upper")
                },
                "n_customers": int(fit.n_customers),
                "n_periods": int(fit.n_periods),
                "expected_lifetime_months": model.expected_lifetime(horizon=LIFETIME_HORIZON_MONTHS),
                "arpa_minor": 0 if np.isnan(arpa_minor) else round(arpa_minor),
                "currency": currency,
                "ltv_minor": round(float(model.ltv(value, monthly_discount))),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _bound(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _account_clv(
    payments: pd.DataFrame, mrr: pd.DataFrame, as_of: dt.date, margin: float, monthly_discount: float
) -> pd.DataFrame:
    columns = [
        "account_id",
        "probability_alive",
        "expected_payments_12m",
        "expected_payment_minor",
        "clv_12m_minor",
        "clv_note",
        "currency",
    ]
    log = payment_transactions(payments)
    end = pd.Timestamp(as_of, tz="UTC")
    log = log.loc[pd.to_datetime(log["paid_at"], utc=True) <= end]
    if log["account_id"].nunique() < 20:
        return pd.DataFrame(columns=columns)
    summary = rfm_summary(
        log, "account_id", "paid_at", monetary_value_col="amount_minor", observation_period_end=end, freq="W"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # degenerate fits leave NaN standard errors
        warnings.simplefilter("ignore", RuntimeWarning)
        transactions = BetaGeoNBD().fit(summary)
        repeaters = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        why_not = gamma_gamma_unfit(log, repeaters)
        spend = GammaGamma().fit(repeaters) if why_not is None else None
    if spend is not None and float(spend.params_["q"]) <= 1.0:
        spend, why_not = None, "infinite_mean"
    out = pd.DataFrame({"account_id": summary.index.to_numpy()})
    out["probability_alive"] = transactions.predict_probability_alive(summary).to_numpy()
    out["expected_payments_12m"] = transactions.predict_purchases(summary, 52).to_numpy()
    if spend is not None:
        expected = spend.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"])
        clv = spend.customer_lifetime_value(
            transactions,
            summary["frequency"],
            summary["recency"],
            summary["T"],
            summary["monetary_value"],
            time=12,
            discount_rate=monthly_discount,
            freq="W",
        )
        out["expected_payment_minor"] = np.round(np.asarray(expected, dtype=float)).astype("int64")
        out["clv_12m_minor"] = np.round(np.asarray(clv, dtype=float) * margin).astype("int64")
        out["clv_note"] = [None if f > 0 else "no_repeat_payment" for f in summary["frequency"].to_numpy()]
    else:
        out["expected_payment_minor"] = None
        out["clv_12m_minor"] = None
        out["clv_note"] = why_not
    currency = mrr.drop_duplicates("account_id").set_index("account_id")["currency"]
    out["currency"] = out["account_id"].map(currency).fillna("JPY")
    return out[columns]


#: why no account has a Gamma-Gamma CLV (``clv_note``), besides ``no_repeat_payment`` for one account: a CLV of a
#: single payment is the population's prior, not the account's
GAMMA_GAMMA_NOTES = ("too_few_repeaters", "constant_amounts", "dependent", "infinite_mean", "no_repeat_payment")


def gamma_gamma_unfit(log: pd.DataFrame, repeaters: pd.DataFrame) -> str | None:
    """Why Gamma-Gamma cannot value this book's payments, or None when it can (Fader, Hardie & Lee 2005).

    ``too_few_repeaters``: fewer than 20 accounts paid more than once. ``constant_amounts``: half the accounts or
    more pay the very same amount every time (a subscription's invoice): the model describes how an account's
    payments vary around its own mean, and with no variation its fit runs off to ``p`` -> infinity, ``q`` <= 1
    (no finite mean). ``dependent``: the number of payments and their mean amount are correlated (|r| > 0.3),
    against the model's independence assumption.
    """
    if len(repeaters) < 20:
        return "too_few_repeaters"
    # each account's amounts' spread (population SD over the mean, the mean at least 1), grouped without Python calls
    amounts = log.groupby("account_id")["amount_minor"]
    spread = amounts.std(ddof=0) / amounts.mean().clip(lower=1.0)
    if float(spread.loc[spread.index.isin(repeaters.index)].median()) < 0.01:
        return "constant_amounts"
    r = float(np.corrcoef(repeaters["frequency"], repeaters["monetary_value"])[0, 1])
    if np.isfinite(r) and abs(r) > 0.3:
        return "dependent"
    return None
