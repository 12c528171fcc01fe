from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.activities.service import log_activity, timeline
from kizuna.errors import InvalidInput, NotFound
from kizuna.tasks.service import create_task
from tests import factories

T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)


def test_timeline_merges_everything_newest_first(session: Session) -> None:
    csm = factories.team_member(session, name="伊藤")
    account = factories.account(session)
    other = factories.account(session)
    log_activity(
        session,
        actor="伊藤",
        account_id=account.id,
        kind="meeting",
        subject="キックオフ",
        author_id=csm.id,
        occurred_at=T0,
    )
    log_activity(session, actor="伊藤", account_id=other.id, kind="call", subject="別の会社", occurred_at=T0)
    session.add_all(
        [
            m.Ticket(
                external_id="tl-t",
                account_id=account.id,
                subject="CSVが文字化け",
                opened_at=T0 + dt.timedelta(days=1),
                escalated=True,
            ),
            m.SurveyResponse(
                external_id="tl-s", account_id=account.id, kind="nps", score=9, responded_at=T0 + dt.timedelta(days=2)
            ),
            m.VocEntry(
                external_id="tl-v",
                account_id=account.id,
                channel="seminar",
                text="API連携がほしい",
                recorded_at=T0 + dt.timedelta(days=3),
            ),
        ]
    )
    session.flush()
    create_task(session, actor="伊藤", title="QBR準備", account_id=account.id)
    items = timeline(session, account_id=account.id)
    assert [i.kind for i in items] == ["task", "voc", "survey", "ticket", "meeting"]
    assert items[-1].by == "伊藤" and items[3].title.endswith("[escalated]")
    assert [i.kind for i in timeline(session, account_id=account.id, kinds={"meeting", "voc"})] == ["voc", "meeting"]
    assert [i.kind for i in timeline(session, account_id=account.id, until=T0 + dt.timedelta(days=2))] == [
        "ticket",
        "meeting",
    ]


def test_bad_activities_are_refused(session: Session) -> None:
    account = factories.account(session)
    with pytest.raises(InvalidInput):
        log_activity(session, actor="x", account_id=account.id, kind="lunch", subject="昼食")
    with pytest.raises(NotFound):
        log_activity(session, actor="x", account_id=999_999, kind="note", subject="メモ")
