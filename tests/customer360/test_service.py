"""The customer 360 read model on SQLite and PostgreSQL: contracts, MRR history, activities, NPS."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.activities import service as activities
from kizuna.customer360 import service
from kizuna.errors import InvalidInput, NotFound
from tests import factories as f

TODAY = dt.date(2026, 11, 22)


def _sub(session: Session, account: m.Account, plan: m.Plan, mrr: int, start: dt.date, **kw: object) -> None:
    session.add(
        m.Subscription(
            external_id=f"S-{account.id}-{start}-{mrr}",
            contract_id=f"C-{account.id}",
            account_id=account.id,
            plan_id=plan.id,
            mrr_minor=mrr,
            start_date=start,
            **kw,
        )
    )
    session.flush()


def test_activities_and_customer_360(session: Session) -> None:
    plan = f.plan(session)
    account = f.account(session)
    contact = f.contact(session, account)
    _sub(session, account, plan, 50_000, dt.date(2026, 3, 1), end_date=dt.date(2026, 6, 1))
    _sub(session, account, plan, 80_000, dt.date(2026, 6, 1), renewal_date=dt.date(2027, 6, 1))
    activities.log_activity(
        session, actor="t", account_id=account.id, kind="meeting", subject="キックオフ", contact_id=contact.id
    )
    with pytest.raises(InvalidInput):
        activities.log_activity(session, actor="t", account_id=account.id, kind="note", subject="x", contact_id=10**9)
    view = service.customer_360(session, account.id, today=TODAY)
    assert view.mrr_minor == 80_000 and view.next_renewal == dt.date(2027, 6, 1)
    assert [a.subject for a in view.activities] == ["キックオフ"]
    history = {p.month: p.mrr_minor for p in view.mrr_history}
    assert history[dt.date(2026, 2, 1)] == 0
    assert history[dt.date(2026, 3, 1)] == 50_000 and history[dt.date(2026, 6, 1)] == 80_000
    with pytest.raises(NotFound):
        service.customer_360(session, 10**9, today=TODAY)


def test_nps() -> None:
    assert service.nps_of([10, 9, 8, 6]) == pytest.approx(25.0)
    assert service.nps_of([]) is None
