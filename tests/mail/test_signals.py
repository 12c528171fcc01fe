"""Silence and tone of the customers' e-mails as health measures: a scorecard YAML weighs them, read from the app
database through the warehouse (SQLite and PostgreSQL); without any e-mail they are "no data in this company"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from kizuna.health import service as health
from kizuna.health.models import HealthScore
from kizuna.hub.context import RefreshContext
from kizuna.mail.service import import_mail
from kizuna.runtime import Runtime
from kizuna.voc.service import analyse_entries
from tests import factories
from tests.mail.test_import import _eml

VOICE = """\
name: voice
version: 1
title: {ja: 顧客の声, en: Customer voice}
thresholds: {red: 40, green: 70}
measures:
  - name: tenure
    source: tenure_days
    weight: 1
    linear: [[0, 0], [365, 100]]
  - name: silence
    title: {ja: 最後のメールからの日数, en: Days since the customer last wrote}
    source: days_since_customer_email
    weight: 2
    bands:
      - {below: 30, points: 100}
      - {below: 90, points: 50}
      - {points: 0}
  - name: tone
    title: {ja: メールの感情, en: E-mail sentiment}
    source: email_sentiment
    weight: 2
    linear: [[-1.0, 0], [0.0, 60], [1.0, 100]]
"""


def score(hub: Runtime, as_of: dt.date) -> dict[int, HealthScore]:
    ctx = RefreshContext(runtime=hub, as_of=as_of)
    cards = health.scorecards(hub.settings)
    measures = ctx.measures([as_of]).drop(columns="as_of")
    with hub.transaction(write=True) as session:
        health.compute_scores(
            session, tables=ctx.tables, as_of=as_of, cards={"voice": cards["voice"]}, measures=measures
        )
    with hub.transaction() as session:
        rows = session.scalars(select(HealthScore).where(HealthScore.scorecard == "voice", HealthScore.as_of == as_of))
        return {row.account_id: row for row in rows}


def test_a_scorecard_weighs_silence_and_tone_and_reports_no_data_without_email(hub: Runtime, tmp_path: Path) -> None:
    (hub.settings.data_dir / "scorecards").mkdir(exist_ok=True)
    (hub.settings.data_dir / "scorecards" / "voice.yaml").write_text(VOICE, encoding="utf-8")
    with hub.transaction(write=True) as session:
        plan = factories.plan(session)
        unhappy = factories.account(session, name="株式会社くもり")
        factories.contact(session, unhappy, email="kato@kumori.example")
        quiet = factories.account(session, name="静か株式会社")
        factories.contact(session, quiet, email="info@shizuka.example")
        for account in (unhappy, quiet):
            factories.subscription(session, account, plan, start_date=dt.date(2026, 1, 1))
        ids = unhappy.id, quiet.id

    before = score(hub, dt.date(2026, 11, 1))
    with hub.transaction() as session:
        assert health.measures_without_data(session, scorecard="voice") == ["silence", "tone"]
    assert {tuple(r.missing) for r in before.values()} == {("silence", "tone")}

    complaint = "サポートの対応が遅く、とても不満です。解約を検討しています。\n"
    _eml(tmp_path / "a.eml", sender="kato@kumori.example", subject="不満", charset="iso-2022-jp", body=complaint,
         message_id="<k1@kumori.example>")  # fmt: skip
    with hub.transaction(write=True) as session:
        import_mail(session, tmp_path / "a.eml", actor="test")  # written on 1 December, 10:30 UTC
        analyse_entries(session)

    after = score(hub, dt.date(2026, 12, 11))
    with hub.transaction() as session:
        assert health.measures_without_data(session, scorecard="voice") == []
    wrote, silent = after[ids[0]], after[ids[1]]
    assert wrote.missing == [] and silent.missing == ["tone"]  # the quiet account has no tone, only silence
    values = {(c["measure"]): c["value"] for c in wrote.contributions}
    assert values["silence"] == pytest.approx(9 + 13.5 / 24) and values["tone"] < 0
    silent_days = {c["measure"]: c["value"] for c in silent.contributions}["silence"]
    assert silent_days == pytest.approx(9 + 13.5 / 24)  # silent since the company's first e-mail
    # a day before the mail it is not known yet: no data again (point in time)
    with hub.transaction(write=True) as session:
        session.execute(HealthScore.__table__.delete())
    assert {tuple(r.missing) for r in score(hub, dt.date(2026, 12, 1)).values()} == {("silence", "tone")}
