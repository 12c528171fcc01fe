"""Storing a day's scores again: only the scores whose values changed are rewritten, and the day ends as a fresh
store of the new scores would leave it. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kizuna.analytics.scoring.scoring import score_accounts
from kizuna.health import service
from kizuna.health.models import HealthScore
from kizuna.health.scores import store_scores
from tests import factories
from tests.health.test_service import CARD

DAY = dt.date(2026, 3, 1)
FRESH = dt.date(2026, 4, 1)  # a day stored once, the old path's result for the same scores
VALUES = (
    "scorecard_version",
    "computed_score",
    "computed_band",
    "score",
    "band",
    "override_id",
    "known_weight",
    "missing",
    "contributions",
)


def store(session: Session, day: dt.date, measures: dict[str, list[Any]]) -> None:
    scores, contributions = score_accounts(pd.DataFrame(measures), CARD)
    store_scores(session, scorecard=CARD, as_of=day, scores=scores, contributions=contributions)


def stored(session: Session, day: dt.date) -> dict[int, tuple[Any, ...]]:
    session.expire_all()
    rows = session.scalars(select(HealthScore).where(HealthScore.as_of == day))
    return {r.account_id: (*(getattr(r, name) for name in VALUES), r.computed_at) for r in rows}


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    connection = session.connection()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


def test_a_day_stored_again_rewrites_only_the_scores_that_changed(session: Session) -> None:
    accounts = [factories.account(session).id for _ in range(4)]
    first = {
        "account_id": accounts[:3],
        "seat_utilisation": [0.2, 0.8, np.nan],  # the third's usage is missing: its weight goes to the tickets
        "severe_tickets_90d": [3.0, 0.0, 1.0],
    }
    store(session, DAY, first)
    before = stored(session, DAY)

    with statements(session) as seen:
        store(session, DAY, first)
    assert not [s for s in seen if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert stored(session, DAY) == before  # computed_at too: no row was written

    override = service.record_override(
        session,
        actor="csm:sato",
        account_id=accounts[1],
        scorecard=CARD.name,
        band="red",
        reason="決裁者が退職",
        starts_on=DAY,
        expires_on=DAY + dt.timedelta(days=90),
    )
    after_override = stored(session, DAY)
    second = {
        "account_id": accounts,  # a new account; the first's usage moved; the others as before
        "seat_utilisation": [0.3, 0.8, np.nan, 0.5],
        "severe_tickets_90d": [3.0, 0.0, 1.0, 0.0],
    }
    with statements(session) as seen:
        store(session, DAY, second)
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1  # one executemany: the first account's row only
    now = stored(session, DAY)
    assert now[accounts[0]][-1] > before[accounts[0]][-1]
    assert now[accounts[1]] == after_override[accounts[1]]  # the override was applied when recorded
    assert now[accounts[1]][VALUES.index("override_id")] == override.id
    assert now[accounts[2]] == before[accounts[2]]

    # the day holds what one store of the new scores holds (the old path rewrote every row with them)
    store(session, FRESH, second)
    fresh = stored(session, FRESH)
    assert {a: v[:-1] for a, v in now.items()} == {a: v[:-1] for a, v in fresh.items()}


def test_rounded_is_python_s_round_to_4_places() -> None:
    from kizuna.health.scores import rounded

    rng = np.random.default_rng(7)
    ties = np.arange(-2000, 2000) / 1e4 + 0.00005  # halves in decimal: where a product's error could mislead
    special = [0.5, 2.675, 1.00005, -0.00005, -1e-9, 0.0, -0.0, 5e-324, 1e300, -1e300, np.inf, -np.inf, np.nan]
    for values in (
        rng.random(200_000) * 100,
        rng.normal(0, 50, 100_000),
        np.round(rng.random(100_000) * 100, 5),
        ties,
        rng.random(10_000) * 1e12,
        np.array(special),
    ):
        got = rounded(pd.Series(values))
        want = [None if v != v else round(v, 4) for v in values.tolist()]
        assert [None if g is None else (g, np.signbit(g)) for g in got] == [
            None if w is None else (w, np.signbit(w)) for w in want
        ]
    assert rounded(pd.Series([1.23456, None], dtype="object")) == [1.2346, None]
    assert rounded(pd.Series([0.12345, pd.NA], dtype="Float64")) == [round(0.12345, 4), None]
