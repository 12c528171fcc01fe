"""``kizuna demo --company lumen``: a second company built apart from the demo (its own event types, no logins,
tickets, surveys or VoC, US dollars) whose churn follows its own mechanics, deterministic per seed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from sqlalchemy import func, select

from kizuna.billing.models import Subscription
from kizuna.db import make_engine
from kizuna.demo.lumen import EVENT_TYPES, LumenOptions, generate_lumen, simulate_lumen
from kizuna.errors import Conflict
from kizuna.settings import Settings
from kizuna.support.models import Ticket
from kizuna.usage.store import EventStore

END = dt.date(2026, 11, 22)
OPTIONS = LumenOptions(accounts=150, years=2, seed=3, end_date=END)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("lumen"))
    generate_lumen(settings, options=OPTIONS)
    return settings


def test_lumen_has_its_own_events_currency_and_no_logins_or_tickets(built: Settings) -> None:
    events = ds.dataset(EventStore(built.events_dir).files(), format="parquet").to_table()
    names = set(pc.unique(events["event_name"]).to_pylist())
    assert names <= set(EVENT_TYPES) and len(names) >= 7
    assert "login" not in names
    assert pc.max(events["timestamp"]).as_py() < dt.datetime.combine(END, dt.time(), tzinfo=dt.UTC)
    engine = make_engine(built.sqlalchemy_url)
    with engine.connect() as conn:
        currencies = set(conn.scalars(select(Subscription.currency).distinct()))
        assert currencies == {"USD"}
        assert conn.scalar(select(func.count()).select_from(Ticket)) == 0
        ended = conn.scalar(select(func.count()).where(Subscription.end_date.is_not(None)))
        noticed = conn.scalar(select(func.count()).where(Subscription.cancelled_at.is_not(None)))
        assert ended and ended > 5  # accounts do churn
        assert noticed and noticed >= ended * 0.5  # most leavers gave notice before their contract ended
    engine.dispose()


def test_lumen_is_deterministic_and_refuses_a_full_hub(built: Settings, tmp_path: Path) -> None:
    a = simulate_lumen(OPTIONS)
    b = simulate_lumen(OPTIONS)
    assert a.versions == b.versions and (a.counts == b.counts).all()
    with pytest.raises(Conflict, match="not empty"):
        generate_lumen(built, options=OPTIONS)
