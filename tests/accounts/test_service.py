"""The accounts service on SQLite and PostgreSQL: search (Japanese), sort, bulk assign, activities, 360."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.accounts import service
from kizuna.accounts.schemas import AccountCreate, AccountQuery, AccountUpdate
from kizuna.errors import Conflict, InvalidInput, NotFound
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


def test_search_variants_fold_widths_and_kana() -> None:
    assert service.search_variants("ｻｸﾗ")[:3] == ["ｻｸﾗ", "サクラ", "さくら"]
    assert "サクラ" in service.search_variants("さくら")
    assert service.search_variants("ＡＢＣ")[1] == "ABC"
    assert service.search_variants("  ") == []


def test_list_search_filter_sort(session: Session) -> None:
    plan = f.plan(session)
    owner = f.team_member(session)
    a = f.account(session, name="株式会社サクラ商事", owner_id=owner.id, lifecycle_stage="at_risk")
    b = f.account(session, name="ＡＢＣ物流株式会社", industry="物流")
    c = f.account(session, name="100%_Percent Inc.")
    _sub(session, a, plan, 30_000, dt.date(2026, 1, 1), renewal_date=dt.date(2027, 1, 1))
    _sub(session, b, plan, 90_000, dt.date(2026, 1, 1), renewal_date=dt.date(2026, 12, 1))
    _sub(session, c, plan, 10_000, dt.date(2025, 1, 1), end_date=dt.date(2026, 1, 1))

    def names(**kw: object) -> list[str]:
        page = service.list_accounts(session, AccountQuery(**kw), today=TODAY)  # type: ignore[arg-type]
        return [r.name for r in page.items]

    assert names(q="さくら") == ["株式会社サクラ商事"]
    assert names(q="ABC") == ["ＡＢＣ物流株式会社"]
    assert names(q="%_") == ["100%_Percent Inc."]  # LIKE wildcards are escaped
    assert names(owner_id=owner.id) == ["株式会社サクラ商事"]
    assert "株式会社サクラ商事" not in names(owner_id=0)
    assert names(sort="-mrr")[:2] == ["ＡＢＣ物流株式会社", "株式会社サクラ商事"]
    assert names(sort="renewal")[:2] == ["ＡＢＣ物流株式会社", "株式会社サクラ商事"]
    page = service.list_accounts(session, AccountQuery(q="サクラ"), today=TODAY)
    assert page.total == 1 and page.items[0].mrr_minor == 30_000 and page.items[0].owner_name == owner.name


def test_create_update_and_bulk_assign_are_audited(session: Session) -> None:
    owner = f.team_member(session)
    account = service.create_account(session, actor="user:1:t", data=AccountCreate(external_id="N-1", name="新規"))
    with pytest.raises(Conflict):
        service.create_account(session, actor="t", data=AccountCreate(external_id="N-1", name="dup"))
    with pytest.raises(InvalidInput):
        service.update_account(session, actor="t", account_id=account.id, data=AccountUpdate(lifecycle_stage="x"))
    service.update_account(session, actor="t", account_id=account.id, data=AccountUpdate(industry="SaaS"))
    other = f.account(session)
    assert service.bulk_assign(session, actor="t", account_ids=[account.id, other.id], owner_id=owner.id) == 2
    assert service.bulk_assign(session, actor="t", account_ids=[account.id], owner_id=owner.id) == 0
    with pytest.raises(NotFound):
        service.bulk_assign(session, actor="t", account_ids=[10**9], owner_id=None)
    with pytest.raises(InvalidInput):
        service.bulk_assign(session, actor="t", account_ids=[account.id], owner_id=10**9)
    actions = session.scalars(
        select(m.AuditEntry.action).where(m.AuditEntry.entity == "account", m.AuditEntry.entity_id == str(account.id))
    ).all()
    assert sorted(actions) == ["assign", "create", "update"]
