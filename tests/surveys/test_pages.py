"""Surveys from the app ``kizuna serve`` builds: a campaign created on /surveys is previewed, then sent through the
outbox to a real SMTP server on loopback; a detractor becomes a follow-up task and its loop is closed; a silent
customer (no answer, no text) gets an outreach task."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from kizuna import models as m
from kizuna.platform.outbox.service import DeliveryPolicy, deliver_queued
from kizuna.surveys.models import LoopStatus
from tests.platform.outbox.loopback import SmtpServer
from tests.web.fixtures import WebWorld, _world_template, csrf_of, world  # noqa: F401


def test_a_campaign_is_previewed_then_sent_by_email(world: WebWorld, smtp_server: SmtpServer) -> None:  # noqa: F811
    client = world.client("manager")
    page = client.get("/surveys")
    assert page.status_code == 200 and 'id="campaign-form"' in page.text
    token = csrf_of(page.text)
    created = client.post(
        "/surveys/campaigns", data={"name": "2026年冬 NPS", "kind": "nps", "segment": "tier:high", "csrf_token": token}
    )
    assert created.status_code == 303
    address = created.headers["location"]
    assert re.fullmatch(r"/surveys/campaigns/\d+", address)
    assert client.post("/surveys/campaigns", data={"name": "x", "kind": "sms", "csrf_token": token}).status_code in (
        400,
        422,
    )

    preview = client.get(address)
    assert preview.status_code == 200
    assert "2名" in preview.text and "2社" in preview.text  # the two high-touch accounts' contacts
    assert "yamada0@example.jp" in preview.text and "友人や同僚に薦める" in preview.text
    assert smtp_server.messages == []  # a preview sends nothing

    sent = client.post(f"{address}/send", data={"csrf_token": csrf_of(preview.text)})
    assert sent.status_code == 303 and sent.headers["location"] == f"{address}?sent=2"
    assert "2名への招待メールを送信キューに入れました" in client.get(sent.headers["location"]).text
    assert smtp_server.messages == []  # queued in the outbox; the worker delivers after commit
    smtp = world.runtime.settings.model_copy(update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port})
    report = deliver_queued(world.runtime.sessions, settings=smtp, policy=DeliveryPolicy())
    assert report.sent == 2
    assert sorted(r for rs in smtp_server.recipients for r in rs) == ["yamada0@example.jp", "yamada1@example.jp"]
    again = client.post(f"{address}/send", data={"csrf_token": csrf_of(preview.text)})
    assert again.headers["location"] == f"{address}?sent=0"  # nobody is invited twice

    listing = client.get("/surveys")
    assert "2026年冬 NPS" in listing.text and "送信済み" in listing.text

    # one chosen account (by its ID), whatever its tier
    one = client.post(
        "/surveys/campaigns",
        data={"name": "個別 CSAT", "kind": "csat", "segment": "", "accounts": " ACC-web-1、", "csrf_token": token},
    )
    only = client.get(one.headers["location"])
    assert "1名" in only.text and "yamada1@example.jp" in only.text and "yamada0@example.jp" not in only.text


def test_detractors_become_tasks_and_the_loop_closes(world: WebWorld) -> None:  # noqa: F811
    client = world.client("csm")
    with world.runtime.transaction() as session:
        detractor = session.scalars(
            select(m.SurveyResponse).where(m.SurveyResponse.account_id == world.other_account_id)
        ).one()
        assert detractor.score == 5
        response_id = detractor.id
    page = client.get("/surveys")
    section = page.text.split('id="detractor-list"')[1].split("</table>")[0]
    assert f"/surveys/responses/{response_id}/task" in section and "未完了 1件" in page.text
    made = client.post(f"/surveys/responses/{response_id}/task", data={"csrf_token": csrf_of(page.text)})
    assert made.status_code == 303
    client.post(f"/surveys/responses/{response_id}/task", data={"csrf_token": csrf_of(page.text)})
    with world.runtime.transaction() as session:
        tasks = session.scalars(select(m.Task).where(m.Task.dedupe_key == f"survey-response:{response_id}")).all()
        assert len(tasks) == 1 and tasks[0].account_id == world.other_account_id
        assert tasks[0].owner_id == world.team_member_id and tasks[0].priority == "high"
        loop = session.scalars(select(m.SurveyFollowUp).where(m.SurveyFollowUp.response_id == response_id)).one()
        assert loop.status == LoopStatus.in_progress
    page = client.get("/surveys")
    assert "タスク作成済み" in page.text.split('id="detractor-list"')[1].split("</table>")[0]
    closed = client.post(f"/surveys/responses/{response_id}/close", data={"csrf_token": csrf_of(page.text)})
    assert closed.status_code == 303
    page = client.get("/surveys")
    assert f"/surveys/responses/{response_id}/" not in page.text and "未完了 0件" in page.text


def test_silent_customers_get_outreach(world: WebWorld) -> None:  # noqa: F811
    today = dt.date.today()
    with world.runtime.transaction() as session:
        quiet = m.Account(external_id="ACC-quiet", name="株式会社シズカ", owner_id=world.team_member_id)
        session.add(quiet)
        session.flush()
        for account_id, arr in ((quiet.id, 2_400_000), (world.account_id, 9_000_000)):
            session.add(m.AccountMetrics(account_id=account_id, as_of=today, arr_minor=arr, mrr_minor=arr // 12))
        quiet_id = quiet.id
    client = world.client("csm")
    page = client.get("/surveys")
    section = page.text.split('id="silent-list"')[1].split("</table>")[0]
    # the first account answered NPS and spoke in the last days: not silent, however large its ARR
    assert "株式会社シズカ" in section and "株式会社サクラ商事" not in section and "記録なし" in section
    made = client.post(f"/surveys/silent/{quiet_id}/task", data={"csrf_token": csrf_of(page.text)})
    assert made.status_code == 303 and made.headers["location"] == "/surveys#silent"
    with world.runtime.transaction() as session:
        task = session.scalars(select(m.Task).where(m.Task.dedupe_key == f"silent-customer:{quiet_id}")).one()
        assert task.account_id == quiet_id and "グッドマン" in (task.reason or "")
    section = client.get("/surveys").text.split('id="silent-list"')[1].split("</table>")[0]
    assert f"/surveys/silent/{quiet_id}/task" not in section and "タスク作成済み" in section


def test_accounts_chosen_in_sql_are_those_the_conditions_choose(world: WebWorld) -> None:  # noqa: F811
    from kizuna.segments.attributes import account_attributes, failed_condition
    from kizuna.segments.schemas import Condition
    from kizuna.surveys.service import _accounts_in_sql

    with world.runtime.transaction() as session:
        ids = list(session.scalars(select(m.Account.id)))
        attrs = account_attributes(session, ids, today=dt.date.today())
        for raw in (
            [{"field": "touch_tier", "eq": "high"}],
            [{"field": "tier", "in": ["low", "tech"]}],
            [{"field": "external_id", "in": ["ACC-web-1", "ACC-none"]}, {"field": "touch_tier", "eq": "high"}],
            [{"field": "segment", "eq": "no such segment"}],
        ):
            conditions = [Condition.model_validate(c) for c in raw]
            stmt = _accounts_in_sql(conditions)
            assert stmt is not None
            expected = {a for a in ids if failed_condition(conditions, attrs[a]) is None}
            assert set(session.scalars(stmt)) == expected, raw
        assert _accounts_in_sql([Condition.model_validate({"field": "mrr_minor", "gt": 0})]) is None
