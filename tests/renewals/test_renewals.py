"""Renewal center: sync from subscription history, outcomes, calls, the model's probability, the forecast."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.errors import InvalidInput
from kizuna.renewals import service
from tests import factories

TODAY = dt.date(2026, 8, 1)


def _risk(session: Session, account: m.Account, probability: float) -> None:
    from kizuna.risk.models import RiskModel, RiskScore

    model = RiskModel(
        file_name="x.joblib",
        data_as_of=TODAY,
        horizon_days=90,
        train_start=TODAY,
        train_end=TODAY,
        n_samples=1,
        base_rate=0.1,
        features=[],
        params={},
        metrics={},
        trained_by="test",
    )
    session.add(model)
    session.flush()
    session.add(
        RiskScore(
            account_id=account.id, model_id=model.id, as_of=TODAY, probability=probability, band="high", drivers=[]
        )
    )
    session.flush()


@pytest.fixture
def book(session: Session) -> dict[str, m.Account]:
    plan = factories.plan(session, name="Pro (年額)", billing_period_months=12)
    grown = factories.account(session, name="拡大社")
    factories.subscription(
        session,
        grown,
        plan,
        contract_id="C-GROW",
        term_months=12,
        mrr_minor=100_000,
        start_date=dt.date(2025, 7, 1),
        end_date=dt.date(2026, 7, 1),
        renewal_date=dt.date(2026, 7, 1),
    )
    factories.subscription(
        session,
        grown,
        plan,
        contract_id="C-GROW",
        term_months=12,
        mrr_minor=120_000,
        start_date=dt.date(2026, 7, 1),
        renewal_date=dt.date(2027, 7, 1),
    )
    gone = factories.account(session, name="解約社")
    factories.subscription(
        session,
        gone,
        plan,
        contract_id="C-GONE",
        term_months=12,
        mrr_minor=30_000,
        status="churned",
        start_date=dt.date(2025, 3, 1),
        end_date=dt.date(2026, 3, 1),
        renewal_date=dt.date(2026, 3, 1),
    )
    due = factories.account(session, name="更新社")
    factories.subscription(
        session,
        due,
        plan,
        contract_id="C-DUE",
        term_months=12,
        mrr_minor=50_000,
        start_date=dt.date(2025, 10, 1),
        renewal_date=dt.date(2026, 10, 1),
    )
    monthly = factories.account(session, name="月額社")
    factories.subscription(
        session,
        monthly,
        plan,
        contract_id="C-MONTH",
        term_months=1,
        mrr_minor=10_000,
        start_date=dt.date(2026, 1, 1),
        renewal_date=dt.date(2026, 9, 1),
    )
    return {"grown": grown, "gone": gone, "due": due, "monthly": monthly}


def test_sync_reads_outcomes_from_history_and_is_idempotent(session: Session, book: dict[str, m.Account]) -> None:
    report = service.sync_renewals(session, today=TODAY)
    assert (report.created, report.outcomes) == (3, 2)
    rows = {r.contract_id: r for r in session.scalars(select(m.Renewal))}
    assert set(rows) == {"C-GROW", "C-GONE", "C-DUE"}  # the monthly contract is followed by churn risk instead
    assert (rows["C-GROW"].outcome, rows["C-GROW"].arr_minor, rows["C-GROW"].outcome_arr_minor) == (
        "expanded",
        1_200_000,
        1_440_000,
    )
    assert (rows["C-GONE"].outcome, rows["C-GONE"].outcome_arr_minor) == ("churned", 0)
    assert rows["C-DUE"].outcome is None and rows["C-DUE"].arr_minor == 600_000
    again = service.sync_renewals(session, today=TODAY)
    assert (again.created, again.updated, again.outcomes) == (0, 0, 0)
    o = service.outcomes(session, since=dt.date(2026, 1, 1), until=TODAY)
    assert o["by_outcome"]["expanded"]["renewals"] == 1 and o["by_outcome"]["churned"]["renewals"] == 1
    assert o["gross_renewal_rate"] == pytest.approx(1_200_000 / 1_560_000)
    assert o["net_renewal_rate"] == pytest.approx(1_440_000 / 1_560_000)


def test_calls_model_and_forecast(session: Session, book: dict[str, m.Account]) -> None:
    _risk(session, book["due"], 0.7)  # P(renew) = 0.3: the model calls it at risk
    service.sync_renewals(session, today=TODAY)
    [row] = service.upcoming(session, today=TODAY, horizon_days=120)
    assert (row["account_name"], row["days_left"], row["model_call"]) == ("更新社", 61, "at_risk")
    assert row["model_probability"] == pytest.approx(0.3) and row["churn_probability"] == pytest.approx(0.7)
    assert not row["disagreement"]
    service.set_forecast_call(session, actor="csm", renewal_id=row["renewal_id"], call="commit", note="予算確保済み")
    forecast = service.renewal_forecast(session, today=TODAY, horizon_days=120)
    assert forecast["arr_up_for_renewal_minor"] == 600_000
    assert forecast["model_weighted_arr_minor"] == 180_000
    assert forecast["csm_weighted_arr_minor"] == 570_000
    assert forecast["by_call"]["commit"] == {"renewals": 1, "arr_minor": 600_000}
    assert [d["account_name"] for d in forecast["disagreements"]] == ["更新社"]
    service.set_forecast_call(session, actor="csm", renewal_id=row["renewal_id"], call="at_risk")
    assert service.renewal_forecast(session, today=TODAY, horizon_days=120)["disagreements"] == []
    with pytest.raises(InvalidInput):
        service.set_forecast_call(session, actor="csm", renewal_id=row["renewal_id"], call="maybe")
    # after the date: the outcome is read back, and the call is scored against it
    after = service.sync_renewals(session, today=dt.date(2026, 10, 2))
    assert after.outcome_counts == {"renewed": 1}
    o = service.outcomes(session, since=dt.date(2026, 9, 1), until=dt.date(2026, 10, 2))
    assert o["csm_call_accuracy"] == 0.0  # called at risk, renewed
    assert o["model_brier_score"] == pytest.approx((0.3 - 1) ** 2)


def test_manual_outcome_and_call_rules() -> None:
    assert service.classify_outcome(1000, 0) == ("churned", 0)
    assert service.classify_outcome(1000, 800) == ("downgraded", 800)
    assert service.classify_outcome(1000, 1005) == ("renewed", 1005)
    assert service.classify_outcome(1000, 1200) == ("expanded", 1200)
    assert [service.model_call(p) for p in (0.9, 0.7, 0.3, 0.1)] == ["commit", "likely", "at_risk", "lost"]
    assert service.disagrees("lost", 0.9) and not service.disagrees("likely", 0.9) and not service.disagrees(None, 0.1)


def test_record_outcome_by_hand(session: Session, book: dict[str, m.Account]) -> None:
    service.sync_renewals(session, today=TODAY)
    due = session.scalar(select(m.Renewal).where(m.Renewal.contract_id == "C-DUE"))
    assert due is not None
    service.record_outcome(session, actor="csm", renewal_id=due.id, outcome="downgraded", arr_minor=500_000)
    assert (due.outcome, due.outcome_arr_minor) == ("downgraded", 500_000)
    with pytest.raises(InvalidInput):
        service.record_outcome(session, actor="csm", renewal_id=due.id, outcome="won")
