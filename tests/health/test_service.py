"""Stored health scores: overrides stay in force across recomputations until they expire, the computed value is kept,
changes are explained, writes are audited. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.analytics.scoring.scorecard import scorecard_from_dict
from kizuna.analytics.scoring.scoring import score_accounts
from kizuna.audit.models import AuditEntry
from kizuna.errors import InvalidInput, NotFound
from kizuna.health import service
from kizuna.health.models import HealthScore
from kizuna.health.scores import store_scores
from tests import factories

CARD = scorecard_from_dict(
    {
        "name": "overall",
        "version": 1,
        "thresholds": {"red": 40, "green": 70},
        "measures": [
            {"name": "usage", "source": "seat_utilisation", "weight": 3, "linear": [[0, 0], [1, 100]]},
            {
                "name": "tickets",
                "source": "severe_tickets_90d",
                "weight": 1,
                "bands": [{"below": 1, "points": 100}, {"points": 0}],
            },
        ],
    }
)
DAY = dt.date(2026, 3, 1)


def store(session: Session, day: dt.date, **measures: list[object]) -> None:
    scores, contrib = score_accounts(pd.DataFrame(measures), CARD)
    store_scores(session, scorecard=CARD, as_of=day, scores=scores, contributions=contrib)


def row(session: Session, account_id: int, day: dt.date) -> HealthScore:
    return session.scalars(
        select(HealthScore).where(HealthScore.account_id == account_id, HealthScore.as_of == day)
    ).one()


def test_an_override_survives_later_computations_until_it_expires(session: Session) -> None:
    acc = factories.account(session)
    store(session, DAY, account_id=[acc.id], seat_utilisation=[0.2], severe_tickets_90d=[3])
    assert (row(session, acc.id, DAY).score, row(session, acc.id, DAY).band) == (15.0, "red")
    override = service.record_override(
        session,
        actor="csm:sato",
        account_id=acc.id,
        scorecard="overall",
        band="yellow",
        score=55,
        reason="経営層と合意済み: 来月から全社展開",
        starts_on=DAY,
        expires_on=DAY + dt.timedelta(days=2),
    )
    r = row(session, acc.id, DAY)
    assert (r.score, r.band, r.override_id) == (55, "yellow", override.id)
    assert (r.computed_score, r.computed_band) == (15.0, "red")
    # the nightly computation runs again on the same day and the next: the override stays, the computed value moves
    store(session, DAY, account_id=[acc.id], seat_utilisation=[0.3], severe_tickets_90d=[3])
    store(session, DAY + dt.timedelta(days=1), account_id=[acc.id], seat_utilisation=[0.1], severe_tickets_90d=[3])
    for day, computed in ((DAY, 22.5), (DAY + dt.timedelta(days=1), 7.5)):
        r = row(session, acc.id, day)
        assert (r.band, r.score, r.computed_score, r.override_id) == ("yellow", 55, computed, override.id)
    # expired: computed values are in force again
    store(session, DAY + dt.timedelta(days=2), account_id=[acc.id], seat_utilisation=[0.1], severe_tickets_90d=[3])
    r = row(session, acc.id, DAY + dt.timedelta(days=2))
    assert (r.band, r.score, r.override_id) == ("red", 7.5, None)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity == "health_override")).all()
    assert [(a.actor, a.action, a.entity_id) for a in audit] == [("csm:sato", "override", str(override.id))]
    assert audit[0].after["reason"].startswith("経営層")


def test_revoking_an_override_restores_the_computed_band_from_today(session: Session) -> None:
    acc = factories.account(session)
    today = dt.datetime.now(dt.UTC).date()
    store(session, today, account_id=[acc.id], seat_utilisation=[1.0], severe_tickets_90d=[0])
    o = service.record_override(
        session,
        actor="csm:kato",
        account_id=acc.id,
        scorecard="overall",
        band="red",
        reason="解約の意向を電話で確認",
        expires_on=today + dt.timedelta(days=30),
    )
    assert row(session, acc.id, today).band == "red"
    service.revoke_override(session, actor="mgr:ito", override_id=o.id)
    r = row(session, acc.id, today)
    assert (r.band, r.score, r.override_id) == ("green", 100.0, None)
    assert o.revoked_by == "mgr:ito"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"band": "purple"}, "band must be one of"),
        ({"reason": "  "}, "needs a reason"),
        ({"expires_on": DAY}, "must be after"),
        ({"score": 120.0}, "0..100"),
    ],
)
def test_bad_overrides_are_refused(session: Session, kwargs: dict[str, object], message: str) -> None:
    acc = factories.account(session)
    args: dict[str, object] = {
        "actor": "csm",
        "account_id": acc.id,
        "scorecard": "overall",
        "band": "red",
        "reason": "理由",
        "starts_on": DAY,
        "expires_on": DAY + dt.timedelta(days=7),
    }
    with pytest.raises(InvalidInput, match=message):
        service.record_override(session, **{**args, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        service.record_override(session, **{**args, "account_id": 999_999})  # type: ignore[arg-type]


def test_history_trend_and_explained_change(session: Session) -> None:
    acc = factories.account(session)
    store(session, DAY, account_id=[acc.id], seat_utilisation=[0.9], severe_tickets_90d=[0])
    store(session, DAY + dt.timedelta(days=7), account_id=[acc.id], seat_utilisation=[0.5], severe_tickets_90d=[2])
    history = service.score_history(session, account_id=acc.id, scorecard="overall")
    assert [h.computed_score for h in history] == [92.5, 37.5]
    explained = service.explain_score_change(session, account_id=acc.id, scorecard="overall")
    assert explained["change"] == -55.0
    assert [(m["measure"], m["delta"]) for m in explained["measures"]] == [("usage", -30.0), ("tickets", -25.0)]
    assert (explained["band_before"], explained["band_after"]) == ("green", "red")
    trend = service.health_trend(session, account_id=acc.id, scorecard="overall")
    assert (trend["change"], trend["direction"]) == (-55.0, "down")
    latest = service.latest_scores(session, account_id=acc.id)
    assert [(s.scorecard, s.as_of) for s in latest] == [("overall", DAY + dt.timedelta(days=7))]
    assert latest[0].contributions[0]["measure"] == "usage"
    assert service.band_counts(session, as_of=DAY)["overall"]["green"] >= 1


def test_missing_inputs_are_stored_with_their_redistribution(session: Session) -> None:
    acc = factories.account(session)
    store(session, DAY, account_id=[acc.id], seat_utilisation=[0.4], severe_tickets_90d=[float("nan")])
    r = row(session, acc.id, DAY)
    assert (r.computed_score, r.known_weight, r.missing) == (40.0, 0.75, ["tickets"])
    assert [c["missing"] for c in r.contributions] == [False, True]
