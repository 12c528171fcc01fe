"""The voice loop end to end: campaign -> email with a personal link (real SMTP) -> public page -> stored answer ->
closed-loop follow-up -> the detractor playbook opens a task."""

from __future__ import annotations

import re
import warnings
from email.message import Message

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kizuna import models as m
from kizuna.errors import InvalidInput
from kizuna.platform.outbox.service import DeliveryPolicy, deliver_queued
from kizuna.playbooks.jobs import tick
from kizuna.playbooks.service import LIBRARY_DIR, import_playbook, set_enabled
from kizuna.runtime import Runtime
from kizuna.surveys.models import LoopStatus
from kizuna.surveys.public import router
from kizuna.surveys.service import campaign_status, create_campaign, send_campaign, set_loop_status
from tests import factories
from tests.platform.outbox.loopback import SmtpServer

with warnings.catch_warnings():
    # Starlette's TestClient warns that its httpx use is deprecated; it is still the way to drive an ASGI app.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def _body(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(mail.get_content_charset() or "utf-8")


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    app = FastAPI()
    app.state.runtime = runtime
    app.include_router(router)
    return TestClient(app)


def test_nps_campaign_to_detractor_task(runtime: Runtime, smtp_server: SmtpServer, client: TestClient) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port, "base_url": "https://cs.example.jp"}
    )
    with runtime.transaction() as session:
        csm = factories.team_member(session, name="高橋")
        high = factories.account(session, name="株式会社ハイタッチ", touch_tier="high", owner_id=csm.id)
        low = factories.account(session, name="株式会社ロータッチ", touch_tier="low")
        taro = factories.contact(session, high, name="太郎", email="taro@high.example.jp", language="ja")
        factories.contact(session, high, name="Jane", email="jane@high.example.jp", language="en")
        factories.contact(session, low, name="花子", email="hanako@low.example.jp")
        campaign = create_campaign(
            session, actor="t", name="2026年秋 NPS", kind="nps", account_filter=[{"field": "touch_tier", "eq": "high"}]
        )
        assert send_campaign(session, actor="t", campaign_id=campaign.id, settings=runtime.settings) == 2
        assert send_campaign(session, actor="t", campaign_id=campaign.id, settings=runtime.settings) == 0
        playbook_yaml = (LIBRARY_DIR / "nps-detractor.yaml").read_text(encoding="utf-8")
        import_playbook(session, actor="t", yaml_text=playbook_yaml)
        set_enabled(session, actor="t", key="nps-detractor", enabled=True)
    assert smtp_server.messages == []  # nothing leaves before the transaction commits
    deliver_queued(runtime.sessions, settings=runtime.settings, policy=DeliveryPolicy())
    by_recipient = {tuple(r): mail for r, mail in zip(smtp_server.recipients, smtp_server.messages, strict=True)}
    assert set(by_recipient) == {("taro@high.example.jp",), ("jane@high.example.jp",)}
    assert "1分ほどのアンケート" in _body(by_recipient[("taro@high.example.jp",)])
    assert "Could you spare one minute" in _body(by_recipient[("jane@high.example.jp",)])
    match = re.search(r"https://cs\.example\.jp(/s/[\w-]+)", _body(by_recipient[("taro@high.example.jp",)]))
    assert match
    path = match.group(1)

    page = client.get(path)
    assert page.status_code == 200 and "友人や同僚に薦める" in page.text and 'value="10"' in page.text
    assert client.get("/s/not-a-token").status_code == 404
    assert client.post(path, data={"score": "11"}).status_code == 400
    answered = client.post(path, data={"score": "3", "comment": "サポートの返信が遅い"})
    assert answered.status_code == 200 and "ありがとうございました" in answered.text
    again = client.post(path, data={"score": "10"})
    assert again.status_code == 200  # a second answer is thanked but not stored

    with runtime.transaction() as session:
        [response] = session.scalars(select(m.SurveyResponse)).all()
        assert (response.account_id, response.contact_id, response.score) == (high.id, taro.id, 3)
        [status] = campaign_status(session, campaign_id=campaign.id)
        assert status["invited"] == 2 and status["answered"] == 1 and status["nps"] == -100.0
        assert status["open_loops"] == 1
        follow_up = session.scalars(select(m.SurveyFollowUp)).one()
        assert follow_up.status == LoopStatus.open and follow_up.owner_id == csm.id

    smtp_before = len(smtp_server.messages)
    tick(runtime, policy=DeliveryPolicy())
    tick(runtime, policy=DeliveryPolicy())
    with runtime.transaction() as session:
        [task] = session.scalars(select(m.Task)).all()
        assert task.account_id == high.id and task.owner_id == csm.id and task.priority == "high"
        assert "サポートの返信が遅い" in (task.reason or "")
        set_loop_status(session, actor="高橋", response_id=response.id, status="closed", note="電話で謝罪し改善を約束")
        assert campaign_status(session, campaign_id=campaign.id)[0]["open_loops"] == 0
    # the detractor follow-up email went to the respondent, once
    assert [r for r in smtp_server.recipients[smtp_before:]] == [["taro@high.example.jp"]]


def test_campaign_filters_are_validated(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        with pytest.raises(InvalidInput):
            create_campaign(session, actor="t", name="x", kind="mood")
        with pytest.raises(InvalidInput):
            create_campaign(session, actor="t", name="x", kind="nps", contact_filter={"department": "IT"})
