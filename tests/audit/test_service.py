"""Reading the audit log: filters by actor, action, target and calendar days in the business time zone; pages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from kizuna.audit import service
from kizuna.audit.schemas import AuditQuery


def _entries(session: Session) -> None:
    rows = [
        ("user:1:佐藤 花子", "create", "task", dt.datetime(2026, 3, 31, 14, 59, tzinfo=dt.UTC)),  # 3月31日 23:59 JST
        ("user:1:佐藤 花子", "complete", "task", dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)),  # 4月1日 0:00 JST
        ("api_key:2:CRM連携", "create", "account", dt.datetime(2026, 4, 2, 3, 0, tzinfo=dt.UTC)),
        ("refresh", "score", "health_scores", dt.datetime(2026, 4, 3, 3, 0, tzinfo=dt.UTC)),
    ]
    for actor, action, entity, at in rows:
        entry = service.record_audit(session, actor=actor, action=action, entity=entity, entity_id=7)
        entry.at = at
    session.flush()


def test_filters_and_days_in_the_business_time_zone(session: Session) -> None:
    _entries(session)
    april = service.list_audit(session, AuditQuery(date_from=dt.date(2026, 4, 1), date_to=dt.date(2026, 4, 2)))
    assert [(r.action, r.entity) for r in april.items] == [("create", "account"), ("complete", "task")]
    march = service.list_audit(session, AuditQuery(date_to=dt.date(2026, 3, 31)))
    assert [(r.action, r.entity) for r in march.items] == [("create", "task")]
    # the same instant is still March 31st in UTC
    in_utc = service.list_audit(session, AuditQuery(date_to=dt.date(2026, 3, 31)), timezone="UTC")
    assert in_utc.total == 2
    by_actor = service.list_audit(session, AuditQuery(actor="user:1:佐藤 花子", action="complete"))
    assert by_actor.total == 1 and by_actor.items[0].actor.name == "佐藤 花子"
    by_target = service.list_audit(session, AuditQuery(entity="health_scores"))
    assert by_target.total == 1 and by_target.items[0].actor.kind == "system"


def test_pages_newest_first_and_choices(session: Session) -> None:
    _entries(session)
    first = service.list_audit(session, AuditQuery(per_page=3, date_from=dt.date(2026, 1, 1)))
    second = service.list_audit(session, AuditQuery(per_page=3, page=2, date_from=dt.date(2026, 1, 1)))
    assert first.total == second.total == 4 and first.pages == 2
    assert [r.action for r in first.items] == ["score", "create", "complete"]
    assert [r.action for r in second.items] == ["create"]
    everything = list(service.iter_audit(session, AuditQuery(page=2, per_page=1, date_from=dt.date(2026, 1, 1))))
    assert len(everything) == 4
    choices = service.audit_choices(session)
    assert {"create", "complete", "score"} <= set(choices.actions)
    kinds = {a.raw: (a.kind, a.name) for a in choices.actors}
    assert kinds["api_key:2:CRM連携"] == ("api_key", "CRM連携") and kinds["refresh"] == ("system", "refresh")
    assert service.parse_actor("playbook:renewal-90").model_dump() == {
        "raw": "playbook:renewal-90",
        "kind": "playbook",
        "name": "renewal-90",
    }
